"use client";

import { keepPreviousData, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useState } from "react";
import type { BundleDeployRef, BundleRowView, BundlesPageView, OverviewView } from "@/lib/deploy/views";
import { ErrorBox } from "./dashboard";
import { fetchJson } from "./fetch-json";
import { formatAge, formatBytes } from "./format";
import { BundleLayoutBadges } from "./bundle-layout";
import { EnvironmentPicker, ProductionBadge, useEnvironmentChoice } from "./environment-picker";
import { RedeployDialog, type RedeployTarget } from "./redeploy-dialog";
import { StatusBadge } from "./status-badge";
import { exactUtc, Time } from "./time";

const DAY_MS = 86_400_000;

const bundlesUrl = (environment: string, page: number, refresh = false) =>
  `/api/bundles?environment=${encodeURIComponent(environment)}&page=${page}${refresh ? "&refresh=1" : ""}`;

/** The bundles in S3 for one environment, page by page, each one deployable again. */
export function BundlesBrowser() {
  const overview = useQuery({ queryKey: ["overview"], queryFn: () => fetchJson<OverviewView>("/api/overview") });
  const [picked, setPicked] = useEnvironmentChoice(overview.data?.environments ?? []);

  if (overview.isPending)
    return (
      <p role="status" className="text-slate-700">
        Loading…
      </p>
    );
  if (overview.isError) return <ErrorBox title="Deckhand cannot load its overview" message={overview.error.message} />;
  if (overview.data.configError) return <ErrorBox title="Configuration problem" message={overview.data.configError} />;
  const environments = overview.data.environments.map((e) => e.name);
  if (environments.length === 0) return <p className="text-slate-700">No environments configured.</p>;
  const environment = picked && environments.includes(picked) ? picked : environments[0]!;
  const production = overview.data.environments.find((e) => e.name === environment)?.production ?? false;

  return (
    <div className="space-y-4">
      <div className="flex flex-wrap items-center gap-4">
        <h1 className="text-2xl font-semibold">Bundles</h1>
        <EnvironmentPicker environments={overview.data.environments} value={environment} onChange={setPicked} testId="bundles-environment" />
        <ProductionBadge production={production} />
      </div>
      {/* keyed by environment so paging starts over on page 1 when it changes */}
      <EnvironmentBundles key={environment} environment={environment} production={production} allServices={overview.data.services.map((s) => s.name)} hostCount={overview.data.environments.find((e) => e.name === environment)?.hosts.length ?? 0} />
    </div>
  );
}

function EnvironmentBundles({ environment, production, allServices, hostCount }: { environment: string; production: boolean; allServices: string[]; hostCount: number }) {
  const queryClient = useQueryClient();
  const [page, setPage] = useState(1);
  const [refreshing, setRefreshing] = useState(false);
  const [refreshError, setRefreshError] = useState<string | null>(null);
  const [target, setTarget] = useState<RedeployTarget | null>(null);
  const queryKey = ["bundles", environment, page];
  const bundles = useQuery({ queryKey, queryFn: () => fetchJson<BundlesPageView>(bundlesUrl(environment, page)), placeholderData: keepPreviousData });

  // The server caches the S3 listing for a few seconds; Refresh asks it to list again now.
  const refresh = async () => {
    setRefreshing(true);
    setRefreshError(null);
    try {
      queryClient.setQueryData(queryKey, await fetchJson<BundlesPageView>(bundlesUrl(environment, page, true)));
    } catch (error) {
      setRefreshError((error as Error).message);
    } finally {
      setRefreshing(false);
    }
  };

  // Every service the bundle carries is offered; ticked are those not already live from it on every host.
  const deployRow = (row: BundleRowView) => {
    const known = row.servicesFrom !== "unknown" && row.services.length > 0;
    const liveEverywhere = (service: string) => hostCount > 0 && row.liveOn.filter((h) => h.services.includes(service)).length >= hostCount;
    const behind = row.services.filter((service) => !liveEverywhere(service));
    setTarget({ environment, production, bundleKey: row.key, kind: "redeploy", initialServices: known ? (behind.length ? behind : row.services) : [], choices: known ? row.services : allServices, needsLayout: row.layout === "unknown" });
  };

  if (bundles.isPending)
    return (
      <p role="status" className="text-slate-700">
        Listing bundles…
      </p>
    );
  if (bundles.isError) return <ErrorBox title={`Cannot list the bundles of ${environment}`} message={bundles.error.message} />;
  const data = bundles.data;
  const pageCount = Math.max(1, Math.ceil(data.total / data.pageSize));

  return (
    <div className="space-y-3">
      <p className="text-sm break-all text-slate-700">
        s3://{data.bucket}/{data.prefix} · kept {data.lifecycle.expirationDays ?? data.retentionDays} days
        {data.lifecycle.ruleId ? ` (lifecycle rule ${data.lifecycle.ruleId})` : ""}
      </p>
      {data.lifecycleWarning && (
        <div role="status" className="rounded-lg border border-amber-300 bg-amber-50 p-3 text-sm text-amber-900" data-testid="lifecycle-warning">
          {data.lifecycleWarning}
        </div>
      )}
      <div className="flex flex-wrap items-center gap-3 text-sm">
        <button type="button" disabled={data.page <= 1 || bundles.isFetching} onClick={() => setPage(data.page - 1)} className={pagerButton}>
          ← Prev<span className="sr-only"> page of bundles</span>
        </button>
        <span data-testid="bundles-pager" className="text-slate-700">
          page {data.page} of {pageCount} · {data.total} {data.total === 1 ? "bundle" : "bundles"}
        </span>
        <button type="button" disabled={data.page >= pageCount || bundles.isFetching} onClick={() => setPage(data.page + 1)} className={pagerButton} >
          Next<span className="sr-only"> page of bundles</span> →
        </button>
        <button type="button" disabled={refreshing} onClick={refresh} className={`${pagerButton} ml-auto`} data-testid="bundles-refresh">
          {refreshing ? "Refreshing…" : "Refresh"}
        </button>
      </div>
      {refreshError && <ErrorBox title="Refresh failed" message={refreshError} />}
      {data.rows.length === 0 ? (
        <p className="rounded-lg bg-white p-4 text-sm break-all text-slate-700 ring-1 ring-slate-200">No bundles under s3://{data.bucket}/{data.prefix} yet.</p>
      ) : (
        <BundlesTable rows={data.rows} onDeploy={deployRow} />
      )}
      {target && <RedeployDialog target={target} onClose={() => setTarget(null)} />}
    </div>
  );
}

const pagerButton = "rounded-md border border-slate-300 bg-white px-3 py-1 font-medium text-slate-800 hover:bg-slate-50 disabled:cursor-not-allowed disabled:opacity-50";

function DeployRef({ deploy, testId }: { deploy: BundleDeployRef; testId: string }) {
  return (
    <span className="block" data-testid={testId}>
      <Link href={`/deploys/${deploy.id}`} className="text-sky-800 hover:underline">
        {deploy.kind} of {deploy.services.join(", ")}
      </Link>{" "}
      <StatusBadge status={deploy.status} />
      <span className="block text-xs text-slate-700">
        {deploy.createdBy} · <Time iso={deploy.createdAt} />
      </span>
    </span>
  );
}

export function BundlesTable({ rows, onDeploy }: { rows: BundleRowView[]; onDeploy: (row: BundleRowView) => void }) {
  const now = Date.now();
  return (
    <table className="cards w-full overflow-hidden rounded-lg bg-white text-sm shadow-sm ring-1 ring-slate-200" data-testid="bundles-table">
      <thead className="bg-slate-100 text-left text-slate-700">
        <tr>
          <th className="px-3 py-2">Bundle</th>
          <th className="px-3 py-2">Size</th>
          <th className="px-3 py-2">Age</th>
          <th className="px-3 py-2">Services</th>
          <th className="px-3 py-2">First deploy</th>
          <th className="px-3 py-2">Last deploy</th>
          <th className="px-3 py-2">Live on</th>
          <th className="px-3 py-2">Expires</th>
          <th className="px-3 py-2">
            <span className="sr-only">Actions</span>
          </th>
        </tr>
      </thead>
      <tbody>
        {rows.map((row) => {
          const expiresSoon = new Date(row.expiresAt).getTime() - now < DAY_MS;
          return (
            <tr key={row.key} className="border-t border-slate-100 align-top hover:bg-slate-50" data-testid="bundle-row" data-bundle-key={row.key}>
              <td data-label="Bundle" className="px-3 py-2 font-mono text-xs break-all" title={row.key}>
                {row.fileName}
                <BundleLayoutBadges layout={row.layout} version={row.version} />
              </td>
              <td data-label="Size" className="px-3 py-2 whitespace-nowrap">
                {formatBytes(row.size)}
              </td>
              <td data-label="Age" className="px-3 py-2 whitespace-nowrap" title={exactUtc(row.lastModified)} suppressHydrationWarning>
                {formatAge(row.lastModified, now)}
              </td>
              <td data-label="Services" className="px-3 py-2" data-testid="bundle-services">
                {row.services.length > 0 ? row.services.join(", ") : <span className="text-slate-700">unknown</span>}
                {row.servicesFrom === "key name" && (
                  <span className="ml-1 text-xs text-slate-700" title="Guessed from the file name: the bundle has no metadata and no deploy of it is recorded">
                    (from key name)
                  </span>
                )}
                {row.servicesFrom === "metadata" && <span className="ml-1 text-xs text-slate-700">(from its metadata)</span>}
                {row.outsideDeckhand && (
                  <span className="ml-1 inline-block rounded bg-amber-100 px-1.5 py-0.5 text-xs text-amber-900" data-testid="outside-deckhand">
                    uploaded outside Deckhand
                  </span>
                )}
              </td>
              <td data-label="First deploy" className="px-3 py-2">
                {row.firstDeploy ? <DeployRef deploy={row.firstDeploy} testId="bundle-first-deploy" /> : <span className="text-slate-700">never deployed</span>}
                {row.neverSent && (
                  <span className="mt-1 inline-block rounded bg-slate-200 px-1.5 py-0.5 text-xs font-medium text-slate-900" data-testid="bundle-never-sent">
                    uploaded, never sent
                  </span>
                )}
              </td>
              <td data-label="Last deploy" className="px-3 py-2">
                {row.lastDeploy ? (
                  <>
                    <DeployRef deploy={row.lastDeploy} testId="bundle-last-deploy" />
                    {(row.deployCount ?? 0) > 2 && <span className="text-xs text-slate-700">{row.deployCount} deploys in all</span>}
                  </>
                ) : (
                  <span className="text-slate-700">{row.firstDeploy ? "only the first" : "—"}</span>
                )}
              </td>
              <td data-label="Live on" className="px-3 py-2" data-testid="bundle-live-on">
                {row.liveOn.length === 0 ? (
                  <span className="text-slate-700">nowhere</span>
                ) : (
                  <ul>
                    {[...row.liveOn].sort((a, b) => a.hostName.localeCompare(b.hostName)).map((host) => (
                      <li key={host.instanceId} title={host.instanceId}>
                        {host.hostName} <span className="text-xs text-slate-700">({[...host.services].sort().join(", ")})</span>
                      </li>
                    ))}
                  </ul>
                )}
              </td>
              <td data-label="Expires" className={`px-3 py-2 whitespace-nowrap ${expiresSoon ? "font-semibold text-red-800" : ""}`} title={exactUtc(row.expiresAt)} suppressHydrationWarning>
                {new Date(row.expiresAt).toLocaleDateString()}
                {expiresSoon && <span className="ml-1 rounded bg-red-100 px-1 text-xs">&lt; 1 day</span>}
              </td>
              <td className="px-3 py-2 text-right">
                <button type="button" onClick={() => onDeploy(row)} className="rounded-md bg-sky-700 px-3 py-1 text-xs font-semibold text-white shadow-sm hover:bg-sky-800" data-testid="deploy-bundle">
                  Deploy this bundle<span className="sr-only"> ({row.fileName})</span>
                </button>
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
