import { hashObject, readBundleManifest } from "../bundle/catalog";
import { diffFiles, type FileChange } from "../bundle/diff";
import { parseManifest, type BundleManifest, type ManifestFile } from "../bundle/manifest";
import { parseBundleKey } from "../bundle/naming";
import { headBundle } from "../aws/s3";
import { whoAmI } from "../bundle/pack";
import { environmentOf } from "../config/load";
import { currentHostRuns, getDeploy, insertDeploy, recordEvent, updateDeploy } from "../history/deploys";
import { deploysByBundle, liveBundles, newestLive, type LiveMap } from "../history/live";
import { composeScript } from "../remote/compose-script";
import type { DeployContext } from "./context";
import { assertEnvironmentIdle, DeployError, guarded, newDeployId, sendAndWatch } from "./deploy";
import { runJob, withLock } from "./jobs";
import { planDeploy } from "./plan";

export interface RedeployRequest {
  environment: string;
  bundleKey: string;
  services: string[];
  /** rollback: back to an earlier bundle (linked to the deploy it reverts); redeploy: any bundle. */
  kind: "rollback" | "redeploy";
}

export interface HostChange {
  service: string;
  instanceId: string;
  hostName: string;
  from: string | null;
  to: string;
}

export interface RedeployPreview extends RedeployRequest {
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

function isNotFound(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === "NotFound" || e?.name === "NoSuchKey" || e?.$metadata?.httpStatusCode === 404;
}

/**
 * Everything a rollback or redeploy would do, computed before anything is sent: the checks that
 * refuse it, the from → to per host and service, the file diff against what is live, and the
 * exact script. Starting the deploy recomputes it, so what runs is what was shown.
 */
export async function previewRedeploy(ctx: DeployContext, request: RedeployRequest): Promise<RedeployPreview> {
  const environment = environmentOf(ctx.config, request.environment);
  const plan = planDeploy(ctx.config, request.environment, request.services);
  const s3 = ctx.aws(environment.region).s3;
  const days = environment.retentionDays;

  let head;
  try {
    head = await headBundle(s3, environment.bucket, request.bundleKey);
  } catch (error) {
    if (isNotFound(error)) {
      throw new DeployError(`Bundle ${request.bundleKey} is no longer in s3://${environment.bucket}: it has probably expired (bundles are kept ${days} days). Pick a newer bundle.`);
    }
    throw error;
  }

  const known = (await deploysByBundle(ctx.db, request.environment, [request.bundleKey])).get(request.bundleKey);
  const label = parseBundleKey(request.bundleKey, ctx.config.bundleNamePrefix)?.label ?? null;
  const read = known?.manifest ? { manifest: parseManifest(known.manifest), embedded: true, sha256: null } : await readBundleManifest(s3, environment.bucket, request.bundleKey, label);
  const manifest = read.manifest;
  const sha256 = head.Metadata?.sha256 ?? known?.bundleSha256 ?? read.sha256 ?? (await hashObject(s3, environment.bucket, request.bundleKey));

  // The bundle must carry every chosen service: by its manifest, or for a hand-made bundle by its files.
  const present = (path: string) => manifest.files.some((f) => f.path === path || f.path.startsWith(path + "/"));
  for (const service of plan.services) {
    const paths = ctx.config.services[service].paths;
    const carried = read.embedded ? manifest.services.includes(service) : paths.some(present);
    if (!carried) {
      const sample = manifest.files.slice(0, 3).map((f) => f.path).join(", ");
      throw new DeployError(
        `Bundle ${request.bundleKey} does not carry service "${service}" (its paths ${paths.join(", ")} are not in it${sample ? `; it holds e.g. ${sample}` : ""}).` +
          (read.embedded ? "" : " A bundle made with `tar -C dir .` has no repo-relative paths, so Deckhand cannot tell where it belongs."),
      );
    }
  }
  const extractPaths = plan.paths.filter(present);

  const live = await liveBundles(ctx.db, request.environment);
  const changes: HostChange[] = environment.hosts.flatMap((host) =>
    plan.services.map((service) => ({ service, instanceId: host.instanceId, hostName: host.name, from: live.get(host.instanceId)?.get(service)?.bundleKey ?? null, to: request.bundleKey })),
  );
  if (changes.every((c) => c.from === request.bundleKey)) {
    throw new DeployError(`Bundle ${request.bundleKey} is already live for ${plan.services.join(", ")} on every host: nothing to roll back.`);
  }

  const { diff, liveDeployId } = await diffAgainstLive(ctx, request.environment, plan.services, manifest.files, extractPaths, live);
  const lastModified = head.LastModified ?? new Date();

  const script = composeScript({
    deployLabel: `${request.kind}-${plan.label}`,
    repoPath: environment.repoPath,
    region: environment.region,
    bucket: environment.bucket,
    key: request.bundleKey,
    sha256,
    replace: plan.replace.filter(present),
    paths: extractPaths,
    extractPaths,
    owner: environment.fileOwner,
    composeDir: environment.composeDir,
    composeServices: plan.composeServices,
  });

  return {
    ...request,
    services: plan.services,
    hosts: environment.hosts.map((h) => ({ instanceId: h.instanceId, name: h.name })),
    changes,
    targetLastModified: lastModified.toISOString(),
    targetAgeSeconds: Math.max(0, Math.round((Date.now() - lastModified.getTime()) / 1000)),
    madeOutsideDeckhand: !read.embedded,
    diff,
    revertsDeployId: liveDeployId,
    sha256,
    manifest,
    script,
  };
}

/** Deploys an existing bundle (rollback or redeploy) through the same send-and-watch path as any deploy. */
export async function startRedeploy(ctx: DeployContext, request: RedeployRequest): Promise<string> {
  await assertEnvironmentIdle(ctx, request.environment); // fail fast, before reading the bundle
  const preview = await previewRedeploy(ctx, request);
  const environment = environmentOf(ctx.config, request.environment);
  const id = newDeployId(`${request.kind}-${preview.services.length === 1 ? preview.services[0] : "multi"}`);
  await withLock(`environment:${request.environment}`, async () => {
    await assertEnvironmentIdle(ctx, request.environment);
    await insertDeploy(ctx.db, {
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
      status: "sending",
    });
  });
  await recordEvent(ctx.db, id, "state", `${request.kind} of ${preview.services.join(", ")} to ${request.bundleKey}${preview.revertsDeployId ? ` (replacing ${preview.revertsDeployId})` : ""}`);
  void runJob(id, () => guarded(ctx, id, () => sendAndWatch(ctx, id, environment.hosts, 1)));
  return id;
}

/** Reruns a finished deploy only on its hosts that did not succeed, as a new attempt of the same deploy. */
export async function retryFailedHosts(ctx: DeployContext, id: string): Promise<string[]> {
  const deploy = await getDeploy(ctx.db, id);
  if (!deploy) throw new DeployError(`No deploy ${id}.`);
  if (!["failed", "partially_failed", "cancelled"].includes(deploy.status) || !deploy.script || !deploy.commandId) {
    throw new DeployError(`Deploy ${id} is ${deploy.status.replace("_", " ")}: only a deploy that reached its hosts and ended with failures can be retried.`);
  }
  const failed = (await currentHostRuns(ctx.db, id)).filter((run) => run.status !== "Success");
  if (failed.length === 0) throw new DeployError(`Every host of deploy ${id} succeeded: nothing to retry.`);
  const environment = environmentOf(ctx.config, deploy.environment);
  try {
    await headBundle(ctx.aws(environment.region).s3, deploy.bundleBucket, deploy.bundleKey);
  } catch (error) {
    if (isNotFound(error)) throw new DeployError(`Bundle ${deploy.bundleKey} is no longer in S3 (expired after ${environment.retentionDays} days): deploy again instead.`);
    throw error;
  }
  const hosts = failed.map((run) => ({ instanceId: run.instanceId, name: run.hostName }));
  // Active again before this returns, so the deploy page (and a second deploy) see it at once.
  await withLock(`environment:${deploy.environment}`, async () => {
    await assertEnvironmentIdle(ctx, deploy.environment, id);
    await updateDeploy(ctx.db, id, { status: "sending", finishedAt: null });
  });
  await recordEvent(ctx.db, id, "state", `retrying on ${hosts.map((h) => h.name).join(", ")}`);
  void runJob(id, () => guarded(ctx, id, () => sendAndWatch(ctx, id, hosts, deploy.attempt + 1)));
  return hosts.map((h) => h.instanceId);
}
