import type { Db } from "./db";

export interface LiveBundle {
  deployId: string;
  bundleKey: string;
  kind: string;
  at: Date;
}

/** What history says one host runs for one service: the bundle last deployed there successfully. */
export type LiveMap = Map<string, Map<string, LiveBundle>>; // instanceId → service → bundle

/** Successful host runs of an environment, newest first, with the services their deploy carried. */
async function successfulRuns(db: Db, environment: string) {
  const runs = await db.hostRun.findMany({
    where: { status: "Success", deploy: { environment } },
    orderBy: [{ finishedAt: "desc" }, { startedAt: "desc" }],
    include: { deploy: { select: { id: true, services: true, bundleKey: true, kind: true } } },
  });
  return runs.map((run) => ({
    instanceId: run.instanceId,
    at: run.finishedAt ?? run.startedAt,
    deployId: run.deploy.id,
    bundleKey: run.deploy.bundleKey,
    kind: run.deploy.kind,
    services: JSON.parse(run.deploy.services) as string[],
  }));
}

export async function liveBundles(db: Db, environment: string): Promise<LiveMap> {
  const live: LiveMap = new Map();
  for (const run of await successfulRuns(db, environment)) {
    const perHost = live.get(run.instanceId) ?? new Map<string, LiveBundle>();
    live.set(run.instanceId, perHost);
    for (const service of run.services) {
      if (!perHost.has(service)) perHost.set(service, { deployId: run.deployId, bundleKey: run.bundleKey, kind: run.kind, at: run.at });
    }
  }
  return live;
}

/**
 * For each service, the bundle to roll back to: the newest bundle that went live for it (on any
 * host) before the bundle live now, skipping the current one.
 */
export async function rollbackTargets(db: Db, environment: string, live: LiveMap): Promise<Map<string, { current: LiveBundle; previous: LiveBundle | null }>> {
  const runs = await successfulRuns(db, environment);
  const targets = new Map<string, { current: LiveBundle; previous: LiveBundle | null }>();
  const services = new Set(runs.flatMap((r) => r.services));
  for (const service of services) {
    // the current bundle is the newest one live on any host for this service
    const current = [...live.values()]
      .map((perHost) => perHost.get(service))
      .filter((b): b is LiveBundle => Boolean(b))
      .sort((a, b) => b.at.getTime() - a.at.getTime())[0];
    if (!current) continue;
    const earlier = runs.find((run) => run.services.includes(service) && run.bundleKey !== current.bundleKey && run.at.getTime() <= current.at.getTime());
    targets.set(service, { current, previous: earlier ? { deployId: earlier.deployId, bundleKey: earlier.bundleKey, kind: earlier.kind, at: earlier.at } : null });
  }
  return targets;
}

/** Who deployed each bundle key last, and when (for the bundles list). */
export async function deploysByBundle(db: Db, environment: string, keys: string[]) {
  const deploys = await db.deploy.findMany({
    where: { environment, bundleKey: { in: keys } },
    orderBy: { createdAt: "desc" },
    select: { id: true, bundleKey: true, createdBy: true, createdAt: true, services: true, manifest: true, bundleSha256: true, kind: true },
  });
  const byKey = new Map<string, (typeof deploys)[number]>();
  for (const deploy of deploys) if (!byKey.has(deploy.bundleKey)) byKey.set(deploy.bundleKey, deploy);
  return byKey;
}
