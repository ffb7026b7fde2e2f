// The bucket lock as the deploy engine and the dashboard use it: one per environment, in its bucket.
import { describeAwsError } from "../aws/errors";
import { whoAmI } from "../bundle/pack";
import { environmentOf } from "../config/load";
import type { DeployContext } from "../deploy/context";
import { RefusedError, UserFacingError } from "../errors";
import { recordEvent } from "../history/deploys";
import { recordLockBreak } from "../history/locks";
import { breakLock, lockKey, readLock, takeLock, type BucketLock, type HeldLock, type LockPlace } from "./bucket-lock";

export function lockPlace(ctx: Pick<DeployContext, "config" | "aws">, environmentName: string): LockPlace {
  const environment = environmentOf(ctx.config, environmentName);
  return { s3: ctx.aws(environment.region).s3, bucket: environment.bucket, key: lockKey(environment, environmentName), environment: environmentName };
}

/** Takes the environment's bucket lock for a deploy (or refuses, naming the holder); a lost lock is recorded on the deploy. */
export async function takeEnvironmentLock(ctx: DeployContext, environmentName: string, deployId: string): Promise<BucketLock> {
  const environment = environmentOf(ctx.config, environmentName);
  const place = lockPlace(ctx, environmentName);
  return takeLock({
    place,
    sts: ctx.aws(environment.region).sts,
    deployId,
    ttlMs: ctx.lockTtlMs,
    onLost: (why) => void recordEvent(ctx.db, deployId, "state", `${why}: this deploy no longer holds the environment`).catch(() => undefined),
  }).catch((error: unknown) => {
    if (error instanceof UserFacingError) throw error;
    // Nothing was recorded or sent yet: refuse in plain words (a missing bucket, a denied write).
    throw new RefusedError(`Could not take the environment lock s3://${place.bucket}/${place.key}: ${describeAwsError(error, "writing the lock object")}`);
  });
}

export function whoHoldsEnvironment(ctx: DeployContext, environmentName: string): Promise<HeldLock | null> {
  return readLock(lockPlace(ctx, environmentName));
}

/** Breaks an expired lock (refused otherwise) and records who broke whose lock. */
export async function breakEnvironmentLock(ctx: DeployContext, environmentName: string): Promise<HeldLock> {
  const held = await breakLock(lockPlace(ctx, environmentName));
  const { owner, identity, deployId, takenAt, expiresAt } = held.record;
  await recordLockBreak(ctx.db, { environment: environmentName, owner, identity, deployId, takenAt, expiresAt, brokenBy: whoAmI() });
  return held;
}
