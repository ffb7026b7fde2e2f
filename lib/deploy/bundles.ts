import { headBundle } from "../aws/s3";
import { listBundleObjects, readLifecycle, type BundleObject } from "../bundle/catalog";
import { layoutFromKey } from "../bundle/layout";
import { environmentOf } from "../config/load";
import { isStaticService } from "./plan";
import { deploysByBundle, liveAndRollbackTargets, liveBundles, type LiveBundle } from "../history/live";
import type { DeployContext } from "./context";
import type { BundleRowView, BundlesPageView, LiveCellView, LiveView } from "./views";

const cell = (b: LiveBundle): LiveCellView => ({ bundleKey: b.bundleKey, deployId: b.deployId, kind: b.kind, at: b.at.toISOString() });

/** What history says is live on each host, per service, and where each service would roll back to. */
export async function liveView(ctx: DeployContext, environmentName: string): Promise<LiveView> {
  const environment = environmentOf(ctx.config, environmentName);
  const { live, targets } = await liveAndRollbackTargets(ctx.db, environmentName);
  const services = Object.keys(ctx.config.services);
  const hosts = Object.fromEntries(
    environment.hosts.map((host) => [host.instanceId, Object.fromEntries(services.map((s) => [s, live.get(host.instanceId)?.get(s) ? cell(live.get(host.instanceId)!.get(s)!) : null]))]),
  );
  const rollback = services.flatMap((service) => {
    const target = targets.get(service);
    return target ? [{ service, current: cell(target.current), previous: target.previous ? cell(target.previous) : null }] : [];
  });
  return { hosts, rollback };
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

  const [known, live] = await Promise.all([deploysByBundle(ctx.db, environmentName, slice.map((o) => o.key)), liveBundles(ctx.db, environmentName)]);
  const hostName = new Map(environment.hosts.map((h) => [h.instanceId, h.name]));
  const configured = new Set(Object.keys(ctx.config.services));
  const staticServices = Object.entries(ctx.config.services).filter(([, s]) => isStaticService(s)).map(([name]) => name);

  const rows: BundleRowView[] = await Promise.all(
    slice.map(async (object) => {
      const deploy = known.get(object.key);
      let services: string[] = [];
      let servicesFrom: BundleRowView["servicesFrom"] = "unknown";
      let outsideDeckhand = !deploy;
      if (deploy) {
        services = JSON.parse(deploy.services) as string[];
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
      const recorded = deploy?.manifest ? (JSON.parse(deploy.manifest) as { layout?: { kind: string } }).layout?.kind : undefined;
      const layout: BundleRowView["layout"] = recorded === "static" ? "static" : fromKey.layout === "systemd" ? "systemd" : !outsideDeckhand || deploy ? "repo" : fromKey.layout;
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
