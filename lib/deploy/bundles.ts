import { headBundle } from "../aws/s3";
import { listBundleObjects, readLifecycle, type BundleObject } from "../bundle/catalog";
import { layoutFromKey } from "../bundle/layout";
import { environmentOf } from "../config/load";
import { isStaticService } from "./plan";
import { liveAndRollbackTargets, liveBundles, type LiveBundle } from "../history/live";
import { parseBundleKey } from "../bundle/naming";
import type { Db } from "../history/db";
import type { DeployContext } from "./context";
import type { BundleDeployRef, BundleRowView, BundlesPageView, LiveCellView, LiveView } from "./views";

const cell = (b: LiveBundle): LiveCellView => ({ bundleKey: b.bundleKey, deployId: b.deployId, kind: b.kind, at: b.at.toISOString() });

/** What history says is live on each host, per service, and where each service would roll back to. */
export async function liveView(ctx: DeployContext, environmentName: string): Promise<LiveView> {
  const environment = environmentOf(ctx.config, environmentName);
  const { live, targets } = await liveAndRollbackTargets(ctx.db, environmentName);
  const services = Object.keys(ctx.config.services);
  const hosts = Object.fromEntries(
    environment.hosts.map((host) => [host.instanceId, Object.fromEntries(services.map((s) => [s, live.get(host.instanceId)?.get(s) ? cell(live.get(host.instanceId)!.get(s)!) : null]))]),
  );
  const keys = [...targets.values()].flatMap((t) => [t.current.bundleKey, ...(t.previous ? [t.previous.bundleKey] : [])]);
  const madeAt = await bundleMadeAt(ctx.db, environmentName, ctx.config.bundleNamePrefix, keys);
  const rollback = services.flatMap((service) => {
    const target = targets.get(service);
    if (!target) return [];
    const previous = target.previous;
    // After a rollback the bundle live before it is newer than the one live now: going there is forward.
    const direction: "back" | "forward" = previous && (madeAt.get(previous.bundleKey) ?? 0) > (madeAt.get(target.current.bundleKey) ?? 0) ? "forward" : "back";
    return [{ service, current: cell(target.current), previous: previous ? cell(previous) : null, direction }];
  });
  return { hosts, rollback };
}

/** When each bundle was made: the stamp in its key, else its first recorded deploy. */
async function bundleMadeAt(db: Db, environment: string, namePrefix: string, keys: string[]): Promise<Map<string, number>> {
  const made = new Map<string, number>();
  const unnamed: string[] = [];
  for (const key of new Set(keys)) {
    const parsed = parseBundleKey(key, namePrefix);
    if (parsed) made.set(key, parsed.stamp * 1000);
    else unnamed.push(key);
  }
  if (unnamed.length) {
    // Sorted here, not in SQL: an ORDER BY lets SQLite walk the environment's whole (createdAt) index rather than (environment, bundleKey).
    const first = (await db.deploy.findMany({ where: { environment, bundleKey: { in: unnamed } }, select: { bundleKey: true, createdAt: true } })).sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
    for (const deploy of first) if (!made.has(deploy.bundleKey)) made.set(deploy.bundleKey, deploy.createdAt.getTime());
  }
  return made;
}

/** Every recorded deploy of these bundle keys, oldest first, with whether it reached a host. */
async function deployHistoryOf(db: Db, environment: string, keys: string[]) {
  // Sorted here, not in SQL: an ORDER BY lets SQLite walk the environment's whole (createdAt) index rather than (environment, bundleKey).
  const deploys = (
    await db.deploy.findMany({
      where: { environment, bundleKey: { in: keys } },
      select: { id: true, bundleKey: true, kind: true, status: true, services: true, manifest: true, createdBy: true, createdAt: true, _count: { select: { hostRuns: true } } },
    })
  ).sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a.id.localeCompare(b.id));
  const byKey = new Map<string, typeof deploys>();
  for (const deploy of deploys) byKey.set(deploy.bundleKey, [...(byKey.get(deploy.bundleKey) ?? []), deploy]);
  return byKey;
}

type RecordedDeploy = NonNullable<Awaited<ReturnType<typeof deployHistoryOf>> extends Map<string, infer V> ? V : never>[number];

function deployRef(deploy: RecordedDeploy): BundleDeployRef {
  return {
    id: deploy.id,
    kind: deploy.kind,
    status: deploy.status,
    services: safeServices(deploy.services),
    createdBy: deploy.createdBy,
    createdAt: deploy.createdAt.toISOString(),
    sent: deploy._count.hostRuns > 0,
  };
}

function safeServices(json: string): string[] {
  try {
    const value = JSON.parse(json) as unknown;
    return Array.isArray(value) ? value.filter((s): s is string => typeof s === "string") : [];
  } catch {
    return [];
  }
}

/** The services a bundle carries by the manifest Deckhand stored when it made it (not by what one later deploy picked). */
function manifestServices(deploys: RecordedDeploy[]): string[] | null {
  for (const deploy of deploys) {
    if (!deploy.manifest) continue;
    try {
      const services = (JSON.parse(deploy.manifest) as { services?: unknown }).services;
      if (Array.isArray(services)) return services.filter((s): s is string => typeof s === "string");
    } catch {
      // an unreadable stored manifest: fall through to the next deploy
    }
  }
  return null;
}

// A short-lived cache of the full listing keeps paging through thousands of keys instant.
const listingCache: Map<string, { at: number; objects: BundleObject[] }> = ((globalThis as { __deckhandListing?: Map<string, { at: number; objects: BundleObject[] }> }).__deckhandListing ??= new Map());
const LISTING_TTL_MS = 5_000;

async function cachedListing(ctx: DeployContext, environmentName: string, refresh: boolean) {
  const environment = environmentOf(ctx.config, environmentName);
  const cacheKey = `${environment.region}/${environment.bucket}/${environment.prefix}`;
  const cached = listingCache.get(cacheKey);
  if (!refresh && cached && Date.now() - cached.at < LISTING_TTL_MS) return cached.objects;
  const objects = await listBundleObjects(ctx.aws(environment.region).s3, environment.bucket, environment.prefix, ctx.config.bundleNamePrefix);
  listingCache.set(cacheKey, { at: Date.now(), objects });
  return objects;
}

/** One page of the S3 listing, newest first, joined with history and object metadata. */
export async function bundlesPage(ctx: DeployContext, environmentName: string, page = 1, pageSize = 50, refresh = false): Promise<BundlesPageView> {
  const environment = environmentOf(ctx.config, environmentName);
  const s3 = ctx.aws(environment.region).s3;
  const [objects, lifecycle] = await Promise.all([cachedListing(ctx, environmentName, refresh), readLifecycle(s3, environment.bucket, environment.prefix)]);
  const pageCount = Math.max(1, Math.ceil(objects.length / pageSize));
  const current = Math.min(Math.max(1, page), pageCount);
  const slice = objects.slice((current - 1) * pageSize, current * pageSize);

  const [history, live] = await Promise.all([deployHistoryOf(ctx.db, environmentName, slice.map((o) => o.key)), liveBundles(ctx.db, environmentName)]);
  const hostName = new Map(environment.hosts.map((h) => [h.instanceId, h.name]));
  const configured = new Set(Object.keys(ctx.config.services));
  const staticServices = Object.entries(ctx.config.services).filter(([, s]) => isStaticService(s)).map(([name]) => name);

  const rows: BundleRowView[] = await Promise.all(
    slice.map(async (object) => {
      const recorded = history.get(object.key) ?? [];
      const deploy = recorded.at(-1);
      let services: string[] = [];
      let servicesFrom: BundleRowView["servicesFrom"] = "unknown";
      let outsideDeckhand = !deploy;
      const fromManifest = manifestServices(recorded);
      if (fromManifest) {
        services = fromManifest;
        servicesFrom = "history";
      } else {
        // Only the rows on screen are asked about, so a page costs at most pageSize HEADs.
        const metadata = await headBundle(s3, environment.bucket, object.key).then((h) => h.Metadata ?? {}, () => ({}) as Record<string, string>);
        if (metadata.services) {
          services = metadata.services.split(",").filter(Boolean);
          servicesFrom = "metadata";
          outsideDeckhand = !metadata["deckhand-deploy"];
        } else if (object.label && configured.has(object.label)) {
          services = [object.label];
          servicesFrom = "key name";
        }
      }
      const liveOn = [...live.entries()].flatMap(([instanceId, perService]) => {
        const running = [...perService.entries()].filter(([, bundle]) => bundle.bundleKey === object.key).map(([service]) => service);
        return running.length ? [{ instanceId, hostName: hostName.get(instanceId) ?? instanceId, services: running }] : [];
      });
      const expiryDays = lifecycle.expirationDays ?? environment.retentionDays;
      const fromKey = layoutFromKey(object.key, ctx.config.bundleNamePrefix, staticServices);
      // Deckhand's own uploads carry repo-relative paths whatever their label; a hand-made bundle it deployed keeps the layout it was deployed with.
      const recordedLayout = deploy?.manifest ? (JSON.parse(deploy.manifest) as { layout?: { kind: string } }).layout?.kind : undefined;
      const layout: BundleRowView["layout"] = recordedLayout === "static" ? "static" : fromKey.layout === "systemd" ? "systemd" : !outsideDeckhand || deploy ? "repo" : fromKey.layout;
      return {
        key: object.key,
        fileName: object.key.slice(object.key.lastIndexOf("/") + 1),
        size: object.size,
        lastModified: object.lastModified.toISOString(),
        expiresAt: new Date(object.lastModified.getTime() + expiryDays * 86_400_000).toISOString(),
        services,
        servicesFrom,
        outsideDeckhand,
        deployedBy: deploy?.createdBy ?? null,
        deployedAt: deploy?.createdAt.toISOString() ?? null,
        deployId: deploy?.id ?? null,
        liveOn,
        firstDeploy: recorded.length ? deployRef(recorded[0]) : null,
        lastDeploy: recorded.length > 1 ? deployRef(recorded[recorded.length - 1]) : null,
        deployCount: recorded.length,
        neverSent: recorded.length > 0 && recorded.every((d) => d._count.hostRuns === 0),
        layout,
        version: fromKey.version,
      };
    }),
  );

  let lifecycleWarning: string | null = null;
  if (lifecycle.unreadable) lifecycleWarning = `The bucket's lifecycle rules could not be read (${lifecycle.unreadable}); expiry dates assume the configured ${environment.retentionDays} days.`;
  else if (lifecycle.expirationDays === null) lifecycleWarning = `No lifecycle rule expires objects under ${environment.prefix} in ${environment.bucket}: bundles are kept forever (and billed). The configured retention is ${environment.retentionDays} days.`;

  return {
    environment: environmentName,
    bucket: environment.bucket,
    prefix: environment.prefix,
    retentionDays: environment.retentionDays,
    lifecycle,
    lifecycleWarning,
    total: objects.length,
    page: current,
    pageSize,
    rows,
  };
}
