import { makeElbClient } from "../../aws/clients";
import { readBundleManifest } from "../../bundle/catalog";
import type { BundleManifest } from "../../bundle/manifest";
import type { CandidateBundle } from "../../checks/host-truth";
import { verifyDeploy, type VerifyResult } from "../../checks/verify";
import { recordCheckRun } from "../../history/checks";
import { recordEvent, requireDeploy } from "../../history/deploys";
import type { DeployContext } from "../context";
import type { Job, Phase } from "../job";

/** How many earlier bundles of the environment are offered as "what a stale host has instead". */
const EARLIER_CANDIDATES = 6;

/** The bundle just deployed and a few earlier ones from history, with their manifests read from S3 (Deckhand bundles: the first entry only). */
async function candidateBundles(ctx: DeployContext, job: Job, deployedKey: string): Promise<{ deployed: CandidateBundle | null; candidates: CandidateBundle[] }> {
  const earlier = await ctx.db.deploy.findMany({
    where: { environment: job.environmentName, bundleKey: { not: deployedKey }, manifest: { not: null }, kind: { not: "action" } },
    orderBy: { createdAt: "desc" },
    distinct: ["bundleKey"],
    take: EARLIER_CANDIDATES,
    select: { bundleKey: true, manifest: true },
  });
  const deployedRow = await ctx.db.deploy.findFirst({ where: { environment: job.environmentName, bundleKey: deployedKey, manifest: { not: null } }, orderBy: { createdAt: "desc" }, select: { bundleKey: true, manifest: true } });
  const s3 = ctx.aws(job.environment.region).s3;
  const read = async (key: string, stored?: string | null): Promise<CandidateBundle | null> => {
    // A hand-made `tar -C dist .` bundle deployed into one directory: its files are matched under that directory.
    const recorded = stored ? (JSON.parse(stored) as BundleManifest) : null;
    if (recorded?.layout?.kind === "static") {
      const into = recorded.layout.into;
      const alreadyUnder = recorded.files.every((f) => f.path === into || f.path.startsWith(`${into}/`));
      return { key, manifest: recorded, ...(alreadyUnder ? {} : { root: into }) };
    }
    try {
      const bundle = await readBundleManifest(s3, job.environment.bucket, key, null);
      return { key, manifest: bundle.manifest, manifestSha256: bundle.manifestSha256 ?? undefined };
    } catch {
      return null; // expired or unreadable: it simply cannot be named
    }
  };
  const [deployed, ...others] = await Promise.all([read(deployedKey, deployedRow?.manifest), ...earlier.map((d) => read(d.bundleKey, d.manifest))]);
  return { deployed, candidates: [deployed, ...others].filter((c): c is CandidateBundle => c !== null) };
}

/** One line for the deploy's error and the lists: the failing checks and the hosts that serve something else. */
export function verifySummary(result: VerifyResult): string {
  if (result.ok) return `all ${result.checks.length} checks green; every host has the deployed bundle`;
  const failing = result.checks.filter((c) => !c.ok).map((c) => `${c.name}${c.problem ? `: ${c.problem}` : ""}${c.failingHosts.length ? ` (${c.failingHosts.join(", ")})` : ""}`);
  const wrong = result.hosts.filter((h) => result.wrongHosts.some((w) => w.instanceId === h.instanceId)).map((h) => `${h.name} does not serve the deployed bundle — ${h.summary.join("; ")}`);
  return ["deployed, checks failed", ...failing, ...wrong].join(" · ");
}

/** Runs verification for the job's deploy and records it; the deploy ends "checks failed" when it is not green. */
export async function verifyAndRecord(ctx: DeployContext, job: Job, trigger: "deploy" | "rerun"): Promise<VerifyResult> {
  const deploy = await requireDeploy(ctx.db, job.deployId);
  const services = JSON.parse(deploy.services) as string[];
  const { deployed, candidates } = await candidateBundles(ctx, job, deploy.bundleKey);
  const result = await verifyDeploy({
    environment: job.environment,
    services: ctx.config.services,
    ssm: ctx.aws(job.environment.region).ssm,
    elb: job.environment.targetGroupArn ? makeElbClient(job.environment.region) : null,
    deployed: deployed ? { bundle: deployed, services } : null,
    candidates,
    env: process.env,
    onCheck: (check) => void recordEvent(ctx.db, job.deployId, "verify", `${check.ok ? "✓" : "✗"} ${check.name}${check.problem ? `: ${check.problem}` : ""}`).catch(() => undefined),
  });
  const summary = verifySummary(result);
  await recordCheckRun(ctx.db, { deployId: job.deployId, trigger, ok: result.ok, checks: result.checks, hosts: result.hosts, wrongHosts: result.wrongHosts, targets: result.targets, summary });
  return result;
}

/** After every host succeeded (or on demand): smoke checks, each host's own truth through SSM, ALB target health. */
export function verifyPhase(trigger: "deploy" | "rerun"): Phase {
  return {
    name: "verify",
    status: "verifying",
    describe: () => (trigger === "rerun" ? "checks run again on demand" : "running the smoke checks and reading what each host really has"),
    async run(ctx: DeployContext, job: Job) {
      const result = await verifyAndRecord(ctx, job, trigger);
      if (!result.ok) {
        const summary = verifySummary(result);
        return { end: "checks_failed", message: summary, error: summary };
      }
    },
  };
}
