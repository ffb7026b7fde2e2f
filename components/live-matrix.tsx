"use client";

import Link from "next/link";
import { useState } from "react";
import type { EnvironmentView, ServiceView } from "@/lib/deploy/views";
import { bundleFileName } from "./format";
import { HostReadings } from "./host-readings";
import { RedeployDialog, type RedeployTarget } from "./redeploy-dialog";
import { exactUtc, Time } from "./time";

/** What runs where, per host and service (from history), and the one-click rollback per service. */
export function LiveMatrix({ environment, services }: { environment: EnvironmentView; services: ServiceView[] }) {
  const [target, setTarget] = useState<RedeployTarget | null>(null);
  const rollbackFor = new Map(environment.live.rollback.map((r) => [r.service, r]));
  const busy = environment.activeDeploy ?? null;

  return (
    <div className="rounded-lg bg-white shadow-sm ring-1 ring-slate-200" data-testid={`live-matrix-${environment.name}`}>
      <h2 className="px-3 pt-3 font-semibold">What is live</h2>
      <table className="cards mt-2 w-full text-sm">
        <thead className="bg-slate-100 text-left text-slate-700">
          <tr>
            <th className="px-3 py-2">Host</th>
            {services.map((service) => (
              <th key={service.name} className="px-3 py-2">
                {service.name}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {environment.hosts.map((host) => (
            <tr key={host.instanceId} className="border-t border-slate-100">
              <td data-label="Host" className="px-3 py-2 font-medium">
                {host.name}
              </td>
              {services.map((service) => {
                const cell = environment.live.hosts[host.instanceId]?.[service.name] ?? null;
                return (
                  <td key={service.name} data-label={service.name} className="px-3 py-2 font-mono text-xs break-all" data-testid={`live-cell-${host.instanceId}-${service.name}`}>
                    {cell ? (
                      <Link href={`/deploys/${cell.deployId}`} className="text-sky-800 hover:underline" title={`${cell.bundleKey}\n${cell.kind} · ${exactUtc(cell.at)}`}>
                        {bundleFileName(cell.bundleKey)}
                        {cell.kind !== "deploy" && <span className="ml-1 rounded bg-violet-100 px-1 font-sans text-violet-900">{cell.kind}</span>}
                      </Link>
                    ) : (
                      <span className="font-sans text-slate-700" title="Deckhand's history has no successful deploy of this service to this host">
                        unknown
                      </span>
                    )}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
        <tfoot>
          <tr className="border-t border-slate-200 bg-slate-50">
            <td className="px-3 py-2 text-xs font-medium text-slate-700">Go back</td>
            {services.map((service) => {
              const rollback = rollbackFor.get(service.name);
              const previous = rollback?.previous ?? null;
              const forward = rollback?.direction === "forward";
              const verb = forward ? "Roll forward" : "Roll back";
              const why = busy
                ? `A ${busy.kind} is running in ${environment.name}: wait for it to end.`
                : !rollback
                  ? "Nothing of this service is live yet, so there is nothing to roll back."
                  : !previous
                    ? "History holds no earlier bundle of this service to go back to."
                    : null;
              return (
                <td key={service.name} data-label={service.name} className="px-3 py-2 align-top">
                  {/* A disabled button swallows hover events, so the tooltip lives on a wrapper. */}
                  <span title={why ?? `${previous!.bundleKey}\nlive since ${exactUtc(previous!.at)}`} className="inline-block max-w-full">
                    <button
                      type="button"
                      disabled={!previous || Boolean(busy)}
                      data-testid={`rollback-${service.name}`}
                      data-direction={rollback?.direction ?? "back"}
                      onClick={() =>
                        previous &&
                        setTarget({
                          environment: environment.name,
                          production: environment.production,
                          bundleKey: previous.bundleKey,
                          // Going forward to a newer bundle is a redeploy, not a rollback of anything.
                          kind: forward ? "redeploy" : "rollback",
                          forward,
                          initialServices: [service.name],
                          choices: [service.name],
                        })
                      }
                      className="max-w-full rounded-md border border-sky-400 px-2 py-1 text-left text-xs font-medium break-all text-sky-900 hover:bg-sky-50 disabled:cursor-not-allowed disabled:border-slate-300 disabled:text-slate-700 disabled:hover:bg-transparent"
                    >
                      {previous ? (
                        <>
                          {verb} {service.name} to <span className="font-mono">{bundleFileName(previous.bundleKey)}</span>
                        </>
                      ) : (
                        `Roll back ${service.name}`
                      )}
                    </button>
                  </span>
                  {previous && (
                    <p className="mt-0.5 text-[11px] text-slate-700">
                      was live <Time iso={previous.at} />
                    </p>
                  )}
                  {why && previous && <p className="mt-0.5 text-[11px] text-slate-700">{why}</p>}
                </td>
              );
            })}
          </tr>
        </tfoot>
      </table>
      <HostReadings environment={environment.name} services={services.map((s) => s.name)} />
      {target && <RedeployDialog target={target} onClose={() => setTarget(null)} />}
    </div>
  );
}
