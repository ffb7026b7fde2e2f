import Link from "next/link";
import type { DeploySummaryView, HistoryPageView, OutputMatchView } from "@/lib/deploy/views";
import { formatDuration } from "./format";
import { ProductionBadge } from "./environment-picker";
import { StatusBadge } from "./status-badge";
import { Time } from "./time";

const kindWord: Record<string, string> = { deploy: "deploy", rollback: "rollback", redeploy: "redeploy" };

/** Host output is untrusted text: the hits are marked with \u0002…\u0003 and rendered as text, never as HTML. */
function Snippet({ text }: { text: string }) {
  const parts = text.split(/([\u0002\u0003])/);
  let marked = false;
  return (
    <>
      {parts.map((part, i) => {
        if (part === "\u0002" || part === "\u0003") {
          marked = part === "\u0002";
          return null;
        }
        return marked ? (
          <mark key={i} className="rounded bg-amber-200 px-0.5 text-slate-900">
            {part}
          </mark>
        ) : (
          <span key={i}>{part}</span>
        );
      })}
    </>
  );
}

function Matches({ deployId, matches }: { deployId: string; matches: OutputMatchView[] }) {
  return (
    <ul className="mt-1 space-y-1" data-testid="output-matches">
      {matches.map((match) => (
        <li key={match.hostRunId} className="text-xs" data-testid="output-match">
          <Link href={`/deploys/${deployId}`} className="font-medium text-sky-800 underline-offset-2 hover:underline">
            {match.hostName}
            {match.attempt > 1 ? ` (attempt ${match.attempt})` : ""}
          </Link>
          : <code className="break-all whitespace-pre-wrap text-slate-800">{<Snippet text={match.snippet} />}</code>
        </li>
      ))}
    </ul>
  );
}

const field = "rounded-md border border-slate-300 bg-white px-2 py-1 text-sm";

/** A plain GET form: the filters become the URL, so the result can be linked and reloaded. */
export function HistoryFilters({ filters, options }: { filters: Record<string, string>; options: HistoryPageView["options"] }) {
  const select = (name: string, label: string, values: string[]) => (
    <label className="flex flex-col gap-1 text-xs text-slate-700">
      {label}
      <select name={name} defaultValue={filters[name] ?? ""} className={field} data-testid={`filter-${name}`}>
        <option value="">any</option>
        {values.map((value) => (
          <option key={value} value={value}>
            {value.replace(/_/g, " ")}
          </option>
        ))}
      </select>
    </label>
  );
  return (
    <form method="get" action="/history" className="flex flex-wrap items-end gap-3 rounded-lg bg-white p-3 shadow-sm ring-1 ring-slate-200" data-testid="history-filters">
      <label className="flex min-w-64 flex-1 flex-col gap-1 text-xs text-slate-700">
        Search output
        <input type="search" name="q" defaultValue={filters.q ?? ""} maxLength={200} placeholder="words printed on a host, e.g. error refused" className={field} data-testid="filter-q" />
      </label>
      {select("environment", "Environment", options.environments)}
      {select("service", "Service", options.services)}
      {select("status", "Status", options.statuses)}
      {select("kind", "Kind", options.kinds)}
      <label className="flex flex-col gap-1 text-xs text-slate-700">
        Who
        <input type="text" name="who" defaultValue={filters.who ?? ""} maxLength={200} placeholder="user@host" className={`${field} w-36`} data-testid="filter-who" />
      </label>
      <label className="flex flex-col gap-1 text-xs text-slate-700">
        From
        <input type="date" name="from" defaultValue={filters.from ?? ""} className={field} data-testid="filter-from" />
      </label>
      <label className="flex flex-col gap-1 text-xs text-slate-700">
        To
        <input type="date" name="to" defaultValue={filters.to ?? ""} className={field} data-testid="filter-to" />
      </label>
      <button type="submit" className="rounded-md bg-sky-700 px-3 py-1.5 text-sm font-medium text-white hover:bg-sky-800" data-testid="filter-apply">
        Filter
      </button>
      <Link href="/history" className="text-sm text-sky-800 underline-offset-2 hover:underline">
        Clear
      </Link>
    </form>
  );
}

export function HistoryPager({ filters, next, previous }: { filters: Record<string, string>; next: string | null; previous: string | null }) {
  const href = (cursor: Record<string, string>) => `/history?${new URLSearchParams({ ...filters, ...cursor }).toString()}`;
  if (!next && !previous) return null;
  return (
    <nav aria-label="History pages" className="flex gap-3 text-sm">
      {previous ? (
        <Link href={href({ before: previous })} className="rounded-md px-3 py-1.5 text-sky-800 ring-1 ring-slate-300 hover:bg-slate-50" data-testid="history-previous">
          ← Previous
        </Link>
      ) : null}
      {next ? (
        <Link href={href({ after: next })} className="rounded-md px-3 py-1.5 text-sky-800 ring-1 ring-slate-300 hover:bg-slate-50" data-testid="history-next">
          Next →
        </Link>
      ) : null}
    </nav>
  );
}

export function DeployList({ deploys, matches, filtered }: { deploys: DeploySummaryView[]; matches?: Record<string, OutputMatchView[]>; filtered?: boolean }) {
  if (deploys.length === 0) return <p className="text-sm text-slate-700" data-testid="deploy-list-empty">{filtered ? "No deploy matches these filters." : "No deploys recorded yet."}</p>;
  return (
    <table className="cards w-full overflow-hidden rounded-lg bg-white text-sm shadow-sm ring-1 ring-slate-200" data-testid="deploy-list">
      <thead className="bg-slate-100 text-left text-slate-700">
        <tr>
          <th className="px-3 py-2">When</th>
          <th className="px-3 py-2">Kind</th>
          <th className="px-3 py-2">Services</th>
          <th className="px-3 py-2">Bundle</th>
          <th className="px-3 py-2">Hosts</th>
          <th className="px-3 py-2">Status</th>
          <th className="px-3 py-2">Took</th>
          <th className="px-3 py-2">By</th>
        </tr>
      </thead>
      <tbody>
        {deploys.map((deploy) => (
          <tr key={deploy.id} className="border-t border-slate-100 hover:bg-slate-50" data-testid="deploy-row">
            <td data-label="When" className="px-3 py-2">
              <Link
                href={`/deploys/${deploy.id}`}
                className="relative inline-block text-sky-800 underline-offset-2 hover:underline"
                data-testid="deploy-link"
              >
                <span className="sr-only">{`${kindWord[deploy.kind] ?? deploy.kind} of ${deploy.services.join(", ")}, `}</span>
                <Time iso={deploy.createdAt} />
              </Link>
            </td>
            <td data-label="Kind" className="px-3 py-2">
              {deploy.kind} <ProductionBadge production={Boolean(deploy.production)} />
            </td>
            <td data-label="Services" className="px-3 py-2">
              {deploy.services.join(", ")}
              {matches?.[deploy.id] ? <Matches deployId={deploy.id} matches={matches[deploy.id]!} /> : null}
            </td>
            <td data-label="Bundle" className="px-3 py-2 font-mono text-xs break-all">
              {deploy.bundleKey.split("/").pop()}
              {deploy.version && <span className="ml-1 rounded bg-sky-100 px-1.5 py-0.5 font-sans text-sky-900">v{deploy.version}</span>}
            </td>
            <td data-label="Hosts" className="px-3 py-2">
              <div className="flex flex-wrap gap-1">
                {deploy.hosts.length === 0 && <span className="text-xs text-slate-700">none reached</span>}
                {deploy.hosts.map((host) => (
                  <span key={host.hostName} className="flex items-center gap-1 text-xs">
                    {host.hostName} <StatusBadge status={host.status} />
                  </span>
                ))}
              </div>
            </td>
            <td data-label="Status" className="px-3 py-2">
              <StatusBadge status={deploy.status} />
            </td>
            <td data-label="Took" className="px-3 py-2 whitespace-nowrap" data-testid="deploy-duration">
              {deploy.finishedAt ? formatDuration((Date.parse(deploy.finishedAt) - Date.parse(deploy.createdAt)) / 1000, true) : <span className="text-slate-700">still going</span>}
            </td>
            <td data-label="By" className="px-3 py-2 text-xs text-slate-700">
              {deploy.createdBy}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
