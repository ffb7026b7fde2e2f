import { awsProblem } from "../../aws/errors";
import { addObjectMetadata, objectExists, uploadBundle } from "../../aws/s3";
import { bundleKey, parseBundleKey } from "../../bundle/naming";
import { packBundle } from "../../bundle/pack";
import { CONTENT_METADATA_KEY, findBundleByContent, recordBundleContent } from "../../bundle/reuse";
import { RefusedError } from "../../errors";
import { isBundleKeyTaken, recordEvent, requireDeploy, updateDeploy } from "../../history/deploys";
import type { DeployContext } from "../context";
import type { Job, Phase } from "../job";

/** Tries at a free key before giving up: each lost race means another panel uploaded in the same second. */
const KEY_ATTEMPTS = 5;

/** The next key after `key` (stamp + 1) that neither this history nor the bucket holds. */
async function nextFreeKey(ctx: DeployContext, job: Job, key: string): Promise<string> {
  const { bucket, prefix, region } = job.environment;
  const parsed = parseBundleKey(key, ctx.config.bundleNamePrefix);
  if (!parsed) throw new RefusedError(`cannot pick a new bundle key after ${key}`);
  for (let stamp = parsed.stamp + 1; ; stamp++) {
    const candidate = bundleKey(prefix, ctx.config.bundleNamePrefix, parsed.label, stamp, parsed.version);
    if (!(await isBundleKeyTaken(ctx.db, bucket, candidate)) && !(await objectExists(ctx.aws(region).s3, bucket, candidate))) return candidate;
  }
}

/** Packs and uploads to `key` without ever overwriting it; "taken" when another panel got there first. */
type Uploaded = { key: string; sha256: string; size: number; manifest: string; gitSha: string | null };

/**
 * A bundle with the same content already in the bucket, uploaded by this Deckhand (its pack-time
 * sha256 in history matches what the bucket claims): reused rather than uploaded again.
 */
async function reusable(ctx: DeployContext, job: Job, contentSha256: string): Promise<(Uploaded & { deployId: string }) | null> {
  const { bucket, prefix, retentionDays, region } = job.environment;
  if (!job.environment.reuseBundles) return null;
  const found = await findBundleByContent(ctx.aws(region).s3, { bucket, prefix, contentSha256, maxAgeMs: Math.max(0, retentionDays - 1) * 86_400_000 });
  if (!found) return null;
  const known = await ctx.db.deploy.findFirst({
    where: { bundleBucket: bucket, bundleKey: found.key, bundleSha256: found.sha256, manifest: { not: null } },
    select: { id: true, bundleSize: true, manifest: true, gitSha: true },
  });
  if (!known?.manifest || known.bundleSize === null) return null;
  return { deployId: known.id, key: found.key, sha256: found.sha256, size: known.bundleSize, manifest: known.manifest, gitSha: known.gitSha };
}

async function packAndUpload(ctx: DeployContext, job: Job, key: string): Promise<"taken" | Uploaded> {
  const plan = job.plan!;
  const s3 = ctx.aws(job.environment.region).s3;
  const packed = await packBundle({ repoDir: plan.sourceDir ?? ctx.config.repo, label: plan.label, services: plan.services, paths: plan.paths, replace: plan.replace, version: plan.version, ref: plan.ref });
  const reuse = await reusable(ctx, job, packed.contentSha256);
  if (reuse) {
    packed.stream.destroy(); // nothing is compressed or sent
    await recordEvent(ctx.db, job.deployId, "upload", `the same content is already in s3://${job.environment.bucket}/${reuse.key} (deploy ${reuse.deployId}): reused, nothing uploaded`, { bytes: reuse.size, total: reuse.size });
    return reuse;
  }
  const total = packed.manifest.files.reduce((sum, f) => sum + f.size, 0);
  await recordEvent(ctx.db, job.deployId, "pack", `${packed.manifest.files.length} files, ${total} bytes before compression → s3://${job.environment.bucket}/${key}`, { bytes: 0, total });
  const git = packed.manifest.git;
  if (plan.ref) await recordEvent(ctx.db, job.deployId, "source", `packed from a clean checkout of ${plan.ref} (${git?.sha.slice(0, 12) ?? "?"}${git?.tag ? `, tag ${git.tag}` : ""}), not the working tree`);
  else if (git?.dirty) await recordEvent(ctx.db, job.deployId, "warning", `the working tree has uncommitted changes: this bundle is not any commit (${git.sha.slice(0, 12)} on ${git.branch} plus local edits). Deploy a tag or commit for a reproducible bundle.`);
  let lastProgressAt = 0;
  const progressWrites: Promise<unknown>[] = [];
  let etag: string | undefined;
  try {
    etag = await uploadBundle(s3, {
      bucket: job.environment.bucket,
      key,
      body: packed.stream,
      metadata: { services: plan.services.join(","), label: plan.label, "git-sha": packed.manifest.git?.sha ?? "", ...(plan.version ? { version: plan.version } : {}), "created-by": packed.manifest.createdBy, "deckhand-deploy": job.deployId, [CONTENT_METADATA_KEY]: packed.contentSha256 },
      onProgress: (bytes) => {
        if (Date.now() - lastProgressAt < 250) return; // progress is for eyes: a few rows a second is plenty
        lastProgressAt = Date.now();
        progressWrites.push(recordEvent(ctx.db, job.deployId, "upload", `${bytes} bytes sent`, { bytes }));
      },
    });
  } catch (error) {
    if (awsProblem(error) === "precondition_failed") return "taken";
    throw error;
  }
  const { sha256, size } = await packed.done;
  await Promise.all(progressWrites);
  await addObjectMetadata(s3, job.environment.bucket, key, { sha256 }, etag);
  await recordBundleContent(s3, { bucket: job.environment.bucket, prefix: job.environment.prefix, contentSha256: packed.contentSha256, key, sha256 });
  await recordEvent(ctx.db, job.deployId, "upload", `uploaded ${size} bytes, sha256 ${sha256}`, { bytes: size, total: size });
  return { key, sha256, size, manifest: JSON.stringify(packed.manifest), gitSha: packed.manifest.git?.sha ?? null };
}

/** Packs the plan's paths and uploads them as one stream; records the bundle's key, sha256, size and manifest. */
export const uploadPhase: Phase = {
  name: "upload",
  status: "uploading",
  describe: (job) => `packing ${job.plan?.paths.join(" ")}`,
  async run(ctx: DeployContext, job: Job) {
    let key = (await requireDeploy(ctx.db, job.deployId)).bundleKey;
    if (await objectExists(ctx.aws(job.environment.region).s3, job.environment.bucket, key)) key = await nextFreeKey(ctx, job, key);
    for (let attempt = 1; attempt <= KEY_ATTEMPTS; attempt++) {
      await updateDeploy(ctx.db, job.deployId, { bundleKey: key });
      const result = await packAndUpload(ctx, job, key);
      if (result !== "taken") {
        await updateDeploy(ctx.db, job.deployId, { bundleKey: result.key, bundleSha256: result.sha256, bundleSize: result.size, manifest: result.manifest, gitSha: result.gitSha });
        return;
      }
      const next = await nextFreeKey(ctx, job, key);
      await recordEvent(ctx.db, job.deployId, "upload", `${key} was taken by another upload in the same second (nothing overwritten): packing again as ${next}`);
      key = next;
    }
    throw new RefusedError(`every bundle key tried was taken by other uploads (${KEY_ATTEMPTS} tries): try again`);
  },
};
