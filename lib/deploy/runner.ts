import { environmentsSharingHosts } from "./environment-rules";
import { describeAwsError } from "../aws/errors";
import { UserFacingError } from "../errors";
import { changeStatus, findActiveDeploy, getDeploy, insertDeploy, recordEvent, updateDeploy, type NewDeploy, type StatusChange } from "../history/deploys";
import { redactPresignedUrls } from "../remote/preflight";
import { ConflictError } from "../errors";
import { takeEnvironmentLock } from "../lock/environment";
import type { DeployContext } from "./context";
import { moveJob, type Job } from "./job";
import { runJob, withLock } from "./jobs";
import { isActiveStatus, statusWords, type DeployStatus } from "./status";
import { notifyEnd } from "./summary";

const isEndStatus = (status: DeployStatus) => !isActiveStatus(status);

/** The message recorded for a failure: our own errors as written, AWS errors in plain words. */
export function failureMessage(error: unknown, context = ""): string {
  return error instanceof UserFacingError ? error.message : describeAwsError(error, context);
}

/**
 * Runs a job's phases in order. A phase with a status moves the deploy into it first (compare-and-set:
 * a cancel that won the race stops the job before anything is sent); a phase may end or pause the
 * deploy; when every phase has run, the deploy has succeeded. Any error ends it as failed, recorded.
 */
export async function runPhases(ctx: DeployContext, job: Job): Promise<void> {
  try {
    for (const phase of job.phases) {
      if (phase.status && phase.status !== job.status) await moveJob(ctx, job, phase.status, phase.describe?.(job) ?? phase.name);
      const outcome = await phase.run(ctx, job);
      if (outcome && "end" in outcome) {
        await settleBeforeEnd(job);
        return await moveJob(ctx, job, outcome.end, outcome.message, outcome.error ? { error: outcome.error } : undefined);
      }
      if (outcome && "pause" in outcome) return await moveJob(ctx, job, outcome.pause, outcome.message);
    }
    await settleBeforeEnd(job);
    await moveJob(ctx, job, "succeeded", "deploy succeeded");
  } catch (error) {
    await recordFailure(ctx, job, error);
  } finally {
    await releaseLock(ctx, job);
    await forgetPresignedUrl(ctx, job);
    if (isEndStatus(job.status)) await notifyEnd(ctx.db, job.deployId).catch((error) => console.error(`[deckhand] deploy ${job.deployId}: notification failed:`, error));
    for (const work of job.afterEnd ?? []) await work().catch((error) => console.error(`[deckhand] deploy ${job.deployId}: after-end work failed:`, error));
  }
}

/** Ended or paused: the environment is free for any panel (a confirm takes the lock again). */
async function releaseLock(ctx: DeployContext, job: Job): Promise<void> {
  const lock = job.lock;
  job.lock = undefined;
  await lock?.release().catch((error) => console.error(`[deckhand] deploy ${job.deployId}: could not release the bucket lock (it expires by itself):`, error));
}

/** A pre-signed URL is a credential: once the job stops, the stored script keeps only its redacted form. */
async function forgetPresignedUrl(ctx: DeployContext, job: Job): Promise<void> {
  if (job.environment.download !== "presigned-url") return;
  const deploy = await getDeploy(ctx.db, job.deployId).catch(() => null);
  if (deploy && deploy.script !== redactPresignedUrls(deploy.script)) await updateDeploy(ctx.db, job.deployId, { script: redactPresignedUrls(deploy.script) }).catch((error) => console.error(`[deckhand] could not redact the pre-signed URL of ${job.deployId}:`, error));
}

/** Work already under way (late live output) finishes before the status is final: an ended deploy has all its lines. */
async function settleBeforeEnd(job: Job): Promise<void> {
  await Promise.all((job.beforeEnd ?? []).map((work) => work.catch((error) => console.error(`[deckhand] deploy ${job.deployId}: before-end work failed:`, error))));
  job.beforeEnd = [];
}

/** Ends the job's deploy as failed with the error; if the deploy moved meanwhile (cancelled), says so instead. */
async function recordFailure(ctx: DeployContext, job: Job, error: unknown): Promise<void> {
  const message = failureMessage(error);
  try {
    if (error instanceof ConflictError) {
      // Someone else moved the deploy (a cancel before the send): this job simply stops.
      await recordEvent(ctx.db, job.deployId, "state", `stopped: ${message}`);
      return;
    }
    await moveJob(ctx, job, "failed", `deploy failed: ${message}`, { error: message });
  } catch (recordingError) {
    // Never swallowed: the server log gets both, so a failure that could not be recorded is still seen.
    console.error(`[deckhand] deploy ${job.deployId}: could not record the failure "${message}":`, recordingError);
  }
}

/** One deploy at a time per environment: two scripts rebuilding containers on the same hosts would race. */
async function assertEnvironmentIdle(ctx: DeployContext, environment: string, exceptDeployId?: string): Promise<void> {
  // Environments that share a host share its containers: one deploy at a time across all of them.
  for (const name of environmentsSharingHosts(ctx.config.environments, environment)) {
    const active = await findActiveDeploy(ctx.db, name);
    if (active && active.id !== exceptDeployId) {
      const where = name === environment ? environment : `${name}, which shares hosts with ${environment}`;
      throw new ConflictError(`Deploy ${active.id} is still ${statusWords(active.status)} on ${where}: wait for it to end or cancel it first.`);
    }
  }
}

export type LaunchStart =
  /** A new deploy, inserted as queued. */
  | { insert: NewDeploy }
  /** An existing deploy moved (compare-and-set) into the job's first status. */
  | { move: { from: DeployStatus | readonly DeployStatus[]; to: DeployStatus; message: string; data?: StatusChange["data"] } };

/**
 * The one way work starts: under the environment's lock, check no other deploy is active, record the
 * deploy (insert or compare-and-set), then run the job in the background. Returns once it is recorded.
 */
export async function launch(ctx: DeployContext, job: Job, start: LaunchStart): Promise<string> {
  await withLock(`hosts:${environmentsSharingHosts(ctx.config.environments, job.environmentName).sort().join(",")}`, async () => {
    await assertEnvironmentIdle(ctx, job.environmentName, job.deployId);
    // Across laptops: the bucket lock, taken before anything is recorded (a refusal names the holder).
    const lock = await takeEnvironmentLock(ctx, job.environmentName, job.deployId);
    try {
      if ("insert" in start) {
        await insertDeploy(ctx.db, start.insert);
        job.status = "queued";
      } else {
        job.status = await changeStatus(ctx.db, job.deployId, start.move);
      }
    } catch (error) {
      await lock.release().catch(() => undefined);
      throw error;
    }
    job.lock = lock;
  });
  void runJob(job.deployId, () => runPhases(ctx, job));
  return job.deployId;
}

/** Runs a job for a deploy already in the job's status (a restart resuming its watch): no in-process check, no move. */
export function continueJob(ctx: DeployContext, job: Job): Promise<void> {
  return runJob(job.deployId, async () => {
    // The command already runs on the hosts: watch it whatever the lock says, but say so if not held.
    job.lock ??= await takeEnvironmentLock(ctx, job.environmentName, job.deployId).catch(async (error) => {
      await recordEvent(ctx.db, job.deployId, "state", `watching without the environment's bucket lock: ${failureMessage(error)}`).catch(() => undefined);
      return undefined;
    });
    await runPhases(ctx, job);
  });
}
