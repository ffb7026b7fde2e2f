import { sendScript } from "../../aws/ssm";
import { createHostRuns, recordEvent, requireDeploy } from "../../history/deploys";
import type { DeployContext } from "../context";
import { moveJob, type Job, type Phase } from "../job";

/** Sends the stored script to the job's hosts as one SSM command, recorded as attempt N. */
export const sendPhase: Phase = {
  name: "send",
  status: "sending",
  describe: (job) => `sending the script to ${job.hosts.map((h) => `${h.name} (${h.instanceId})`).join(", ")}${job.attempt > 1 ? ` (attempt ${job.attempt})` : ""}`,
  async run(ctx: DeployContext, job: Job) {
    const deploy = await requireDeploy(ctx.db, job.deployId);
    const { output } = job.environment;
    const commandId = await sendScript(ctx.aws(job.environment.region).ssm, {
      instanceIds: job.hosts.map((h) => h.instanceId),
      script: deploy.script,
      executionTimeoutSeconds: job.environment.executionTimeoutSeconds,
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
