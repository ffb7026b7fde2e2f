import { addObjectMetadata, uploadBundle } from "../../aws/s3";
import { packBundle } from "../../bundle/pack";
import { recordEvent, requireDeploy, updateDeploy } from "../../history/deploys";
import type { DeployContext } from "../context";
import type { Job, Phase } from "../job";

/** Packs the plan's paths and uploads them as one stream; records the bundle's sha256, size and manifest. */
export const uploadPhase: Phase = {
  name: "upload",
  status: "uploading",
  describe: (job) => `packing ${job.plan?.paths.join(" ")}`,
  async run(ctx: DeployContext, job: Job) {
    const plan = job.plan!;
    const deploy = await requireDeploy(ctx.db, job.deployId);
    const packed = await packBundle({ repoDir: ctx.config.repo, label: plan.label, services: plan.services, paths: plan.paths, replace: plan.replace });
    const total = packed.manifest.files.reduce((sum, f) => sum + f.size, 0);
    await recordEvent(ctx.db, job.deployId, "pack", `${packed.manifest.files.length} files, ${total} bytes before compression → s3://${deploy.bundleBucket}/${deploy.bundleKey}`, { bytes: 0, total });
    const s3 = ctx.aws(job.environment.region).s3;
    let lastProgressAt = 0;
    const progressWrites: Promise<unknown>[] = [];
    await uploadBundle(s3, {
      bucket: deploy.bundleBucket,
      key: deploy.bundleKey,
      body: packed.stream,
      metadata: {
        services: plan.services.join(","),
        label: plan.label,
        "git-sha": packed.manifest.git?.sha ?? "",
        "created-by": packed.manifest.createdBy,
        "deckhand-deploy": job.deployId,
      },
      onProgress: (bytes) => {
        if (Date.now() - lastProgressAt < 250) return; // progress is for eyes: a few rows a second is plenty
        lastProgressAt = Date.now();
        progressWrites.push(recordEvent(ctx.db, job.deployId, "upload", `${bytes} bytes sent`, { bytes }));
      },
    });
    const { sha256, size } = await packed.done;
    await Promise.all(progressWrites);
    await addObjectMetadata(s3, deploy.bundleBucket, deploy.bundleKey, { sha256 });
    await recordEvent(ctx.db, job.deployId, "upload", `uploaded ${size} bytes, sha256 ${sha256}`, { bytes: size, total: size });
    await updateDeploy(ctx.db, job.deployId, { bundleSha256: sha256, bundleSize: size, manifest: JSON.stringify(packed.manifest), gitSha: packed.manifest.git?.sha ?? null });
  },
};
