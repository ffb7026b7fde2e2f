import { listBundleObjects, readBundleManifest } from "../bundle/catalog";
import type { BundleManifest } from "../bundle/manifest";
import { decideHost, describeVerdict, type CandidateBundle } from "../checks/host-truth";
import { readHosts } from "../checks/read-hosts";
import { deployedFilesRoot, environmentOf } from "../config/load";
import { liveBundles } from "../history/live";
import type { DeployContext } from "./context";

/** How many bundles (newest first) are offered as "what a host may have": history's and the bucket's. */
const CANDIDATES = 12;

/**
 * Known bundles of an environment, newest first, as candidates for what a host has: Deckhand's own
 * from history (their stored manifests; static-layout ones matched under their directory), then the
 * newest other keys in the bucket (made by hand), their manifests read bounded from S3.
 */
export async function candidateBundles(ctx: DeployContext, environmentName: string, options: { first?: string[]; handMade?: boolean } = {}): Promise<CandidateBundle[]> {
  const environment = environmentOf(ctx.config, environmentName);
  const s3 = ctx.aws(environment.region).s3;
  const recorded = await ctx.db.deploy.findMany({
    where: { environment: environmentName, manifest: { not: null }, kind: { not: "action" }, bundleKey: { not: "" } },
    orderBy: { createdAt: "desc" },
    distinct: ["bundleKey"],
    take: CANDIDATES,
    select: { bundleKey: true, manifest: true },
  });
  const known = new Map(recorded.map((d) => [d.bundleKey, d.manifest]));
  // Listing the bucket is only worth it when hosts may run bundles history never saw (not after every deploy).
  const listed = options.handMade ? await listBundleObjects(s3, environment.bucket, environment.prefix, ctx.config.bundleNamePrefix).catch(() => []) : [];
  const handMade = listed.filter((o) => !known.has(o.key)).slice(0, CANDIDATES).map((o) => o.key);
  const keys = [...new Set([...(options.first ?? []), ...recorded.map((d) => d.bundleKey), ...handMade])];
  const read = async (key: string): Promise<CandidateBundle | null> => {
    const stored = known.get(key);
    const manifest = stored ? (JSON.parse(stored) as BundleManifest) : null;
    if (manifest?.layout?.kind === "static") {
      const into = manifest.layout.into;
      const alreadyUnder = manifest.files.every((f) => f.path === into || f.path.startsWith(`${into}/`));
      return { key, manifest, ...(alreadyUnder ? {} : { root: into }) };
    }
    try {
      const bundle = await readBundleManifest(s3, environment.bucket, key, null);
      return { key, manifest: bundle.manifest, manifestSha256: bundle.manifestSha256 ?? undefined };
    } catch {
      return null; // expired, unreadable or over the read caps: it simply cannot be named
    }
  };
  return (await Promise.all(keys.map(read))).filter((c): c is CandidateBundle => c !== null);
}

export interface HostReadView {
  instanceId: string;
  name: string;
  /** Why the host could not be read; history's answer is shown instead. */
  problem: string | null;
  services: { service: string; bundleKey: string | null; text: string }[];
}

/**
 * "Read from hosts": one read-only SSM command on every online host, each host's files matched
 * against the known bundles. Every cell gets an answer: the bundle whose files the host has, "not
 * from any known bundle", or, for a host that cannot be read, what history says.
 */
export async function readLiveFromHosts(ctx: DeployContext, environmentName: string): Promise<HostReadView[]> {
  const environment = environmentOf(ctx.config, environmentName);
  const services = Object.entries(ctx.config.services).map(([name, s]) => ({ name, paths: s.paths }));
  const [candidates, read, history] = await Promise.all([
    candidateBundles(ctx, environmentName, { handMade: true }),
    readHosts(ctx.aws(environment.region).ssm, { instanceIds: environment.hosts.map((h) => h.instanceId), repoPath: deployedFilesRoot(environment), paths: services.flatMap((s) => s.paths) }),
    liveBundles(ctx.db, environmentName),
  ]);
  return environment.hosts.map((host) => {
    const reading = read.readings[host.instanceId];
    if (!reading || !reading.ok) {
      const problem = reading?.problem ?? "no answer";
      return {
        instanceId: host.instanceId,
        name: host.name,
        problem,
        services: services.map((s) => {
          const fromHistory = history.get(host.instanceId)?.get(s.name)?.bundleKey ?? null;
          return { service: s.name, bundleKey: fromHistory, text: fromHistory ? `could not be read (${problem}); history says ${fromHistory}` : `could not be read (${problem}); history knows nothing` };
        }),
      };
    }
    const verdict = decideHost(reading, services, candidates);
    return {
      instanceId: host.instanceId,
      name: host.name,
      problem: null,
      services: verdict.services.map((v) => ({
        service: v.service,
        bundleKey: v.state === "matches" || v.state === "stale" ? v.bundleKey : null,
        text: v.state === "unknown" ? "not from any known bundle" : v.state === "missing" ? "not on this host" : describeVerdict(v).replace(`${v.service}: `, ""),
      })),
    };
  });
}
