"use client";

import { useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useEffect, useState, useTransition } from "react";
import { cancelDeployAction, confirmDeployAction, resumeWatchingAction, retryFailedHostsAction } from "@/app/actions";
import { mergeDeployViews } from "@/lib/deploy/live-merge";
import { hostLines, stepsOf, summarizeHost, whatIsLive } from "@/lib/deploy/output";
import { deployPhases, secondsBetween, type PhaseView } from "@/lib/deploy/timeline";
import { ChecksPanel } from "./checks-panel";
import { useDeployStream } from "./deploy-stream";
import { withToken } from "./panel-token";
import type { DeployEventView, DeployView, HostRunView } from "@/lib/deploy/views";
import { ErrorBox } from "./dashboard";
import { Dialog } from "./dialog";
import { fetchJson } from "./fetch-json";
import { FileDiff } from "./file-diff";
import { bundleFileName, formatBytes, formatDuration } from "./format";
import { HostPanel, HostSummaryLine } from "./host-output";
import { RedeployDialog, type RedeployTarget } from "./redeploy-dialog";
import { StatusBadge, statusLabel } from "./status-badge";
import { Elapsed, Time, useNow } from "./time";
import { ProductionBadge } from "./environment-picker";

/**
 * One deploy, live while it runs and the same page for review later. Changes and output are pushed
 * over an event stream (deploy-stream.ts); the page polls every second only while that stream is down.
 */
export function DeployViewPage({ id }: { id: string }) {
  const queryClient = useQueryClient();
  const [active, setActive] = useState(false);
  const stream = useDeployStream(id, active);
  const streaming = stream === "live";
  const query = useQuery({
    queryKey: ["deploy", id],
    // A fetched snapshot is merged, not swapped in: lines pushed after it was taken stay.
    queryFn: async () => mergeDeployViews(queryClient.getQueryData<DeployView>(["deploy", id]), await fetchJson<DeployView>(`/api/deploys/${encodeURIComponent(id)}`)),
    // Re-evaluated after every fetch and every render: a retry makes a finished deploy active again.
    refetchInterval: (q) => (q.state.data && !q.state.data.active ? false : streaming ? false : 1000),
    retry: (count, error) => !/No such deploy/.test(error.message) && count < 3,
  });
  const nowActive = Boolean(query.data?.active);
  useEffect(() => setActive(nowActive), [nowActive]);
  if (query.isPending)
    return (
      <p role="status" className="text-slate-700">
        Loading deploy…
      </p>
    );
  if (query.isError) return <ErrorBox title={`Deploy ${id}`} message={query.error.message} />;
  return (
    <>
      {query.data.active && stream === "polling" && (
        <p className="text-xs text-slate-700" role="status" data-testid="live-fallback">
          Live updates interrupted: refreshing every second while reconnecting.
        </p>
      )}
      <DeployDetail deploy={query.data} />
    </>
  );
}

const kindTitle: Record<string, string> = { deploy: "Deploy", rollback: "Rollback", redeploy: "Redeploy" };
/** Host statuses after which the host may be half-way: the page explains what is live. */
const STOPPED_HOST = new Set(["Cancelled", "Cancelling", "TimedOut", "Failed", "Terminated"]);

function DeployDetail({ deploy }: { deploy: DeployView }) {
  const [target, setTarget] = useState<RedeployTarget | null>(null);
  const latestAttempt = new Map<string, HostRunView>();
  for (const run of deploy.hostRuns) latestAttempt.set(run.instanceId, run);
  const current = [...latestAttempt.values()];
  const earlier = deploy.hostRuns.filter((run) => latestAttempt.get(run.instanceId) !== run);
  const title = `${kindTitle[deploy.kind] ?? deploy.kind} of ${deploy.services.join(", ")} to ${deploy.environment}`;
  const stoppedHosts = current.filter((run) => STOPPED_HOST.has(run.status) && run.status !== "Failed");
  const explain = deploy.status === "cancelled" || deploy.status === "lost_contact" || stoppedHosts.length > 0;

  return (
    <div className="min-w-0 space-y-6" data-testid="deploy-view" data-deploy-status={deploy.status}>
      <p className="sr-only" aria-live="polite" data-testid="deploy-announcer">
        {`${title}: ${statusLabel(deploy.status)}. ${current.map((run) => `${run.hostName}: ${statusLabel(run.status)}.`).join(" ")}`}
      </p>
      <header className="space-y-2">
        <div className="flex flex-wrap items-center gap-3">
          <h1 className="min-w-0 text-2xl font-semibold break-words">{title}</h1>
          <ProductionBadge production={Boolean(deploy.production)} />
          <StatusBadge status={deploy.status} testId="deploy-status" />
          <span className="text-sm text-slate-700" data-testid="deploy-elapsed">
            {deploy.active ? (
              <>
                elapsed <Elapsed from={deploy.createdAt} to={null} clock />
              </>
            ) : deploy.finishedAt ? (
              <>
                took <Elapsed from={deploy.createdAt} to={deploy.finishedAt} />
              </>
            ) : null}
          </span>
          <DeployActions deploy={deploy} />
        </div>
        {deploy.kind !== "deploy" && (
          <p className="text-sm text-slate-800" data-testid="deploy-kind">
            <span className="rounded bg-violet-100 px-1.5 py-0.5 text-xs font-medium text-violet-900">{deploy.kind}</span>{" "}
            {deploy.revertsDeployId ? (
              <>
                {deploy.kind} of{" "}
                <Link href={`/deploys/${deploy.revertsDeployId}`} className="font-mono text-xs break-all text-sky-800 hover:underline" data-testid="reverts-link">
                  {deploy.revertsDeployId}
                </Link>
              </>
            ) : (
              "of a bundle already in S3 (nothing was built or uploaded)"
            )}
          </p>
        )}
        <dl className="grid grid-cols-[max-content_minmax(0,1fr)] gap-x-4 gap-y-0.5 text-sm text-slate-800">
          <dt className="text-slate-700">Id</dt>
          <dd className="font-mono text-xs break-all">{deploy.id}</dd>
          <dt className="text-slate-700">Bundle</dt>
          <dd className="font-mono text-xs break-all" data-testid="bundle-key">
            s3://{deploy.bundleBucket}/{deploy.bundleKey}
            {deploy.bundleSize !== null && ` · ${formatBytes(deploy.bundleSize)}`}
          </dd>
          <dt className="text-slate-700">sha256</dt>
          <dd className="font-mono text-xs break-all">{deploy.bundleSha256 ?? "—"}</dd>
          <dt className="text-slate-700">Source</dt>
          <dd className="font-mono text-xs break-all">{deploy.gitSha ?? "not a git repo"}</dd>
          <dt className="text-slate-700">By</dt>
          <dd>
            {deploy.createdBy} · <Time iso={deploy.createdAt} />
            {deploy.finishedAt && (
              <>
                {" "}→ <Time iso={deploy.finishedAt} />
              </>
            )}
          </dd>
          {deploy.commandId && (
            <>
              <dt className="text-slate-700">SSM command</dt>
              <dd className="font-mono text-xs break-all">
                {deploy.commandId} (attempt {deploy.attempt})
              </dd>
            </>
          )}
          {deploy.liveOutput === false && (
            <>
              <dt className="text-slate-700">Output</dt>
              <dd>this environment shows host output when each host ends (no CloudWatch Logs group configured)</dd>
            </>
          )}
        </dl>
      </header>

      <Stepper deploy={deploy} />
      {deploy.error && <ErrorBox title="The deploy stopped" message={deploy.error} />}
      {deploy.kind === "deploy" && <LocalProgress deploy={deploy} />}

      {deploy.status === "awaiting_confirmation" && (
        <p className="rounded-md bg-violet-50 p-3 text-sm text-violet-900 ring-1 ring-violet-200">The bundle is in S3. Read the script below, then send it to the hosts.</p>
      )}
      {deploy.pendingDiff && (
        <section className="rounded-lg bg-white p-3 shadow-sm ring-1 ring-slate-200">
          <h2 className="mb-1 text-sm font-medium">Files this bundle changes against what is live</h2>
          <FileDiff diff={deploy.pendingDiff} testId="pending-diff" />
        </section>
      )}
      <ScriptViewer script={deploy.script} open={deploy.status === "awaiting_confirmation"} />

      {current.length > 0 && (
        <section aria-labelledby="hosts-heading" className="space-y-3">
          <h2 id="hosts-heading" className="text-lg font-semibold">
            Hosts
          </h2>
          <ul className="space-y-1 rounded-lg bg-white p-3 text-sm shadow-sm ring-1 ring-slate-200" data-testid="host-summaries">
            {current.map((run) => (
              <HostSummaryLine key={run.id} run={run} />
            ))}
          </ul>
          {explain && <AfterStop deploy={deploy} runs={current} onAction={setTarget} />}
          <div className="grid min-w-0 gap-4 lg:grid-cols-2" data-testid="current-attempts">
            {current.map((run) => (
              <HostPanel key={run.id} run={run} deployId={deploy.id} executionTimeoutSeconds={deploy.executionTimeoutSeconds} />
            ))}
          </div>
        </section>
      )}
      {deploy.status === "cancelled" && current.length === 0 && (
        <p className="rounded-md bg-slate-100 p-3 text-sm text-slate-800" data-testid="after-stop">
          Cancelled before anything was sent: no host was touched, what was live still runs.
        </p>
      )}
      {earlier.length > 0 && (
        <details className="rounded-lg bg-white p-3 ring-1 ring-slate-200">
          <summary className="cursor-pointer text-sm font-medium">Earlier attempts ({earlier.length})</summary>
          <div className="mt-3 grid min-w-0 gap-4 lg:grid-cols-2">
            {earlier.map((run) => (
              <HostPanel key={run.id} run={run} deployId={deploy.id} executionTimeoutSeconds={null} />
            ))}
          </div>
        </details>
      )}
      {deploy.events
        .filter((e) => e.phase === "warning")
        .map((e) => (
          <p key={e.id} role="status" className="rounded-md border border-amber-300 bg-amber-50 p-2 text-sm text-amber-900" data-testid="deploy-warning">
            {e.message}
          </p>
        ))}
      <ChecksPanel deploy={deploy} />
      <EventLog events={deploy.events} />
      {target && <RedeployDialog target={target} onClose={() => setTarget(null)} />}
    </div>
  );
}

/** After a cancel or a timeout: per host, the last step reached and what that means for what is live. */
function AfterStop({ deploy, runs, onAction }: { deploy: DeployView; runs: HostRunView[]; onAction: (target: RedeployTarget) => void }) {
  const fileName = bundleFileName(deploy.bundleKey);
  const rollbackKeys = [...new Set(deploy.rollbackTo.map((r) => r.bundleKey))];
  return (
    <section className="space-y-2 rounded-lg border border-amber-300 bg-amber-50 p-3 text-sm text-amber-950" data-testid="after-stop" aria-labelledby="after-stop-heading">
      <h3 id="after-stop-heading" className="font-semibold">
        What is live now
      </h3>
      <ul className="space-y-1">
        {runs.map((run) => {
          const summary = summarizeHost(run);
          const steps = stepsOf(hostLines(run));
          const meaning = run.status === "Success" ? "Every step finished: this host runs the new bundle." : run.status === "Undeliverable" || run.responseCode === -1 ? "The command never started: nothing on the host changed." : whatIsLive(steps);
          return (
            <li key={run.id} data-testid={`after-stop-${run.instanceId}`}>
              <span className="font-semibold">{run.hostName}</span>: last step reached <strong>{summary.step?.name ?? "none"}</strong>. {meaning}
            </li>
          );
        })}
      </ul>
      <div className="flex flex-wrap gap-2 pt-1">
        <button
          type="button"
          className="rounded-md bg-sky-700 px-3 py-1.5 text-sm font-semibold text-white hover:bg-sky-800"
          onClick={() => onAction({ environment: deploy.environment, bundleKey: deploy.bundleKey, kind: "redeploy", initialServices: deploy.services, choices: deploy.services })}
        >
          Redeploy {deploy.services.join(", ")} from {fileName}
        </button>
        {rollbackKeys.map((key) => {
          const services = deploy.rollbackTo.filter((r) => r.bundleKey === key).map((r) => r.service);
          return (
            <button
              key={key}
              type="button"
              className="rounded-md border border-sky-700 px-3 py-1.5 text-sm font-semibold text-sky-900 hover:bg-sky-100"
              onClick={() => onAction({ environment: deploy.environment, bundleKey: key, kind: "rollback", initialServices: services, choices: services })}
            >
              Roll back {services.join(", ")} to {bundleFileName(key)}
            </button>
          );
        })}
      </div>
    </section>
  );
}

const STATE_MARK: Record<PhaseView["state"], string> = { done: "✓", running: "⏵", skipped: "–", failed: "✕", stopped: "■", pending: "○" };
const STATE_CLASS: Record<PhaseView["state"], string> = {
  done: "bg-emerald-50 text-emerald-900 ring-emerald-300",
  running: "bg-sky-100 text-sky-950 ring-sky-400",
  skipped: "bg-slate-100 text-slate-800 ring-slate-300 border-dashed",
  failed: "bg-red-50 text-red-900 ring-red-300",
  stopped: "bg-amber-50 text-amber-950 ring-amber-300",
  pending: "bg-white text-slate-800 ring-slate-300",
};

/** The phases this deploy really has, each with its state in words and its duration. */
function Stepper({ deploy }: { deploy: DeployView }) {
  const now = useNow(deploy.active);
  const phases = deployPhases(deploy);
  return (
    <nav aria-label="Deploy phases">
      <ol className="flex flex-wrap gap-2 text-sm" data-testid="stepper">
        {phases.map((phase) => {
          const seconds = secondsBetween(phase.startedAt, phase.endedAt, now);
          return (
            <li
              key={phase.key}
              data-testid={`phase-${phase.key}`}
              data-state={phase.state}
              aria-current={phase.state === "running" ? "step" : undefined}
              className={`flex items-center gap-1.5 rounded-full px-3 py-1 ring-1 ring-inset ${STATE_CLASS[phase.state]}`}
            >
              <span aria-hidden="true">{STATE_MARK[phase.state]}</span>
              <span className="font-medium">{phase.label}</span>
              <span>· {phase.stateText}</span>
              {seconds !== null && (phase.state === "done" || phase.state === "running" || phase.state === "failed" || phase.state === "stopped") && <span className="tabular-nums">· {formatDuration(seconds, true)}</span>}
            </li>
          );
        })}
      </ol>
    </nav>
  );
}

function DeployActions({ deploy }: { deploy: DeployView }) {
  const queryClient = useQueryClient();
  const [error, setError] = useState<string | null>(null);
  const [confirmCancel, setConfirmCancel] = useState(false);
  const [pending, startTransition] = useTransition();
  const act = (action: (input: { deployId: string; scriptSha256: string }) => Promise<{ ok: true } | { ok: false; error: string }>, after?: () => void) =>
    startTransition(async () => {
      // Confirming sends the sha256 of the script shown here: the server refuses if it changed.
      const result = await action(withToken({ deployId: deploy.id, scriptSha256: deploy.scriptSha256 }));
      setError(result.ok ? null : result.error);
      after?.();
      await queryClient.invalidateQueries({ queryKey: ["deploy", deploy.id] });
    });
  const canCancel = ["queued", "building", "uploading", "awaiting_confirmation", "running", "lost_contact"].includes(deploy.status);
  const canRetry = ["failed", "partially_failed", "cancelled", "lost_contact"].includes(deploy.status) && deploy.commandId !== null;
  const what = `${deploy.kind} of ${deploy.services.join(", ")}`;
  const openHosts = deploy.hostRuns.filter((r) => r.finishedAt === null).map((r) => r.hostName);
  return (
    <div className="flex flex-wrap items-center gap-2">
      {deploy.status === "awaiting_confirmation" && (
        <button type="button" disabled={pending} onClick={() => act(confirmDeployAction)} className="rounded-md bg-sky-700 px-3 py-1.5 text-sm font-semibold text-white hover:bg-sky-800 disabled:bg-slate-300">
          Send to hosts
        </button>
      )}
      {deploy.status === "lost_contact" && (
        <button type="button" disabled={pending} onClick={() => act(resumeWatchingAction)} data-testid="resume-watching" className="rounded-md bg-sky-700 px-3 py-1.5 text-sm font-semibold text-white hover:bg-sky-800 disabled:bg-slate-300">
          {pending ? "Resuming…" : "Resume watching"}
        </button>
      )}
      {canRetry && (
        <button
          type="button"
          disabled={pending}
          onClick={() => act(retryFailedHostsAction)}
          data-testid="retry-failed-hosts"
          title="Send the same script again, only to the hosts that did not succeed"
          className="rounded-md bg-sky-700 px-3 py-1.5 text-sm font-semibold text-white hover:bg-sky-800 disabled:bg-slate-300"
        >
          {pending ? "Retrying…" : "Retry failed hosts"}
        </button>
      )}
      {canCancel && (
        <button
          type="button"
          disabled={pending}
          onClick={() => setConfirmCancel(true)}
          data-testid="cancel-deploy"
          className="rounded-md border border-red-400 px-3 py-1.5 text-sm font-semibold text-red-800 hover:bg-red-50 disabled:opacity-50"
        >
          Cancel<span className="sr-only"> the {what}</span>
        </button>
      )}
      {confirmCancel && (
        <Dialog title={`Cancel the ${what}?`} onClose={() => setConfirmCancel(false)} busy={pending} testId="cancel-dialog">
          <p className="text-sm text-slate-800">
            {deploy.status === "awaiting_confirmation"
              ? "Nothing has been sent yet: no host is touched. The bundle stays in S3."
              : `SSM stops the script on ${openHosts.join(", ") || "the hosts still running"} where it is. A host may be left half-way (files replaced, image built, container not recreated): this page will say, per host, what is live afterwards.`}
          </p>
          <div className="flex flex-wrap justify-end gap-2">
            <button type="button" data-autofocus onClick={() => setConfirmCancel(false)} disabled={pending} className="rounded-md border border-slate-300 px-3 py-1.5 text-sm font-medium text-slate-800 hover:bg-slate-50">
              Keep it running
            </button>
            <button
              type="button"
              disabled={pending}
              data-testid="confirm-cancel"
              onClick={() => act(cancelDeployAction, () => setConfirmCancel(false))}
              className="rounded-md bg-red-700 px-3 py-1.5 text-sm font-semibold text-white hover:bg-red-800 disabled:opacity-50"
            >
              {pending ? "Cancelling…" : `Cancel the ${what}`}
            </button>
          </div>
        </Dialog>
      )}
      {error && (
        <span role="alert" className="text-sm text-red-800">
          {error}
        </span>
      )}
    </div>
  );
}

/** Build output and pack → upload progress on the laptop side (a fresh deploy only). */
function LocalProgress({ deploy }: { deploy: DeployView }) {
  const buildLines = deploy.events.filter((e) => e.phase === "build");
  const uploads = deploy.events.filter((e) => e.phase === "upload" && e.bytes !== null);
  const lastUpload = uploads.at(-1);
  const packed = deploy.events.find((e) => e.phase === "pack");
  const uploaded = Boolean(deploy.bundleSha256);
  // While streaming, the compressed size is unknown: the uncompressed size is the upper bound.
  const fraction = uploaded ? 1 : lastUpload?.bytes && packed?.total ? Math.min(0.95, lastUpload.bytes / packed.total) : 0;
  const progressText = uploaded ? `done · ${formatBytes(deploy.bundleSize ?? 0)}` : lastUpload ? `${formatBytes(lastUpload.bytes ?? 0)} sent` : packed ? "starting" : deploy.active ? "not yet" : "not reached";

  return (
    <section className="space-y-3 rounded-lg bg-white p-4 shadow-sm ring-1 ring-slate-200">
      <div>
        <div className="mb-1 flex flex-wrap justify-between gap-2 text-xs text-slate-800">
          <span>Upload {packed ? `· ${packed.message}` : ""}</span>
          <span data-testid="upload-progress">{progressText}</span>
        </div>
        <div className="h-2 overflow-hidden rounded bg-slate-200" role="progressbar" aria-label="Upload" aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(fraction * 100)}>
          <div className="h-full bg-sky-600 transition-all" style={{ width: `${Math.round(fraction * 100)}%` }} />
        </div>
      </div>
      {buildLines.length > 0 && (
        <details open={deploy.status === "building"}>
          <summary className="cursor-pointer text-sm font-medium">Local build output ({buildLines.length} lines)</summary>
          <pre className="code-pane mt-2 max-h-64 overflow-auto rounded p-3 text-xs break-all whitespace-pre-wrap" tabIndex={0}>
            {buildLines.map((line) => line.message).join("\n")}
          </pre>
        </details>
      )}
    </section>
  );
}

function ScriptViewer({ script, open }: { script: string; open: boolean }) {
  if (!script) return null;
  return (
    <details open={open} className="rounded-lg bg-white p-3 shadow-sm ring-1 ring-slate-200">
      <summary className="cursor-pointer text-sm font-medium">Host script (exactly as sent through SSM)</summary>
      <pre className="code-pane mt-2 max-h-96 overflow-auto rounded p-3 font-mono text-xs break-all whitespace-pre-wrap" data-testid="host-script" tabIndex={0}>
        {script}
      </pre>
    </details>
  );
}

function EventLog({ events }: { events: DeployEventView[] }) {
  const shown = events.filter((e) => e.phase !== "build" && e.phase !== "upload");
  if (shown.length === 0) return null;
  return (
    <details className="rounded-lg bg-white p-3 shadow-sm ring-1 ring-slate-200">
      <summary className="cursor-pointer text-sm font-medium">Event log ({shown.length})</summary>
      <ul className="mt-2 space-y-0.5 font-mono text-xs break-words">
        {shown.map((event) => (
          <li key={event.id} className={event.phase === "error" || event.phase === "watch" ? "text-red-800" : event.phase === "warning" ? "text-amber-900" : "text-slate-800"}>
            <Time iso={event.at} timeOnly /> [{event.phase}] {event.message}
          </li>
        ))}
      </ul>
      <p className="mt-2 text-xs">
        <Link href="/history" className="text-sky-800 hover:underline">
          ← History
        </Link>
      </p>
    </details>
  );
}
