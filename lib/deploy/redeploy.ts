import { hashObject, readBundleManifest } from "../bundle/catalog";
import { diffFiles, type FileChange } from "../bundle/diff";
import { parseManifest, type BundleManifest, type ManifestFile } from "../bundle/manifest";
import { parseBundleKey } from "../bundle/naming";
import { carriesAnyOf, isSafeMember, layoutFromKey, underDirectory, type DeployLayout } from "../bundle/layout";
import { headBundle } from "../aws/s3";
import { awsProblem, isNotFound } from "../aws/errors";
import { whoAmI } from "../bundle/pack";
import { environmentOf } from "../config/load";
import { PlanChangedError, RefusedError } from "../errors";
import { currentHostRuns, getDeploy, requireDeploy } from "../history/deploys";
import { deploysByBundle, liveBundles, newestLive, type LiveMap } from "../history/live";
import type { DeployContext } from "./context";
import { newDeployId } from "./deploy";
import { retryJob, storedScriptJob } from "./plans";
import { hostScript, sha256Hex } from "./phases/script";
import { isStaticService, planDeploy, type DeployPlan } from "./plan";
import { launch } from "./runner";
import { assertProductionConfirmed } from "./environment-rules";
import { RETRYABLE_DEPLOY_STATUSES, statusWords } from "./status";

export interface RedeployRequest {
  environment: string;
  bundleKey: string;
  services: string[];
  /** rollback: back to an earlier bundle (linked to the deploy it reverts); redeploy: any bundle. */
  kind: "rollback" | "redeploy";
  /**
   * How the bundle's members map onto the repo, for a bundle made outside Deckhand: "repo" (repo-relative
   * paths) or "static" (relative to the one static service's directory, `tar -C dist .`). Needed for a
   * key that fits no known layout; otherwise it is read from the key and the members.
   */
  layout?: DeployLayout;
}

export interface HostChange {
  service: string;
  instanceId: string;
  hostName: string;
  from: string | null;
  to: string;
}

export interface RedeployPreview extends RedeployRequest {
  /** The layout the bundle is deployed with (given, or read from the key and the members). */
  layout: DeployLayout;
  hosts: { instanceId: string; name: string }[];
  changes: HostChange[];
  targetLastModified: string;
  targetAgeSeconds: number;
  madeOutsideDeckhand: boolean;
  diff: FileChange[];
  /** The deploy whose bundle is live now and would be replaced (what a rollback reverts). */
  revertsDeployId: string | null;
  sha256: string;
  manifest: BundleManifest;
  script: string;
  scriptSha256: string;
  /** Fingerprint of everything the operator is shown (script, bundle, hosts, from → to): starting needs it back. */
  planSha256: string;
}

/**
 * Files a bundle would add, remove or change against what is live for these services: the newest
 * bundle live on any host (hosts normally agree; a preview's from → to list shows when they do not).
 */
export async function diffAgainstLive(
  ctx: DeployContext,
  environment: string,
  services: string[],
  targetFiles: ManifestFile[],
  withinPaths: string[],
  live?: LiveMap,
): Promise<{ diff: FileChange[]; liveDeployId: string | null }> {
  const liveMap = live ?? (await liveBundles(ctx.db, environment));
  const liveNow = newestLive(liveMap, services);
  const liveDeploy = liveNow ? await getDeploy(ctx.db, liveNow.deployId) : null;
  const liveFiles = liveDeploy?.manifest ? parseManifest(liveDeploy.manifest).files : [];
  return { diff: diffFiles(liveFiles, targetFiles, withinPaths), liveDeployId: liveNow?.deployId ?? null };
}

/**
 * The bundle as Deckhand knows it: for a key in history, the manifest and sha256 recorded when it was
 * packed (the bucket's metadata is not believed over them); for any other key, read from the object.
 */
async function knownBundle(ctx: DeployContext, request: RedeployRequest) {
  const environment = environmentOf(ctx.config, request.environment);
  const s3 = ctx.aws(environment.region).s3;
  let head;
  try {
    head = await headBundle(s3, environment.bucket, request.bundleKey);
  } catch (error) {
    if (isNotFound(error)) {
      throw new RefusedError(`Bundle ${request.bundleKey} is no longer in s3://${environment.bucket}: it has probably expired (bundles are kept ${environment.retentionDays} days). Pick a newer bundle.`);
    }
    // S3 answers a HEAD on a missing key with 403 when the caller may not list the bucket.
    if (awsProblem(error) === "access_denied") throw new RefusedError(`S3 answered 403 for ${request.bundleKey}: the bundle is missing, or this laptop lacks s3:ListBucket (and s3:GetObject) on ${environment.bucket}.`);
    throw error;
  }
  const known = (await deploysByBundle(ctx.db, request.environment, [request.bundleKey])).get(request.bundleKey);
  if (known?.manifest && known.bundleSha256) {
    const changed = (known.bundleSize != null && head.ContentLength !== known.bundleSize) || (head.Metadata?.sha256 && head.Metadata.sha256 !== known.bundleSha256);
    if (changed) throw new RefusedError(`Bundle ${request.bundleKey} changed in S3 since Deckhand uploaded it (size or sha256 differs from what was recorded): it will not be deployed.`);
    return { head, manifest: parseManifest(known.manifest), embedded: true, sha256: known.bundleSha256 };
  }
  const label = parseBundleKey(request.bundleKey, ctx.config.bundleNamePrefix)?.label ?? null;
  const read = await readBundleManifest(s3, environment.bucket, request.bundleKey, label);
  // Not Deckhand's own upload: pin what the object holds now, hashed here, never its metadata. A layout
  // is only ever believed from Deckhand's history, never from a manifest inside an archive.
  const { layout: _ignored, ...manifest } = read.manifest;
  return { head, manifest: manifest as BundleManifest, embedded: read.embedded, sha256: read.sha256 ?? (await hashObject(s3, environment.bucket, request.bundleKey)) };
}

/** The members to extract for the chosen services; refuses a bundle that does not carry one of them. */
const carries = (manifest: BundleManifest, path: string) => manifest.files.some((f) => f.path === path || f.path.startsWith(path + "/"));

function membersFor(ctx: DeployContext, request: RedeployRequest, services: string[], bundle: { manifest: BundleManifest; embedded: boolean }): string[] {
  const present = (path: string) => carries(bundle.manifest, path);
  for (const service of services) {
    const paths = ctx.config.services[service].paths;
    const carried = (!bundle.embedded || bundle.manifest.services.includes(service)) && paths.some(present);
    if (!carried) {
      const sample = bundle.manifest.files.slice(0, 3).map((f) => f.path).join(", ");
      throw new RefusedError(
        `Bundle ${request.bundleKey} does not carry service "${service}" (its paths ${paths.join(", ")} are not in it${sample ? `; it holds e.g. ${sample}` : "; it lists no files"}).` +
          (bundle.embedded ? "" : " A bundle made with `tar -C dir .` has no repo-relative paths, so Deckhand cannot tell where it belongs."),
      );
    }
  }
  return planDeploy(ctx.config, request.environment, services).paths.filter(present);
}

/** Where a bundle's members go: repo-relative members, or the whole bundle into one static service's directory. */
interface Placement {
  layout: DeployLayout;
  /** The members as repo paths (a `static` bundle's files seen under its directory). */
  files: ManifestFile[];
  extractPaths?: string[];
  extractInto?: string;
  paths: string[];
  replace: string[];
}

function placeBundle(ctx: DeployContext, request: RedeployRequest, plan: DeployPlan, bundle: { manifest: BundleManifest; embedded: boolean }): Placement {
  const refuse = (message: string) => new RefusedError(message);
  const asRepo = (): Placement => {
    const extractPaths = membersFor(ctx, request, plan.services, bundle);
    return { layout: "repo", files: bundle.manifest.files, extractPaths, paths: extractPaths, replace: plan.replace.filter((dir) => carries(bundle.manifest, dir)) };
  };
  const staticInto = (into: string) => {
    const service = plan.services.length === 1 ? ctx.config.services[plan.services[0]!] : undefined;
    if (!service || !isStaticService(service) || service.replace.length !== 1 || service.replace[0] !== into) {
      throw refuse(`A "static" bundle goes into one static service's directory: pick exactly one service that replaces one directory${into ? ` (${into})` : " (e.g. ui → ui/dist)"}, not ${plan.services.join(", ")}.`);
    }
  };
  const recorded = bundle.manifest.layout;
  if (recorded?.kind === "static") {
    // A hand-made `-C dist .` bundle Deckhand deployed before: its recorded files are already under `into`.
    if (request.layout && request.layout !== "static") throw refuse(`Bundle ${request.bundleKey} was deployed before as a "static" bundle into ${recorded.into}: it cannot be deployed as "${request.layout}".`);
    staticInto(recorded.into);
    return { layout: "static", files: bundle.manifest.files, extractInto: recorded.into, paths: [recorded.into], replace: [recorded.into] };
  }
  if (bundle.embedded) {
    if (request.layout && request.layout !== "repo") throw refuse(`Bundle ${request.bundleKey} was packed by Deckhand with repo-relative paths: it cannot be deployed as "${request.layout}".`);
    return asRepo();
  }
  // Made outside Deckhand: its members are believed only once checked.
  const unsafe = bundle.manifest.files.find((f) => !isSafeMember(f.path) || (f.linkTarget !== undefined && !isSafeMember(f.linkTarget)));
  if (unsafe) throw refuse(`Bundle ${request.bundleKey} holds a member no host should extract (${JSON.stringify(unsafe.path.slice(0, 80))}${unsafe.linkTarget !== undefined ? ` → ${JSON.stringify(unsafe.linkTarget.slice(0, 80))}` : ""}): it will not be deployed.`);
  const staticServices = Object.entries(ctx.config.services).filter(([, s]) => isStaticService(s)).map(([name]) => name);
  const fromKey = layoutFromKey(request.bundleKey, ctx.config.bundleNamePrefix, staticServices);
  let layout = request.layout;
  if (!layout) {
    if (fromKey.layout === "unknown") {
      throw refuse(`Bundle ${request.bundleKey} has an unknown layout (its name fits none the runbooks use): choose a layout for it — "repo" (members are repo-relative paths) or "static" (members are relative to the static service's directory, made with \`tar -C dist .\`).`);
    }
    // acp_ui_<stamp> made by hand is seeds/000's `-C dist .` unless its members show repo paths.
    layout = fromKey.layout === "static" && !carriesAnyOf(bundle.manifest.files, plan.paths) ? "static" : "repo";
  }
  if (layout === "repo") return asRepo();
  const only = plan.services.length === 1 ? ctx.config.services[plan.services[0]!] : undefined;
  const into = only && isStaticService(only) && only.replace.length === 1 ? only.replace[0]! : "";
  staticInto(into);
  const files = underDirectory(bundle.manifest.files, into);
  if (files.length === 0) throw refuse(`Bundle ${request.bundleKey} holds no files to put into ${into}.`);
  return { layout: "static", files, extractInto: into, paths: [into], replace: [into] };
}

/** Per host and service, the newest run of a deploy that ended without success (it may have left files behind). */
async function partlyApplied(ctx: DeployContext, environment: string, services: string[]) {
  const runs = await ctx.db.hostRun.findMany({
    where: { status: { in: ["Cancelled", "TimedOut", "Failed"] }, deploy: { environment, kind: { not: "action" } } },
    orderBy: { startedAt: "desc" },
    take: 200,
    select: { instanceId: true, status: true, startedAt: true, finishedAt: true, deploy: { select: { bundleKey: true, services: true } } },
  });
  const found = new Map<string, { bundleKey: string; status: string; at: Date }>();
  for (const run of runs) {
    for (const service of JSON.parse(run.deploy.services) as string[]) {
      const key = `${run.instanceId}/${service}`;
      if (services.includes(service) && !found.has(key)) found.set(key, { bundleKey: run.deploy.bundleKey, status: run.status, at: run.finishedAt ?? run.startedAt });
    }
  }
  return found;
}

/**
 * Everything a rollback or redeploy would do, computed before anything is sent: the checks that
 * refuse it, the from → to per host and service, the file diff against what is live, and the
 * exact script, with a fingerprint that starting it must present again.
 */
export async function previewRedeploy(ctx: DeployContext, request: RedeployRequest): Promise<RedeployPreview> {
  const environment = environmentOf(ctx.config, request.environment);
  const plan = planDeploy(ctx.config, request.environment, request.services);
  const bundle = await knownBundle(ctx, request);
  const placement = placeBundle(ctx, request, plan, bundle);
  const manifest: BundleManifest =
    placement.layout === "static" ? { ...bundle.manifest, paths: placement.paths, replace: placement.replace, services: plan.services, files: placement.files, layout: { kind: "static", into: placement.extractInto! } } : bundle.manifest;

  const live = await liveBundles(ctx.db, request.environment);
  const unsettled = await partlyApplied(ctx, request.environment, plan.services);
  const changes: HostChange[] = environment.hosts.flatMap((host) =>
    plan.services.map((service) => {
      const liveNow = live.get(host.instanceId)?.get(service);
      // A later deploy that stopped on this host (cancelled, timed out, failed) may have replaced files: not "already live".
      const stopped = unsettled.get(`${host.instanceId}/${service}`);
      const from = stopped && (!liveNow || stopped.at > liveNow.at) ? `${stopped.bundleKey} (partly applied: ${stopped.status})` : (liveNow?.bundleKey ?? null);
      return { service, instanceId: host.instanceId, hostName: host.name, from, to: request.bundleKey };
    }),
  );
  if (changes.every((c) => c.from === request.bundleKey)) {
    throw new RefusedError(`Bundle ${request.bundleKey} is already live for ${plan.services.join(", ")} on every host: nothing to roll back.`);
  }
  const { diff, liveDeployId } = await diffAgainstLive(ctx, request.environment, plan.services, manifest.files, placement.paths, live);
  const script = hostScript(environment, {
    label: `${request.kind}-${plan.label}`,
    bucket: environment.bucket,
    key: request.bundleKey,
    sha256: bundle.sha256,
    bytes: bundle.head.ContentLength,
    shape: { paths: placement.paths, replace: placement.replace, composeServices: plan.composeServices },
    extractPaths: placement.extractPaths,
    extractInto: placement.extractInto,
  });
  const lastModified = bundle.head.LastModified ?? new Date();
  const hosts = environment.hosts.map((h) => ({ instanceId: h.instanceId, name: h.name }));
  const scriptSha256 = sha256Hex(script);
  return {
    ...request,
    layout: placement.layout,
    services: plan.services,
    hosts,
    changes,
    targetLastModified: lastModified.toISOString(),
    targetAgeSeconds: Math.max(0, Math.round((Date.now() - lastModified.getTime()) / 1000)),
    madeOutsideDeckhand: !bundle.embedded,
    diff,
    revertsDeployId: liveDeployId,
    sha256: bundle.sha256,
    manifest,
    script,
    scriptSha256,
    planSha256: sha256Hex(JSON.stringify({ scriptSha256, bundle: bundle.sha256, hosts, changes })),
  };
}

export interface StartRedeployRequest extends RedeployRequest {
  /** The preview's planSha256: what the operator confirmed. */
  planSha256: string;
  /** A production environment's name, typed by the operator (refused unless it matches). */
  confirmEnvironment?: string;
}

/** Deploys an existing bundle (rollback or redeploy), refused if the plan differs from what was confirmed. */
export async function startRedeploy(ctx: DeployContext, request: StartRedeployRequest): Promise<string> {
  assertProductionConfirmed(request.environment, environmentOf(ctx.config, request.environment), request.confirmEnvironment);
  const preview = await previewRedeploy(ctx, request);
  if (preview.planSha256 !== request.planSha256) throw new PlanChangedError("The plan changed since you looked (what is live, the bundle or the script) — review it again.");
  const environment = environmentOf(ctx.config, request.environment);
  const id = newDeployId(`${request.kind}-${preview.services.length === 1 ? preview.services[0] : "multi"}`);
  const insert = {
    id,
    environment: request.environment,
    kind: request.kind,
    services: preview.services,
    label: parseBundleKey(request.bundleKey, ctx.config.bundleNamePrefix)?.label ?? preview.manifest.label,
    bundleKey: request.bundleKey,
    bundleBucket: environment.bucket,
    bundleSha256: preview.sha256,
    manifest: JSON.stringify(preview.manifest),
    gitSha: preview.manifest.git?.sha ?? null,
    createdBy: whoAmI(),
    revertsDeployId: request.kind === "rollback" ? preview.revertsDeployId : null,
    script: preview.script,
  };
  return launch(ctx, storedScriptJob(ctx.config, id, request.environment), { insert });
}

/** Reruns a finished deploy only on its hosts that did not succeed, as a new attempt of the same deploy. */
export async function retryFailedHosts(ctx: DeployContext, id: string): Promise<string[]> {
  const deploy = await requireDeploy(ctx.db, id);
  if (!(RETRYABLE_DEPLOY_STATUSES as string[]).includes(deploy.status) || !deploy.script || !deploy.commandId) {
    throw new RefusedError(`Deploy ${id} is ${statusWords(deploy.status)}: only a deploy that reached its hosts and ended with failures can be retried.`);
  }
  const failed = (await currentHostRuns(ctx.db, id)).filter((run) => run.status !== "Success");
  if (failed.length === 0) throw new RefusedError(`Every host of deploy ${id} succeeded: nothing to retry.`);
  const environment = environmentOf(ctx.config, deploy.environment);
  try {
    await headBundle(ctx.aws(environment.region).s3, deploy.bundleBucket, deploy.bundleKey);
  } catch (error) {
    if (isNotFound(error)) throw new RefusedError(`Bundle ${deploy.bundleKey} is no longer in S3 (expired after ${environment.retentionDays} days): deploy again instead.`);
    throw error;
  }
  const hosts = failed.map((run) => ({ instanceId: run.instanceId, name: run.hostName }));
  // Active again before this returns, so the deploy page (and a second deploy) see it at once.
  await launch(ctx, retryJob(ctx.config, id, deploy.environment, hosts, deploy.attempt + 1), {
    move: { from: RETRYABLE_DEPLOY_STATUSES, to: "sending", message: `retrying on ${hosts.map((h) => h.name).join(", ")}`, data: { error: null, finishedAt: null } },
  });
  return hosts.map((h) => h.instanceId);
}
