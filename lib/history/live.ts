import type { Db } from "./db";

export interface LiveBundle {
  deployId: string;
  bundleKey: string;
  kind: string;
  at: Date;
}

/** What history says one host runs for one service: the bundle last deployed there successfully. */
export type LiveMap = Map<string, Map<string, LiveBundle>>; // instanceId → service → bundle

/**
 * What history says is live: the LiveService table, one row per host and service, kept by triggers on
 * HostRun in the same statement that records a run's success (prisma/migrations/20261123180000_live_and_search).
 * Its size is hosts × services whatever the length of history, and it never touches output.
 */
export async function liveBundles(db: Db, environment: string): Promise<LiveMap> {
  const rows = await db.liveService.findMany({
    where: { environment },
    select: { instanceId: true, service: true, deployId: true, bundleKey: true, kind: true, at: true },
  });
  const live: LiveMap = new Map();
  for (const row of rows) {
    const perHost = live.get(row.instanceId) ?? new Map<string, LiveBundle>();
    live.set(row.instanceId, perHost);
    perHost.set(row.service, { deployId: row.deployId, bundleKey: row.bundleKey, kind: row.kind, at: row.at });
  }
  return live;
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
  const live = await liveBundles(db, environment);
  const targets: RollbackTargets = new Map();
  const services = new Set([...live.values()].flatMap((perHost) => [...perHost.keys()]));
  const found = await Promise.all(
    [...services].map(async (service) => {
      const current = newestLive(live, [service])!;
      // One indexed step back through ServiceSuccess (environment, service, at): no scan of history.
      const earlier = await db.serviceSuccess.findFirst({
        where: { environment, service, bundleKey: { not: current.bundleKey }, at: { lte: current.at } },
        orderBy: [{ at: "desc" }, { startedAt: "desc" }],
        select: { deployId: true, bundleKey: true, kind: true, at: true },
      });
      return [service, { current, previous: earlier ? { deployId: earlier.deployId, bundleKey: earlier.bundleKey, kind: earlier.kind, at: earlier.at } : null }] as const;
    }),
  );
  for (const [service, target] of found) targets.set(service, target);
  return { live, targets };
}

/** Who deployed each bundle key last, and when (for the bundles list). */
export async function deploysByBundle(db: Db, environment: string, keys: string[]) {
  // Sorted here, not in SQL: an ORDER BY lets SQLite walk the environment's whole (createdAt) index rather than (environment, bundleKey).
  const deploys = (
    await db.deploy.findMany({
      where: { environment, bundleKey: { in: keys } },
      select: { id: true, bundleKey: true, createdBy: true, createdAt: true, services: true, manifest: true, bundleSha256: true, bundleSize: true, kind: true },
    })
  ).sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || b.id.localeCompare(a.id));
  const byKey = new Map<string, (typeof deploys)[number]>();
  for (const deploy of deploys) if (!byKey.has(deploy.bundleKey)) byKey.set(deploy.bundleKey, deploy);
  return byKey;
}
