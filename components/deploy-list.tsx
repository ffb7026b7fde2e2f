import Link from "next/link";
import type { DeploySummaryView } from "@/lib/deploy/views";
import { formatDuration } from "./format";
import { ProductionBadge } from "./environment-picker";
import { StatusBadge } from "./status-badge";
import { Time } from "./time";

const kindWord: Record<string, string> = { deploy: "deploy", rollback: "rollback", redeploy: "redeploy" };

export function DeployList({ deploys }: { deploys: DeploySummaryView[] }) {
  if (deploys.length === 0) return <p className="text-sm text-slate-700">No deploys recorded yet.</p>;
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
