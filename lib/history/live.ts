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

function liveFrom(runs: Awaited<ReturnType<typeof successfulRuns>>): LiveMap {
  const live: LiveMap = new Map();
  for (const run of runs) {
    const perHost = live.get(run.instanceId) ?? new Map<string, LiveBundle>();
    live.set(run.instanceId, perHost);
    for (const service of run.services) {
      if (!perHost.has(service)) perHost.set(service, { deployId: run.deployId, bundleKey: run.bundleKey, kind: run.kind, at: run.at });
    }
  }
  return live;
}

export async function liveBundles(db: Db, environment: string): Promise<LiveMap> {
  return liveFrom(await successfulRuns(db, environment));
}

/** The newest bundle live on any host for any of these services (hosts normally agree). */
export function newestLive(live: LiveMap, services: string[]): LiveBundle | undefined {
  return [...live.values()]
    .flatMap((perHost) => services.map((service) => perHost.get(service)))
    .filter((bundle): bundle is LiveBundle => bundle !== undefined)
    .sort((a, b) => b.at.getTime() - a.at.getTime())[0];
}

export type RollbackTargets = Map<string, { current: LiveBundle; previous: LiveBundle | null }>;

/**
 * What is live, and for each service the bundle to roll back to: the newest bundle that went live
 * for it (on any host) before the bundle live now, skipping the current one. One query for both.
 */
export async function liveAndRollbackTargets(db: Db, environment: string): Promise<{ live: LiveMap; targets: RollbackTargets }> {
  const runs = await successfulRuns(db, environment);
  const live = liveFrom(runs);
  const targets: RollbackTargets = new Map();
  for (const service of new Set(runs.flatMap((r) => r.services))) {
    const current = newestLive(live, [service]);
    if (!current) continue;
    const earlier = runs.find((run) => run.services.includes(service) && run.bundleKey !== current.bundleKey && run.at.getTime() <= current.at.getTime());
    targets.set(service, { current, previous: earlier ? { deployId: earlier.deployId, bundleKey: earlier.bundleKey, kind: earlier.kind, at: earlier.at } : null });
  }
  return { live, targets };
}

/** Who deployed each bundle key last, and when (for the bundles list). */
export async function deploysByBundle(db: Db, environment: string, keys: string[]) {
  const deploys = await db.deploy.findMany({
    where: { environment, bundleKey: { in: keys } },
    orderBy: { createdAt: "desc" },
    select: { id: true, bundleKey: true, createdBy: true, createdAt: true, services: true, manifest: true, bundleSha256: true, bundleSize: true, kind: true },
  });
  const byKey = new Map<string, (typeof deploys)[number]>();
  for (const deploy of deploys) if (!byKey.has(deploy.bundleKey)) byKey.set(deploy.bundleKey, deploy);
  return byKey;
}
