import "server-only";
import { describeAwsError } from "../aws/errors";
import { cachedPing } from "../aws/ping-cache";
import type { HostPing } from "../aws/ssm";
import { getDeploy, getDeployDetail, lastRunPerHost, listDeploys } from "../history/deploys";
import { toDeployView, toSummaryView, type DeployView, type EnvironmentView, type OverviewView } from "../deploy/views";
import { parseManifest } from "../bundle/manifest";
import { bundlesPage, liveView } from "../deploy/bundles";
import { diffAgainstLive } from "../deploy/redeploy";
import { isExpired } from "../lock/bucket-lock";
import { whoHoldsEnvironment } from "../lock/environment";
import type { EnvironmentLockView } from "../deploy/views";
import { getDeckhand, requireContext } from "./deckhand";

export async function loadOverview(): Promise<OverviewView> {
  const state = await getDeckhand();
  const recent = (await listDeploys(state.db, { limit: 20 })).map(toSummaryView);
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
      const [ping, last, lock] = await Promise.all([
        cachedPing(state.ctx!.aws(env.region).ssm, `${env.region}/${name}`, ids).then(
          (map) => ({ map, error: null as string | null }),
          (error) => ({ map: new Map<string, HostPing>(), error: describeAwsError(error, "asking SSM which hosts are online") }),
        ),
        lastRunPerHost(state.db, name, ids),
        lockRead,
      ]);
      const live = await liveView(state.ctx!, name);
      return {
        name,
        region: env.region,
        bucket: env.bucket,
        prefix: env.prefix,
        liveOutput: Boolean(env.output.cloudWatchLogGroup),
        s3Output: Boolean(env.output.s3Bucket),
        albUrl: env.albUrl ?? null,
        pingError: ping.error,
        live,
        ...lock,
        hosts: env.hosts.map((h) => {
          const run = last.get(h.instanceId);
          return { instanceId: h.instanceId, name: h.name, ping: ping.map.get(h.instanceId)?.pingStatus ?? (ping.error ? null : "Not registered"), last: run ? { ...run, at: run.at.toISOString() } : null };
        }),
      };
    }),
  );
  const services = Object.entries(config.services).map(([name, s]) => ({ name, paths: s.paths, replace: s.replace, compose: s.compose, static: s.static, build: s.build ? `${s.build.dir ? `(cd ${s.build.dir} && ` : ""}${s.build.command}${s.build.dir ? ")" : ""}` : null }));
  return { configFile: state.configFile, configError: null, environments, services, recent, sandbox };
}

export async function loadDeploy(id: string): Promise<DeployView | null> {
  const state = await getDeckhand();
  const deploy = await getDeployDetail(state.db, id);
  if (!deploy) return null;
  const view = toDeployView(deploy);
  if (deploy.status === "awaiting_confirmation" && deploy.manifest && state.ctx) {
    const manifest = parseManifest(deploy.manifest);
    view.pendingDiff = (await diffAgainstLive(state.ctx, deploy.environment, manifest.services, manifest.files, manifest.paths)).diff;
  }
  return view;
}

export async function loadHistory(limit = 200) {
  const state = await getDeckhand();
  return (await listDeploys(state.db, { limit })).map(toSummaryView);
}

export async function loadBundles(environment: string, page: number, refresh: boolean) {
  return bundlesPage(await requireContext(), environment, page, 50, refresh);
}
