import Link from "next/link";
import type { DeploySummaryView } from "@/lib/deploy/views";
import { ProductionBadge } from "./environment-picker";
import { StatusBadge } from "./status-badge";
import { Time } from "./time";

export function DeployList({ deploys }: { deploys: DeploySummaryView[] }) {
  if (deploys.length === 0) return <p className="text-sm text-slate-500">No deploys recorded yet.</p>;
  return (
    <table className="w-full overflow-hidden rounded-lg bg-white text-sm shadow-sm ring-1 ring-slate-200" data-testid="deploy-list">
      <thead className="bg-slate-100 text-left text-slate-600">
        <tr>
          <th className="px-3 py-2">When</th>
          <th className="px-3 py-2">Kind</th>
          <th className="px-3 py-2">Services</th>
          <th className="px-3 py-2">Bundle</th>
          <th className="px-3 py-2">Hosts</th>
          <th className="px-3 py-2">Status</th>
          <th className="px-3 py-2">By</th>
        </tr>
      </thead>
      <tbody>
        {deploys.map((deploy) => (
          <tr key={deploy.id} className="border-t border-slate-100 hover:bg-slate-50">
            <td className="px-3 py-2">
              <Link href={`/deploys/${deploy.id}`} className="text-sky-700 hover:underline" data-testid="deploy-link">
                <Time iso={deploy.createdAt} />
              </Link>
            </td>
            <td className="px-3 py-2">
              {deploy.kind} <ProductionBadge production={Boolean(deploy.production)} />
            </td>
            <td className="px-3 py-2">{deploy.services.join(", ")}</td>
            <td className="px-3 py-2 font-mono text-xs">
              {deploy.bundleKey.split("/").pop()}
              {deploy.version && <span className="ml-1 rounded bg-sky-100 px-1.5 py-0.5 font-sans text-sky-800">v{deploy.version}</span>}
            </td>
            <td className="px-3 py-2">
              <div className="flex flex-wrap gap-1">
                {deploy.hosts.map((host) => (
                  <span key={host.hostName} className="flex items-center gap-1 text-xs">
                    {host.hostName} <StatusBadge status={host.status} />
                  </span>
                ))}
              </div>
            </td>
            <td className="px-3 py-2">
              <StatusBadge status={deploy.status} />
            </td>
            <td className="px-3 py-2 text-xs text-slate-500">{deploy.createdBy}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
