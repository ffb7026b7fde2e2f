"use client";

import { useQuery } from "@tanstack/react-query";
import { useEffect } from "react";
import { preDeployChecklistAction } from "@/app/actions";
import { itemsNeedingReason, mayGoAhead } from "@/lib/deploy/checklist-rule";
import { withToken } from "./panel-token";

/**
 * seeds/003's checklist before Deploy: each item in words. When one is not green the operator can
 * still go ahead, but only with a typed reason (sent with the deploy and recorded in its history).
 */
export function PreDeployChecklist({ environment, services, reason, onReason, onReady }: { environment: string; services: string[]; reason: string; onReason: (reason: string) => void; onReady: (ready: boolean) => void }) {
  const checklist = useQuery({
    queryKey: ["checklist", environment, [...services].sort()],
    queryFn: async () => {
      const result = await preDeployChecklistAction(withToken({ environment, services }));
      if (!result.ok) throw new Error(result.error);
      return result.data;
    },
    enabled: services.length > 0,
    staleTime: 5_000,
    // What it says changes as deploys end and checks run: read it again while the form is open.
    refetchInterval: 5_000,
  });
  const items = checklist.data ?? [];
  const notGreen = itemsNeedingReason(items);
  // The server applies the same rule to its own fresh checklist when Deploy is pressed.
  const ready = !checklist.isPending && mayGoAhead(items, reason);
  useEffect(() => onReady(ready), [ready, onReady]);
  if (services.length === 0) return null;
  return (
    <div className="mt-4 rounded-md border border-slate-300 p-3 text-sm" data-testid="pre-deploy-checklist">
      <p className="font-medium">Before you deploy</p>
      {checklist.isPending && <p className="text-slate-700">Checking…</p>}
      {checklist.isError && <p role="alert" className="text-red-800">The checklist could not be read: {checklist.error.message}</p>}
      <ul className="mt-1 space-y-0.5">
        {items.map((item) => (
          <li key={item.name} className="break-words">
            <span className={item.ok ? "font-semibold text-emerald-800" : "font-semibold text-amber-800"}>{item.ok ? "✓ ok" : item.needsReason ? "! not ok" : "note:"}</span> {item.name} — <span className="text-slate-800">{item.detail}</span>
          </li>
        ))}
      </ul>
      {notGreen.length > 0 && (
        <label className="mt-2 block">
          <span className="text-slate-800">Not all green: why go ahead anyway? (recorded with the deploy)</span>
          <input value={reason} onChange={(e) => onReason(e.target.value)} maxLength={500} className="mt-1 block w-full rounded border border-slate-400 px-2 py-1" data-testid="go-ahead-reason" />
        </label>
      )}
    </div>
  );
}
