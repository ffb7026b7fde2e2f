import { describePing, sendScript } from "../../aws/ssm";
import { presignBundleUrl } from "../../aws/presign";
import { RefusedError } from "../../errors";
import { createHostRuns, recordEvent, requireDeploy, updateDeploy } from "../../history/deploys";
import { redactPresignedUrls, withPresignedUrl } from "../../remote/preflight";
import type { DeployContext } from "../context";
import { moveJob, type Job, type Phase } from "../job";

/**
 * Hosts SSM does not see online get nothing: on AWS a command to them sits Pending until its
 * delivery timeout. The operator chooses: refuse the whole send (default), or skip those hosts.
 */
async function onlineHosts(ctx: DeployContext, job: Job): Promise<void> {
  const ping = await describePing(ctx.aws(job.environment.region).ssm, job.hosts.map((h) => h.instanceId));
  const offline = job.hosts.filter((h) => ping.get(h.instanceId)?.pingStatus !== "Online");
  if (offline.length === 0) return;
  const names = offline.map((h) => `${h.name} (${ping.get(h.instanceId)?.pingStatus ?? "not registered with SSM"})`).join(", ");
  if (!job.skipOfflineHosts || offline.length === job.hosts.length) {
    throw new RefusedError(`${names} ${offline.length === 1 ? "is" : "are"} not online in SSM: nothing was sent. Wait for the agent to reconnect, or deploy again skipping offline hosts.`);
  }
  job.hosts = job.hosts.filter((h) => !offline.includes(h));
  await recordEvent(ctx.db, job.deployId, "send", `skipping ${names}: not online in SSM (as the operator chose)`);
}

/** Sends the stored script to the job's hosts as one SSM command, recorded as attempt N. */
export const sendPhase: Phase = {
  name: "send",
  status: "sending",
  describe: (job) => `sending the script to ${job.hosts.map((h) => `${h.name} (${h.instanceId})`).join(", ")}${job.attempt > 1 ? ` (attempt ${job.attempt})` : ""}`,
  async run(ctx: DeployContext, job: Job) {
    const deploy = await requireDeploy(ctx.db, job.deployId);
    await onlineHosts(ctx, job);
    let script = deploy.script;
    if (job.environment.download === "presigned-url") {
      // A short-lived credential: in the stored script only while the command is out (runner redacts it at the end).
      script = withPresignedUrl(redactPresignedUrls(script), await presignBundleUrl(ctx.aws(job.environment.region).s3, deploy.bundleBucket, deploy.bundleKey));
      await updateDeploy(ctx.db, job.deployId, { script });
    }
    const { output } = job.environment;
    const commandId = await sendScript(ctx.aws(job.environment.region).ssm, {
      instanceIds: job.hosts.map((h) => h.instanceId),
      script,
      executionTimeoutSeconds: job.environment.executionTimeoutSeconds,
      deliveryTimeoutSeconds: job.environment.deliveryTimeoutSeconds,
      comment: `Deckhand ${job.deployId}${job.attempt > 1 ? ` attempt ${job.attempt}` : ""}`,
      cloudWatchLogGroup: output.cloudWatchLogGroup,
      s3Bucket: output.s3Bucket,
      s3Prefix: output.s3Prefix,
    });
    await createHostRuns(ctx.db, job.deployId, job.attempt, commandId, job.hosts);
    await moveJob(ctx, job, "running", `SSM command ${commandId} sent (attempt ${job.attempt})`, { commandId, attempt: job.attempt, liveCursor: null, finishedAt: null, error: null });
    await recordEvent(ctx.db, job.deployId, "send", `SSM command ${commandId} sent to ${job.hosts.map((h) => h.name).join(", ")}`);
  },
};
