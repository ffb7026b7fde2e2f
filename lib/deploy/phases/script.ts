import { createHash } from "node:crypto";
import type { EnvironmentConfig } from "../../config/schema";
import { RefusedError } from "../../errors";
import { requireDeploy, updateDeploy } from "../../history/deploys";
import { composeScript } from "../../remote/compose-script";
import { redactPresignedUrls } from "../../remote/preflight";
import { systemdScript } from "../../remote/systemd-script";
import type { DeployContext } from "../context";
import type { Job, Phase } from "../job";
import type { DeployShape } from "../plan";

/**
 * Stand-in for the pre-signed URL in the stored script: the real one is a credential, minted when
 * the script is sent and redacted again when the deploy ends (see phases/send.ts).
 */
const PRESIGN_PLACEHOLDER = (bucket: string, key: string) => `https://${bucket}.s3.amazonaws.com/${key}?pending`;

export interface ScriptTarget {
  /** Names the deploy in the script's comments and its "done" line. */
  label: string;
  bucket: string;
  key: string;
  sha256: string;
  shape: Pick<DeployShape, "paths" | "replace" | "composeServices">;
  /** Extract only these members (a bundle redeployed for some of its services); all when absent. */
  extractPaths?: string[];
  /** The bundle's size, for the pre-flight's free-disk check. */
  bytes?: number;
  /** Members relative to this repo-relative directory (a `tar -C dist .` bundle): extracted into it. */
  extractInto?: string;
}

/** The one place the host script's arguments are put together, for a new bundle and an existing one alike. */
export function hostScript(environment: EnvironmentConfig, target: ScriptTarget): string {
  const download = environment.download === "presigned-url" ? { mode: "presigned-url" as const, url: PRESIGN_PLACEHOLDER(target.bucket, target.key) } : { mode: "aws-cli" as const };
  if (environment.profile === "systemd") {
    const systemd = environment.systemd;
    if (!systemd) throw new RefusedError('this environment\'s profile is "systemd" but it has no systemd block in the config');
    if (target.extractInto !== undefined) throw new RefusedError("a bundle laid out for one directory cannot be deployed with the systemd profile (it needs VERSION and deploy/ at its root)");
    return redactPresignedUrls(
      systemdScript({
        bundleBytes: target.bytes,
        download,
        deployLabel: target.label,
        region: environment.region,
        bucket: target.bucket,
        key: target.key,
        sha256: target.sha256,
        unit: systemd.unit,
        serviceDir: systemd.serviceDir,
        unitDir: systemd.unitDir,
        image: systemd.image,
        owner: environment.fileOwner,
        settleSeconds: systemd.settleSeconds,
        // The whole bundle goes to a staging dir and only deploy/ and VERSION are installed from it, so a
        // hand-made `tar -C dir .` bundle (./deploy, ./VERSION) works as well as a repo-relative one.
      }),
    );
  }
  const script = composeScript({
    bundleBytes: target.bytes,
    download,
    deployLabel: target.label,
    repoPath: environment.repoPath,
    region: environment.region,
    bucket: target.bucket,
    key: target.key,
    sha256: target.sha256,
    replace: target.shape.replace,
    paths: target.shape.paths,
    extractPaths: target.extractPaths,
    extractInto: target.extractInto,
    owner: environment.fileOwner,
    composeDir: environment.composeDir,
    composeServices: target.shape.composeServices,
  });
  return redactPresignedUrls(script);
}

export const sha256Hex = (text: string) => createHash("sha256").update(text).digest("hex");

/** Writes the host script for the bundle just uploaded; it is stored exactly as it will be sent. */
export const scriptPhase: Phase = {
  name: "script",
  async run(ctx: DeployContext, job: Job) {
    const deploy = await requireDeploy(ctx.db, job.deployId);
    if (!deploy.bundleSha256) throw new RefusedError(`deploy ${job.deployId} has no uploaded bundle to write a script for`);
    const script = hostScript(job.environment, { label: job.deployId, bucket: deploy.bundleBucket, key: deploy.bundleKey, sha256: deploy.bundleSha256, shape: job.plan!, bytes: deploy.bundleSize ?? undefined });
    await updateDeploy(ctx.db, job.deployId, { script });
  },
};

/** Stops after the upload until the operator has read the script and confirmed it. */
export const reviewPhase: Phase = {
  name: "review",
  async run() {
    return { pause: "awaiting_confirmation", message: "bundle uploaded; waiting for the operator to confirm the script" };
  },
};
