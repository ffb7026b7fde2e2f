// One deploy at a time per environment across laptops: a small JSON object in the deploy bucket,
// taken with a conditional write (If-None-Match: *), renewed and released conditionally on its ETag
// (If-Match), so two panels never both believe they hold it and nobody overwrites another's lock.
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import type { STSClient } from "@aws-sdk/client-sts";
import { awsProblem, describeAwsError } from "../aws/errors";
import { callerArn } from "../aws/sts";
import { whoAmI } from "../bundle/pack";
import type { EnvironmentConfig } from "../config/schema";
import { ConflictError, RefusedError } from "../errors";

/** Long enough for a laptop's sleep-free renewal to never miss; short enough that a dead panel frees the fleet soon. */
export const DEFAULT_LOCK_TTL_MS = 10 * 60_000;
/** A lock object is a few hundred bytes; anything bigger was not written by Deckhand. */
const MAX_LOCK_BYTES = 4096;
const ENVIRONMENT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export interface LockRecord {
  environment: string;
  /** OS user@host of the panel that took it. */
  owner: string;
  /** The AWS caller identity (STS GetCallerIdentity ARN) of that panel. */
  identity: string;
  deployId: string;
  takenAt: string;
  expiresAt: string;
}

export interface HeldLock {
  record: LockRecord;
  etag: string;
  /** Written by something else than Deckhand (or damaged): shown as such, never trusted. */
  unreadable: boolean;
}

export interface LockPlace {
  s3: S3Client;
  bucket: string;
  key: string;
  environment: string;
}

/** `<prefix>.deckhand/locks/<environment>.json`: beside the bundles, never matching a bundle key. */
export function lockKey(environment: Pick<EnvironmentConfig, "prefix">, environmentName: string): string {
  if (!ENVIRONMENT_NAME.test(environmentName)) throw new RefusedError(`environment name "${environmentName}" cannot name a lock object`);
  return `${environment.prefix}.deckhand/locks/${environmentName}.json`;
}

const hhmm = (iso: string) => {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? "?" : `${date.toISOString().slice(11, 16)} UTC`;
};

export function isExpired(record: LockRecord, now = Date.now()): boolean {
  const expires = new Date(record.expiresAt).getTime();
  return Number.isNaN(expires) || expires <= now;
}

/** "held by root@laptop (arn:…) for deploy X since HH:MM, expires HH:MM" */
export function describeHolder(held: HeldLock, now = Date.now()): string {
  const r = held.record;
  if (held.unreadable) return `held by an unreadable lock object (not written by Deckhand) since ${hhmm(r.takenAt)}`;
  return `held by ${r.owner} (${r.identity}) for deploy ${r.deployId} since ${hhmm(r.takenAt)}, ${isExpired(r, now) ? "expired" : "expires"} ${hhmm(r.expiresAt)}`;
}

const text = (value: unknown, max = 300) => (typeof value === "string" && value.length > 0 && value.length <= max && !/[\u0000-\u001f]/.test(value) ? value : null);

/** Reads the lock object bounded and checks every field; null when there is no lock. */
export async function readLock(place: LockPlace): Promise<HeldLock | null> {
  let answer;
  try {
    answer = await place.s3.send(new GetObjectCommand({ Bucket: place.bucket, Key: place.key, Range: `bytes=0-${MAX_LOCK_BYTES - 1}` }));
  } catch (error) {
    if (awsProblem(error) === "not_found") return null;
    throw error;
  }
  const etag = answer.ETag ?? "";
  const body = (await answer.Body?.transformToString("utf8")) ?? "";
  const modified = (answer.LastModified ?? new Date()).toISOString();
  try {
    const parsed = JSON.parse(body) as Record<string, unknown>;
    const record: LockRecord = {
      environment: text(parsed.environment, 64)!,
      owner: text(parsed.owner, 200)!,
      identity: text(parsed.identity, 300)!,
      deployId: text(parsed.deployId, 120)!,
      takenAt: text(parsed.takenAt, 40)!,
      expiresAt: text(parsed.expiresAt, 40)!,
    };
    if (Object.values(record).some((v) => v === null) || Number.isNaN(new Date(record.expiresAt).getTime())) throw new Error("bad fields");
    return { record, etag, unreadable: false };
  } catch {
    // Not ours: keep it (never overwritten), let it expire an hour after it was written, then it may be broken.
    const expiresAt = new Date(new Date(modified).getTime() + 60 * 60_000).toISOString();
    return { record: { environment: place.environment, owner: "unknown", identity: "unknown", deployId: "unknown", takenAt: modified, expiresAt }, etag, unreadable: true };
  }
}

async function write(place: LockPlace, record: LockRecord, condition: { IfNoneMatch: "*" } | { IfMatch: string }): Promise<string> {
  const answer = await place.s3.send(
    new PutObjectCommand({ Bucket: place.bucket, Key: place.key, Body: JSON.stringify(record, null, 2) + "\n", ContentType: "application/json", ...condition }),
  );
  return answer.ETag ?? "";
}

export interface TakeRequest {
  place: LockPlace;
  sts: STSClient;
  deployId: string;
  ttlMs?: number;
  /** Called once when a renewal finds the lock gone or replaced (broken by another panel). */
  onLost?: (why: string) => void;
}

/**
 * A held lock: renews itself every third of its lifetime until released. Renewal and release are
 * conditional on the ETag this panel wrote, so a lock broken and retaken by another panel is left alone.
 */
export class BucketLock {
  private timer: NodeJS.Timeout | null = null;
  private renewing: Promise<void> = Promise.resolve();
  private released = false;

  constructor(
    readonly place: LockPlace,
    public record: LockRecord,
    private etag: string,
    private ttlMs: number,
    private onLost?: (why: string) => void,
  ) {
    this.timer = setInterval(() => void (this.renewing = this.renew()), Math.max(200, Math.floor(ttlMs / 3)));
    this.timer.unref();
  }

  private async renew(): Promise<void> {
    if (this.released) return;
    const next = { ...this.record, expiresAt: new Date(Date.now() + this.ttlMs).toISOString() };
    try {
      this.etag = await write(this.place, next, { IfMatch: this.etag });
      this.record = next;
    } catch (error) {
      const problem = awsProblem(error);
      if (problem === "precondition_failed" || problem === "not_found") {
        this.stop();
        this.onLost?.(`the bucket lock s3://${this.place.bucket}/${this.place.key} was broken or replaced by another panel`);
      }
      // Anything else (a network blip): the next renewal tries again well before expiry.
    }
  }

  private stop(): void {
    this.released = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Deletes the lock if it is still the one this panel wrote; says what happened. */
  async release(): Promise<"released" | "already gone"> {
    if (this.released) return "already gone";
    this.stop();
    await this.renewing.catch(() => undefined);
    try {
      await this.place.s3.send(new DeleteObjectCommand({ Bucket: this.place.bucket, Key: this.place.key, IfMatch: this.etag }));
      return "released";
    } catch (error) {
      const problem = awsProblem(error);
      if (problem === "precondition_failed" || problem === "not_found") return "already gone";
      throw error;
    }
  }
}

/**
 * Takes the environment's lock for a deploy, or refuses naming the holder. A lock already held for
 * the same deploy (this panel restarted while it ran) is taken over, conditionally on its ETag.
 */
export async function takeLock(request: TakeRequest): Promise<BucketLock> {
  const { place, deployId } = request;
  const ttlMs = request.ttlMs ?? DEFAULT_LOCK_TTL_MS;
  let identity: string;
  try {
    identity = await callerArn(request.sts);
  } catch (error) {
    throw new RefusedError(`could not ask AWS who this laptop is (sts:GetCallerIdentity), which the environment lock records: ${describeAwsError(error, "asking STS for the caller identity")}`);
  }
  const now = Date.now();
  const record: LockRecord = { environment: place.environment, owner: whoAmI(), identity, deployId, takenAt: new Date(now).toISOString(), expiresAt: new Date(now + ttlMs).toISOString() };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return new BucketLock(place, record, await write(place, record, { IfNoneMatch: "*" }), ttlMs, request.onLost);
    } catch (error) {
      if (awsProblem(error) !== "precondition_failed") throw error;
    }
    const held = await readLock(place);
    if (!held) continue; // released between the write and the read: try again
    if (!held.unreadable && held.record.deployId === deployId) {
      try {
        return new BucketLock(place, { ...record, takenAt: held.record.takenAt }, await write(place, record, { IfMatch: held.etag }), ttlMs, request.onLost);
      } catch (error) {
        if (awsProblem(error) !== "precondition_failed" && awsProblem(error) !== "not_found") throw error;
        continue;
      }
    }
    const expired = isExpired(held.record);
    throw new ConflictError(
      `Environment ${place.environment} is locked by another panel: ${describeHolder(held)}.` +
        (expired ? " The lock has expired (its panel stopped renewing it): if that panel is gone, break the lock from the dashboard." : " Wait for that deploy to end."),
    );
  }
  throw new ConflictError(`Environment ${place.environment}: the lock changed hands three times while taking it; try again.`);
}

/**
 * Breaks an expired lock (its panel died without releasing it). Refused while it is still valid; the
 * delete is conditional on the ETag read, so a lock renewed meanwhile is not broken.
 */
export async function breakLock(place: LockPlace, now = Date.now()): Promise<HeldLock> {
  const held = await readLock(place);
  if (!held) throw new RefusedError(`Environment ${place.environment} is not locked: there is nothing to break.`);
  if (!isExpired(held.record, now)) throw new RefusedError(`The lock of ${place.environment} is ${describeHolder(held, now)}: only an expired lock can be broken.`);
  try {
    await place.s3.send(new DeleteObjectCommand({ Bucket: place.bucket, Key: place.key, IfMatch: held.etag }));
  } catch (error) {
    const problem = awsProblem(error);
    if (problem === "precondition_failed" || problem === "not_found") throw new ConflictError(`The lock of ${place.environment} changed while breaking it (renewed or released): look again.`);
    throw error;
  }
  return held;
}
