"use client";

import { useQueryClient } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { useState, useTransition } from "react";
import { rerunChecksAction, runRunbookAction } from "@/app/actions";
import type { CheckRunView, DeployView } from "@/lib/deploy/views";
import { withToken } from "./panel-token";

/** The deploy's verification: each smoke check, what each host really has, ALB targets; re-run and fixes. */
export function ChecksPanel({ deploy }: { deploy: DeployView }) {
  const runs = deploy.checkRuns ?? [];
  const latest = runs.at(-1);
  const router = useRouter();
  const queryClient = useQueryClient();
  const [error, setError] = useState<string | null>(null);
  const [pending, startTransition] = useTransition();
  const hostName = (id: string) => deploy.hostRuns.find((r) => r.instanceId === id)?.hostName ?? id;
  if (!latest && deploy.status !== "verifying") return null;

  const rerun = () =>
    startTransition(async () => {
      const result = await rerunChecksAction(withToken({ deployId: deploy.id }));
      setError(result.ok ? null : result.error);
      await queryClient.invalidateQueries({ queryKey: ["deploy", deploy.id] });
    });
  const runAction = (action: string, instanceId?: string) =>
    startTransition(async () => {
      const result = await runRunbookAction(withToken({ environment: deploy.environment, action, instanceId }));
      if (result.ok) router.push(`/deploys/${result.data.deployId}`);
      else setError(result.error);
    });

  return (
    <section aria-labelledby="checks-heading" className="space-y-3 rounded-lg bg-white p-4 shadow-sm ring-1 ring-slate-200" data-testid="checks">
      <div className="flex flex-wrap items-center justify-between gap-2">
        <h2 id="checks-heading" className="text-lg font-semibold">
          Checks{" "}
          <span className="text-sm font-normal text-slate-700" data-testid="checks-state">
            {deploy.status === "verifying" ? "— running…" : latest?.ok ? "— all passed" : "— failed"}
          </span>
        </h2>
        {(deploy.status === "succeeded" || deploy.status === "checks_failed") && (
          <button type="button" onClick={rerun} disabled={pending} className="rounded-md border border-slate-300 px-3 py-1.5 text-sm font-semibold hover:bg-slate-50 disabled:opacity-50">
            {pending ? "Running…" : `Run the checks of ${deploy.services.join(", ")} again`}
          </button>
        )}
      </div>
      {latest && <CheckList run={latest} hostName={hostName} />}
      {(deploy.offeredActions ?? []).map((action) =>
        action.hosts === "all" ? (
          <button key={action.name} type="button" disabled={pending} onClick={() => runAction(action.name)} className="mr-2 rounded-md bg-amber-700 px-3 py-1.5 text-sm font-semibold text-white hover:bg-amber-800 disabled:opacity-50">
            Run {action.name} on every host
          </button>
        ) : (
          action.forHosts.map((instanceId) => (
            <button key={`${action.name}-${instanceId}`} type="button" disabled={pending} onClick={() => runAction(action.name, instanceId)} data-testid={`action-${action.name}-${instanceId}`} className="mr-2 rounded-md bg-amber-700 px-3 py-1.5 text-sm font-semibold text-white hover:bg-amber-800 disabled:opacity-50">
              Run {action.name} on {hostName(instanceId)}
              {action.description ? <span className="sr-only"> ({action.description})</span> : null}
            </button>
          ))
        ),
      )}
      {error && (
        <p role="alert" className="text-sm text-red-800">
          {error}
        </p>
      )}
      {runs.length > 1 && <p className="text-xs text-slate-700">{runs.length} runs of the checks; the latest is shown.</p>}
      {deploy.summaryText && (
        <details className="text-sm">
          <summary className="cursor-pointer font-medium">Notification summary (to copy)</summary>
          <pre className="mt-2 whitespace-pre-wrap rounded bg-slate-100 p-2 font-mono text-xs text-slate-900" data-testid="summary-text">
            {deploy.summaryText}
          </pre>
          <button type="button" onClick={() => void navigator.clipboard?.writeText(deploy.summaryText ?? "")} className="mt-1 rounded border border-slate-300 px-2 py-1 text-xs">
            Copy the summary
          </button>
        </details>
      )}
    </section>
  );
}

function CheckList({ run, hostName }: { run: CheckRunView; hostName: (id: string) => string }) {
  return (
    <div className="space-y-2 text-sm">
      <ul className="space-y-1" data-testid="check-list">
        {run.checks.map((check) => (
          <li key={check.name} className="break-words">
            <span className={check.ok ? "font-semibold text-emerald-800" : "font-semibold text-red-800"}>{check.ok ? "✓ passed" : check.skipped ? "– not run" : "✗ failed"}</span> {check.name}
            {check.problem && <span className="text-slate-800"> — {check.problem}</span>}
            {check.failingHosts.length > 0 && <span className="text-slate-800"> (on {check.failingHosts.map(hostName).join(", ")})</span>}
          </li>
        ))}
      </ul>
      <ul className="space-y-1" data-testid="host-truth">
        {run.hosts.map((host) => {
          const wrong = run.wrongHosts.find((w) => w.instanceId === host.instanceId);
          return (
            <li key={host.instanceId} className="break-words">
              <span className={wrong ? "font-semibold text-red-800" : "font-semibold text-emerald-800"}>{wrong ? `✗ ${host.name} serves another bundle` : `✓ ${host.name}`}</span>
              {host.problem ? ` — could not be read: ${host.problem}` : host.summary.length ? ` — ${host.summary.join("; ")}` : ""}
            </li>
          );
        })}
      </ul>
      {run.targets && (
        <p data-testid="targets">
          ALB targets: {run.targets.map((t) => `${hostName(t.instanceId)} ${t.state}${t.reason ? ` (${t.reason})` : ""}`).join(", ")}
        </p>
      )}
    </div>
  );
}
