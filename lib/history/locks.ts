import type { Db } from "./db";

export interface LockBreakEntry {
  environment: string;
  deployId: string;
  owner: string;
  identity: string;
  takenAt: string;
  expiresAt: string;
  brokenBy: string;
}

/**
 * Records a broken bucket lock: in the LockBreak table always (the deploy may be another laptop's),
 * and as an event on the deploy when this history has it.
 */
export async function recordLockBreak(db: Db, entry: LockBreakEntry): Promise<void> {
  await db.lockBreak.create({ data: entry });
  const local = await db.deploy.findUnique({ where: { id: entry.deployId }, select: { id: true } });
  if (local) {
    await db.deployEvent.create({
      data: { deployId: entry.deployId, phase: "state", message: `${entry.brokenBy} broke this deploy's expired environment lock (held by ${entry.owner}, expired ${entry.expiresAt})` },
    });
  }
}

export async function recentLockBreaks(db: Db, environment: string, limit = 5) {
  return db.lockBreak.findMany({ where: { environment }, orderBy: { id: "desc" }, take: limit });
}
