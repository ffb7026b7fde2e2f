import { ACTIVE_DEPLOY_STATUSES, IN_FLIGHT_DEPLOY_STATUSES } from "../deploy/status";
import type { Db } from "./db";

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
  status?: string;
  script?: string;
};

export async function insertDeploy(db: Db, deploy: NewDeploy) {
  const { services, ...rest } = deploy;
  return db.deploy.create({ data: { ...rest, services: JSON.stringify(services), script: deploy.script ?? "", status: deploy.status ?? "queued" } });
}

export async function isBundleKeyTaken(db: Db, bucket: string, key: string): Promise<boolean> {
  return (await db.deploy.count({ where: { bundleBucket: bucket, bundleKey: key } })) > 0;
}

export async function recordEvent(db: Db, deployId: string, phase: string, message: string, progress?: { bytes?: number; total?: number }) {
  await db.deployEvent.create({ data: { deployId, phase, message, bytes: progress?.bytes ?? null, total: progress?.total ?? null } });
}

export async function updateDeploy(db: Db, id: string, data: Parameters<Db["deploy"]["update"]>[0]["data"]) {
  return db.deploy.update({ where: { id }, data });
}

export async function getDeploy(db: Db, id: string) {
  return db.deploy.findUnique({ where: { id } });
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
}

export async function updateHostRun(db: Db, id: string, data: Parameters<Db["hostRun"]["update"]>[0]["data"]) {
  return db.hostRun.update({ where: { id }, data });
}

export async function appendOutput(db: Db, chunks: { hostRunId: string; stream: string; text: string }[]) {
  if (chunks.length > 0) await db.outputChunk.createMany({ data: chunks });
}

/** The host runs of a deploy's latest attempt per host (a retry replaces only the hosts it reran). */
export async function currentHostRuns(db: Db, deployId: string) {
  const runs = await db.hostRun.findMany({ where: { deployId }, orderBy: [{ attempt: "desc" }, { hostName: "asc" }] });
  const latest = new Map<string, (typeof runs)[number]>();
  for (const run of runs) if (!latest.has(run.instanceId)) latest.set(run.instanceId, run);
  return [...latest.values()].sort((a, b) => a.hostName.localeCompare(b.hostName));
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

export async function listDeploys(db: Db, options: { environment?: string; limit?: number } = {}) {
  return db.deploy.findMany({
    where: options.environment ? { environment: options.environment } : undefined,
    orderBy: { createdAt: "desc" },
    take: options.limit ?? 50,
    include: { hostRuns: { select: { instanceId: true, hostName: true, status: true, attempt: true } } },
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
  return db.deploy.findMany({ where: { status: { in: IN_FLIGHT_DEPLOY_STATUSES } } });
}

/** The newest host run per host of an environment, for the dashboard. */
export async function lastRunPerHost(db: Db, environment: string, instanceIds: string[]) {
  const result = new Map<string, { deployId: string; label: string; status: string; at: Date }>();
  for (const instanceId of instanceIds) {
    const run = await db.hostRun.findFirst({
      where: { instanceId, deploy: { environment } },
      orderBy: { startedAt: "desc" },
      include: { deploy: { select: { id: true, label: true } } },
    });
    if (run) result.set(instanceId, { deployId: run.deploy.id, label: run.deploy.label, status: run.status, at: run.startedAt });
  }
  return result;
}
