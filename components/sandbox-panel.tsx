"use client";

import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useOptimistic, useState, useTransition } from "react";
import { setSandboxFaultAction } from "@/app/actions";
import { SANDBOX_FAULTS } from "@/lib/sandbox/faults";
import { withToken } from "./panel-token";
import { fetchJson } from "./fetch-json";

interface SandboxHostState {
  instanceId: string;
  name: string;
  faults: string[];
  albHealthy?: boolean;
}


/** Fault injection for the local sandbox: rehearse every failure mode of the runbooks. */
export function SandboxPanel() {
  const queryClient = useQueryClient();
  const state = useQuery({ queryKey: ["sandbox"], queryFn: () => fetchJson<{ hosts: SandboxHostState[] }>("/api/sandbox"), refetchInterval: 3000 });
  const [error, setError] = useState<string | null>(null);
  const [pending, startTransition] = useTransition();
  // The checkbox flips at once; the sandbox's answer (or a refetch) settles it.
  const [optimistic, setOptimistic] = useOptimistic(state.data?.hosts ?? [], (hosts, change: { instanceId: string; fault: string; on: boolean }) =>
    hosts.map((h) => (h.instanceId !== change.instanceId ? h : { ...h, faults: change.on ? [...h.faults, change.fault] : h.faults.filter((f) => f !== change.fault) })),
  );

  const toggle = (instanceId: string, fault: string, on: boolean) =>
    startTransition(async () => {
      setOptimistic({ instanceId, fault, on });
      const result = await setSandboxFaultAction(withToken({ instanceId, fault, on }));
      setError(result.ok ? null : result.error);
      await queryClient.invalidateQueries({ queryKey: ["sandbox"] });
    });

  return (
    <section className="rounded-lg border border-dashed border-violet-300 bg-violet-50/50 p-4" data-testid="sandbox-panel">
      <h2 className="font-semibold">Sandbox fault injection</h2>
      <p className="mb-3 text-sm text-slate-600">Deckhand is running against its local sandbox. Break a host to rehearse the runbooks&apos; failure modes.</p>
      {state.isError && <p className="text-sm text-red-700">{state.error.message}</p>}
      <div className="grid gap-3 md:grid-cols-2">
        {optimistic.map((host) => (
          <div key={host.instanceId} className="rounded-md bg-white p-3 ring-1 ring-slate-200">
            <p className="mb-2 text-sm font-medium">
              {host.name} <span className="font-mono text-xs text-slate-500">{host.instanceId}</span>
              {host.albHealthy !== undefined && <span className={`ml-2 text-xs ${host.albHealthy ? "text-emerald-700" : "text-red-700"}`}>{host.albHealthy ? "in ALB rotation" : "out of ALB rotation"}</span>}
            </p>
            <div className="flex flex-wrap gap-2">
              {SANDBOX_FAULTS.map((fault) => {
                const on = host.faults.includes(fault.name);
                return (
                  <label key={fault.name} title={fault.help} className={`flex items-center gap-1 rounded border px-2 py-1 text-xs ${on ? "border-red-400 bg-red-50 text-red-800" : "border-slate-200"}`}>
                    <input type="checkbox" aria-label={`${fault.name} on ${host.name}`} checked={on} disabled={pending} onChange={(e) => toggle(host.instanceId, fault.name, e.target.checked)} />
                    {fault.name}
                  </label>
                );
              })}
            </div>
          </div>
        ))}
      </div>
      {error && <p role="alert" className="mt-2 text-sm text-red-700">{error}</p>}
    </section>
  );
}
