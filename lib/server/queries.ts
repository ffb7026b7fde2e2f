import "server-only";
import { readLiveFromHosts } from "../deploy/read-hosts";
import { makeElbClient } from "../aws/clients";
import { targetHealth, type TargetHealth } from "../aws/elb";
import { listCheckRuns } from "../history/checks";
import { deploySummaryText } from "../deploy/summary";
import { isActiveStatus } from "../deploy/status";
import { describeAwsError } from "../aws/errors";
import { cachedPing } from "../aws/ping-cache";
import type { HostPing } from "../aws/ssm";
import { getDeploy, lastRunPerHost } from "../history/deploys";
import { listDeploys } from "../history/list";
import { getDeployDetailPaged, OUTPUT_PAGE } from "../history/output-pages";
import { toCheckRunView, toDeployView, toSummaryView, type DeployView, type EnvironmentView, type OverviewView } from "../deploy/views";
import { suggestNextVersion } from "../bundle/git";
import { parseManifest } from "../bundle/manifest";
import { bundlesPage, liveView } from "../deploy/bundles";
import { diffAgainstLive } from "../deploy/redeploy";
import { isExpired } from "../lock/bucket-lock";
import { whoHoldsEnvironment } from "../lock/environment";
import type { EnvironmentLockView } from "../deploy/views";
import { getDeckhand, requireContext } from "./deckhand";
import { activeDeploys, deployHeadline } from "../deploy/active";
import { liveBundles, newestLive } from "../history/live";
import { listDeploys as listDeployPage } from "../history/list";
import { DEPLOY_KINDS, DEPLOY_STATUSES } from "../deploy/status";
import { parseHistoryQuery } from "./query-params";
import type { HistoryPageView } from "../deploy/views";

/** Production environments are marked on every deploy shown, from the config (history does not record it). */
function markProduction<T extends { environment: string; production?: boolean }>(views: T[], ctx: { config: { environments: Record<string, { production: boolean }> } } | null | undefined): T[] {
  for (const view of views) view.production = Boolean(ctx?.config.environments[view.environment]?.production);
  return views;
}

export async function loadOverview(): Promise<OverviewView> {
  const state = await getDeckhand();
  const [recent, active] = await Promise.all([listDeploys(state.db, { limit: 20 }).then(({ deploys }) => markProduction(deploys.map(toSummaryView), state.ctx)), activeDeploys(state.db)]);
  const sandbox = Boolean(process.env.DECKHAND_SANDBOX_CONTROL_URL);
  if (!state.ctx) return { configFile: state.configFile, configError: state.configError, environments: [], services: [], recent, sandbox };
  const { config } = state.ctx;
  const environments: EnvironmentView[] = await Promise.all(
    Object.entries(config.environments).map(async ([name, env]) => {
      const ids = env.hosts.map((h) => h.instanceId);
      const lockRead = whoHoldsEnvironment(state.ctx!, name).then(
        async (held) => ({
          lock: held
            ? ({ ...held.record, expired: isExpired(held.record), unreadable: held.unreadable, local: Boolean(await getDeploy(state.db, held.record.deployId).catch(() => null)) } satisfies EnvironmentLockView)
            : null,
          lockError: null as string | null,
        }),
        (error) => ({ lock: null, lockError: describeAwsError(error, "reading the environment's bucket lock") }),
      );
      const targets = env.targetGroupArn
        ? cachedTargets(env.region, env.targetGroupArn).then(
            (list) => ({ list, error: null as string | null }),
            (error) => ({ list: [] as TargetHealth[], error: describeAwsError(error, "asking the load balancer for target health") }),
          )
        : Promise.resolve({ list: [] as TargetHealth[], error: null as string | null });
      const [ping, last, lock, target] = await Promise.all([
        cachedPing(state.ctx!.aws(env.region).ssm, `${env.region}/${name}`, ids).then(
          (map) => ({ map, error: null as string | null }),
          (error) => ({ map: new Map<string, HostPing>(), error: describeAwsError(error, "asking SSM which hosts are online") }),
        ),
        lastRunPerHost(state.db, name, ids),
        lockRead,
        targets,
      ]);
      const [live, versions] = await Promise.all([liveView(state.ctx!, name), suggestNextVersion(config.repo, env.versionSuffix)]);
      return {
        name,
        production: env.production,
        profile: env.profile,
        branch: env.branch ?? null,
        suggestedVersion: versions.next,
        latestVersionTag: versions.latest,
        region: env.region,
        bucket: env.bucket,
        prefix: env.prefix,
        liveOutput: Boolean(env.output.cloudWatchLogGroup),
        s3Output: Boolean(env.output.s3Bucket),
        albUrl: env.albUrl ?? null,
        pingError: ping.error,
        live,
        activeDeploy: active.find((d) => d.environment === name) ?? null,
        ...lock,
        hosts: env.hosts.map((h) => {
          const run = last.get(h.instanceId);
          const info = ping.map.get(h.instanceId);
          const health = target.list.find((t) => t.instanceId === h.instanceId);
          return {
            instanceId: h.instanceId,
            name: h.name,
            ping: info?.pingStatus ?? (ping.error ? null : "Not registered"),
            agentVersion: info?.agentVersion ?? null,
            lastPing: info?.lastPingAt ? new Date(info.lastPingAt).toISOString() : null,
            target: env.targetGroupArn ? (health ? { state: health.state, reason: health.reason } : target.error ? null : { state: "not registered", reason: null }) : null,
            last: run ? { ...run, at: run.at.toISOString() } : null,
          };
        }),
      };
    }),
  );
  const services = Object.entries(config.services).map(([name, s]) => ({ name, paths: s.paths, replace: s.replace, compose: s.compose, static: s.static, build: s.build ? `${s.build.dir ? `(cd ${s.build.dir} && ` : ""}${s.build.command}${s.build.dir ? ")" : ""}` : null }));
  return { configFile: state.configFile, configError: null, environments, services, recent, sandbox };
}

/** The deploy page's view: each host run with its newest `liveLimit` output chunks (older ones: /api/deploys/[id]/output). */
export async function loadDeploy(id: string, { liveLimit = OUTPUT_PAGE }: { liveLimit?: number } = {}): Promise<DeployView | null> {
  const state = await getDeckhand();
  const deploy = await getDeployDetailPaged(state.db, id, liveLimit);
  if (!deploy) return null;
  const view = markProduction([toDeployView(deploy)], state.ctx)[0]!;
  const environment = state.ctx?.config.environments[deploy.environment];
  if (environment) {
    view.executionTimeoutSeconds = environment.executionTimeoutSeconds;
    view.liveOutput = Boolean(environment.output.cloudWatchLogGroup);
    // Where "Roll back" goes after a stop: what history says is live for each service, if not this bundle.
    const live = await liveBundles(state.db, deploy.environment);
    view.rollbackTo = view.services.flatMap((service) => {
      const now = newestLive(live, [service]);
      return now && now.bundleKey !== deploy.bundleKey ? [{ service, bundleKey: now.bundleKey }] : [];
    });
  }
  view.checkRuns = (await listCheckRuns(state.db, id)).map(toCheckRunView);
  view.summaryText = isActiveStatus(deploy.status) ? null : await deploySummaryText(state.db, id);
  const latest = view.checkRuns.at(-1);
  if (environment && latest && !latest.ok) {
    const failing = (checkName: string) => latest.checks.find((c) => c.name === checkName && !c.ok);
    view.offeredActions = Object.entries(environment.actions).flatMap(([name, action]) => {
      const relevant = action.offerWhenFailing.length ? action.offerWhenFailing.map(failing).filter((c) => c !== undefined) : latest.checks.filter((c) => !c.ok);
      const forHosts = [...new Set(relevant.flatMap((c) => c!.failingHosts))].flatMap((host) => environment.hosts.filter((h) => h.instanceId === host || h.name === host).map((h) => h.instanceId));
      return relevant.length ? [{ name, description: action.description ?? null, hosts: action.hosts, forHosts }] : [];
    });
  }
  if (deploy.status === "awaiting_confirmation" && deploy.manifest && state.ctx) {
    const manifest = parseManifest(deploy.manifest);
    view.pendingDiff = (await diffAgainstLive(state.ctx, deploy.environment, manifest.services, manifest.files, manifest.paths)).diff;
  }
  return view;
}

export async function loadHistory(limit = 200) {
  const state = await getDeckhand();
  return markProduction((await listDeploys(state.db, { limit })).deploys.map(toSummaryView), state.ctx);
}

/** One page of the history page: filters from the URL (validated; a bad one is a message, not a 500). */
export async function loadHistoryPage(searchParams: Record<string, string | string[] | undefined>, limit = 50): Promise<HistoryPageView> {
  const state = await getDeckhand();
  const config = state.ctx?.config;
  const options = { environments: Object.keys(config?.environments ?? {}), services: Object.keys(config?.services ?? {}), statuses: [...DEPLOY_STATUSES], kinds: [...DEPLOY_KINDS] };
  const typed = Object.fromEntries(Object.entries(searchParams).flatMap(([k, v]) => (typeof v === "string" && k !== "after" && k !== "before" && k !== "per" ? [[k, v.slice(0, 200)]] : [])));
  const parsed = parseHistoryQuery(searchParams);
  if (!parsed.ok) return { error: parsed.error, filters: typed, pager: {}, deploys: [], matches: {}, next: null, previous: null, options };
  const page = await listDeployPage(state.db, { filters: parsed.value.filters, cursor: parsed.value.cursor, limit: parsed.value.limit ?? limit });
  const filters = Object.fromEntries(Object.entries(parsed.value.filters).filter(([, v]) => v !== undefined)) as Record<string, string>;
  return {
    error: null,
    // The page size rides along in the pager's links (not a filter: the list says "matches these filters" without it).
    pager: parsed.value.limit ? { per: String(parsed.value.limit) } : {},
    filters,
    deploys: markProduction(page.deploys.map(toSummaryView), state.ctx),
    matches: Object.fromEntries(page.matches),
    next: page.next,
    previous: page.previous,
    options,
  };
}

export async function loadBundles(environment: string, page: number, refresh: boolean) {
  return bundlesPage(await requireContext(), environment, page, 50, refresh);
}

/** Unfinished deploys of every environment (the banner on every page). */
export async function loadActiveDeploys() {
  return activeDeploys((await getDeckhand()).db);
}

/** A deploy's kind, services and environment (page titles, not-found), or null when there is none. */
export async function loadDeployHeadline(id: string) {
  const row = await deployHeadline((await getDeckhand()).db, id);
  return row ? { ...row, services: JSON.parse(row.services) as string[] } : null;
}

// Target health is read for the dashboard like the SSM ping: one call per target group per 10 s, whoever asks.
const targetCache: Map<string, { at: number; answer: Promise<TargetHealth[]> }> = ((globalThis as { __deckhandTargets?: Map<string, { at: number; answer: Promise<TargetHealth[]> }> }).__deckhandTargets ??= new Map());
function cachedTargets(region: string, arn: string): Promise<TargetHealth[]> {
  const hit = targetCache.get(arn);
  if (hit && Date.now() - hit.at < 10_000) return hit.answer;
  const answer = targetHealth(makeElbClient(region), arn);
  targetCache.set(arn, { at: Date.now(), answer });
  answer.catch(() => targetCache.delete(arn));
  return answer;
}

/** "Read from hosts" for the live matrix. */
export async function loadHostReadings(environment: string) {
  return readLiveFromHosts(await requireContext(), environment);
}
