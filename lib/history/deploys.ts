import { ConflictError, NotFoundError } from "../errors";
import { ACTIVE_DEPLOY_STATUSES, canTransition, IN_FLIGHT_DEPLOY_STATUSES, latestRunPerHost, statusWords, type DeployStatus } from "../deploy/status";
import type { Db } from "./db";
import { notifyDeploy, notifyHostRuns } from "./feed";

export type NewDeploy = {
  id: string;
  environment: string;
  kind: string;
  services: string[];
  label: string;
  bundleKey: string;
  bundleBucket: string;
  createdBy: string;
  reviewScript?: boolean;
  revertsDeployId?: string | null;
  bundleSha256?: string | null;
  bundleSize?: number | null;
  manifest?: string | null;
  gitSha?: string | null;
  script?: string;
};

/** A new deploy always starts queued: every later status goes through changeStatus. */
export async function insertDeploy(db: Db, deploy: NewDeploy) {
  const { services, ...rest } = deploy;
  return db.deploy.create({ data: { ...rest, services: JSON.stringify(services), script: deploy.script ?? "", status: "queued" } });
}

export async function isBundleKeyTaken(db: Db, bucket: string, key: string): Promise<boolean> {
  return (await db.deploy.count({ where: { bundleBucket: bucket, bundleKey: key } })) > 0;
}

export async function recordEvent(db: Db, deployId: string, phase: string, message: string, progress?: { bytes?: number; total?: number }) {
  const event = await db.deployEvent.create({ data: { deployId, phase, message, bytes: progress?.bytes ?? null, total: progress?.total ?? null } });
  notifyDeploy(deployId); // wakes the deploy page's open event streams (lib/history/feed.ts)
  return event;
}

export async function rewriteEvent(db: Db, eventId: number, message: string) {
  const event = await db.deployEvent.update({ where: { id: eventId }, data: { message, at: new Date() } });
  notifyDeploy(event.deployId);
}

/** Data that goes with a deploy but is not its status (the status only changes through changeStatus). */
type DeployData = Omit<Parameters<Db["deploy"]["update"]>[0]["data"], "status">;

export async function updateDeploy(db: Db, id: string, data: DeployData) {
  const row = await db.deploy.update({ where: { id }, data });
  if (Object.keys(data).some((key) => key !== "liveCursor")) notifyDeploy(id); // the tail's cursor is not shown
  return row;
}

export interface StatusChange {
  /** The status (or statuses) the deploy must be in now; anything else means someone else moved it. */
  from: DeployStatus | readonly DeployStatus[];
  to: DeployStatus;
  /** What happened, recorded as a "state" event in the same transaction. */
  message: string;
  data?: DeployData;
}

/**
 * The only writer of a deploy's status: a compare-and-set (`UPDATE … WHERE id = ? AND status IN (…)`)
 * and its event in one transaction. A change the status table forbids, or one whose `from` no longer
 * holds (a cancel won the race), is refused with a ConflictError saying what the deploy is now.
 */
export async function changeStatus(db: Db, id: string, change: StatusChange): Promise<DeployStatus> {
  const from = typeof change.from === "string" ? [change.from] : [...change.from];
  const forbidden = from.filter((status) => !canTransition(status, change.to));
  if (forbidden.length > 0) throw new ConflictError(`A deploy cannot go from ${forbidden.map(statusWords).join(" or ")} to ${statusWords(change.to)}.`);
  const ended = ["succeeded", "partially_failed", "failed", "cancelled", "lost_contact", "checks_failed"].includes(change.to);
  return db.$transaction(async (tx) => {
    const updated = await tx.deploy.updateMany({
      where: { id, status: { in: from } },
      data: { ...change.data, status: change.to, ...(ended ? { finishedAt: change.data?.finishedAt ?? new Date() } : {}) },
    });
    if (updated.count === 0) {
      const now = await tx.deploy.findUnique({ where: { id }, select: { status: true } });
      if (!now) throw new NotFoundError(`No deploy ${id}.`);
      throw new ConflictError(`Deploy ${id} is ${statusWords(now.status)} now, not ${from.map(statusWords).join(" or ")}: it cannot become ${statusWords(change.to)}.`);
    }
    await tx.deployEvent.create({ data: { deployId: id, phase: "state", message: change.message } });
    return change.to;
  }).finally(() => notifyDeploy(id));
}

export async function getDeploy(db: Db, id: string) {
  return db.deploy.findUnique({ where: { id } });
}

export async function requireDeploy(db: Db, id: string) {
  const deploy = await getDeploy(db, id);
  if (!deploy) throw new NotFoundError(`No deploy ${id}.`);
  return deploy;
}

export async function createHostRuns(db: Db, deployId: string, attempt: number, commandId: string, hosts: { instanceId: string; name: string }[]) {
  await db.hostRun.createMany({
    data: hosts.map((host) => ({
      id: `${deployId}-${attempt}-${host.instanceId}`,
      deployId,
      attempt,
      commandId,
      instanceId: host.instanceId,
      hostName: host.name,
      status: "Pending",
    })),
  });
  notifyDeploy(deployId);
}

export async function updateHostRun(db: Db, id: string, data: Parameters<Db["hostRun"]["update"]>[0]["data"]) {
  const run = await db.hostRun.update({ where: { id }, data });
  notifyHostRuns([id]);
  return run;
}

export async function appendOutput(db: Db, chunks: { hostRunId: string; stream: string; text: string }[]) {
  if (chunks.length === 0) return;
  await db.outputChunk.createMany({ data: chunks });
  notifyHostRuns(new Set(chunks.map((c) => c.hostRunId)));
}

/** The host runs of a deploy's latest attempt per host. */
export async function currentHostRuns(db: Db, deployId: string) {
  return latestRunPerHost(await db.hostRun.findMany({ where: { deployId } }));
}

/** Everything the deploy page shows. */
export async function getDeployDetail(db: Db, id: string) {
  return db.deploy.findUnique({
    where: { id },
    include: {
      hostRuns: { orderBy: [{ attempt: "asc" }, { hostName: "asc" }], include: { chunks: { orderBy: { id: "asc" } } } },
      events: { orderBy: { id: "asc" } },
    },
  });
}

/** A deploy of the environment that has not finished (including one waiting for script review). */
export async function findActiveDeploy(db: Db, environment: string) {
  return db.deploy.findFirst({
    where: { environment, status: { in: ACTIVE_DEPLOY_STATUSES } },
    select: { id: true, status: true },
  });
}

/** Deploys the server must pick up again after a restart. */
export async function listUnfinishedDeploys(db: Db) {
  return db.deploy.findMany({ where: { status: { in: IN_FLIGHT_DEPLOY_STATUSES } }, select: { id: true, status: true, commandId: true } });
}

/** The newest host run per host of an environment, for the dashboard (HostLastRun is kept by triggers on HostRun). */
export async function lastRunPerHost(db: Db, environment: string, instanceIds: string[]) {
  const result = new Map<string, { deployId: string; label: string; status: string; at: Date }>();
  const last = await db.hostLastRun.findMany({ where: { environment, instanceId: { in: instanceIds } }, select: { hostRunId: true } });
  const runs = await db.hostRun.findMany({
    where: { id: { in: last.map((l) => l.hostRunId) } },
    select: { instanceId: true, status: true, startedAt: true, deploy: { select: { id: true, label: true } } },
  });
  for (const run of runs) result.set(run.instanceId, { deployId: run.deploy.id, label: run.deploy.label, status: run.status, at: run.startedAt });
  return result;
}
