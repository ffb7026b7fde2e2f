"use client";

import { useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useEffect, useRef, useState, useTransition } from "react";
import { cancelDeployAction, confirmDeployAction, resumeWatchingAction, retryFailedHostsAction } from "@/app/actions";
import type { DeployEventView, DeployView, HostRunView } from "@/lib/deploy/views";
import { ErrorBox } from "./dashboard";
import { fetchJson } from "./fetch-json";
import { FileDiff } from "./file-diff";
import { formatBytes } from "./format";
import { ProductionBadge } from "./environment-picker";
import { StatusBadge } from "./status-badge";
import { Time } from "./time";

/** One deploy, live while it runs (polled every second) and the same page for review later. */
export function DeployViewPage({ id }: { id: string }) {
  const query = useQuery({
    queryKey: ["deploy", id],
    queryFn: () => fetchJson<DeployView>(`/api/deploys/${encodeURIComponent(id)}`),
    // Re-evaluated after every fetch: a retry makes a finished deploy active again and polling resumes.
    refetchInterval: (q) => (q.state.data && !q.state.data.active ? false : 1000),
  });
  if (query.isPending) return <p className="text-slate-500">Loading deploy…</p>;
  if (query.isError) return <ErrorBox title={`Deploy ${id}`} message={query.error.message} />;
  return <DeployDetail deploy={query.data} />;
}

const kindTitle: Record<string, string> = { deploy: "Deploy", rollback: "Rollback", redeploy: "Redeploy" };

function DeployDetail({ deploy }: { deploy: DeployView }) {
  const latestAttempt = new Map<string, HostRunView>();
  for (const run of deploy.hostRuns) latestAttempt.set(run.instanceId, run);
  const earlier = deploy.hostRuns.filter((run) => latestAttempt.get(run.instanceId) !== run);

  return (
    <div className="space-y-6" data-testid="deploy-view" data-deploy-status={deploy.status}>
      <header className="space-y-2">
        <div className="flex flex-wrap items-center gap-3">
          <h1 className="text-2xl font-semibold">
            {kindTitle[deploy.kind] ?? deploy.kind} of {deploy.services.join(", ")} to {deploy.environment}
          </h1>
          <ProductionBadge production={Boolean(deploy.production)} />
          <StatusBadge status={deploy.status} testId="deploy-status" />
          <DeployActions deploy={deploy} />
        </div>
        {deploy.kind !== "deploy" && (
          <p className="text-sm text-slate-700" data-testid="deploy-kind">
            <span className="rounded bg-violet-100 px-1.5 py-0.5 text-xs font-medium text-violet-800">{deploy.kind}</span>{" "}
            {deploy.revertsDeployId ? (
              <>
                {deploy.kind} of{" "}
                <Link href={`/deploys/${deploy.revertsDeployId}`} className="font-mono text-xs text-sky-700 hover:underline" data-testid="reverts-link">
                  {deploy.revertsDeployId}
                </Link>
              </>
            ) : (
              "of a bundle already in S3 (nothing was built or uploaded)"
            )}
          </p>
        )}
        <dl className="grid grid-cols-[max-content_1fr] gap-x-4 gap-y-0.5 text-sm text-slate-700">
          <dt className="text-slate-500">Id</dt>
          <dd className="font-mono text-xs">{deploy.id}</dd>
          <dt className="text-slate-500">Bundle</dt>
          <dd className="font-mono text-xs" data-testid="bundle-key">
            s3://{deploy.bundleBucket}/{deploy.bundleKey}
            {deploy.bundleSize !== null && ` · ${formatBytes(deploy.bundleSize)}`}
          </dd>
          <dt className="text-slate-500">sha256</dt>
          <dd className="font-mono text-xs">{deploy.bundleSha256 ?? "—"}</dd>
          <dt className="text-slate-500">Source</dt>
          <dd className="font-mono text-xs">{deploy.gitSha ?? "not a git repo"}</dd>
          <dt className="text-slate-500">By</dt>
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
              <dt className="text-slate-500">SSM command</dt>
              <dd className="font-mono text-xs">
                {deploy.commandId} (attempt {deploy.attempt})
              </dd>
            </>
          )}
        </dl>
      </header>

      {deploy.error && <ErrorBox title="The deploy stopped" message={deploy.error} />}
      <LocalProgress deploy={deploy} />

      {deploy.status === "awaiting_confirmation" && (
        <p className="rounded-md bg-violet-50 p-3 text-sm text-violet-900 ring-1 ring-violet-200">
          The bundle is in S3. Read the script below, then send it to the hosts.
        </p>
      )}
      {deploy.pendingDiff && (
        <section className="rounded-lg bg-white p-3 shadow-sm ring-1 ring-slate-200">
          <h2 className="mb-1 text-sm font-medium">Files this bundle changes against what is live</h2>
          <FileDiff diff={deploy.pendingDiff} testId="pending-diff" />
        </section>
      )}
      <ScriptViewer script={deploy.script} open={deploy.status === "awaiting_confirmation"} />

      {latestAttempt.size > 0 && (
        <section className="grid gap-4 lg:grid-cols-2" data-testid="current-attempts">
          {[...latestAttempt.values()].map((run) => (
            <HostPanel key={run.id} run={run} />
          ))}
        </section>
      )}
      {earlier.length > 0 && (
        <details className="rounded-lg bg-white p-3 ring-1 ring-slate-200">
          <summary className="cursor-pointer text-sm font-medium">Earlier attempts ({earlier.length})</summary>
          <div className="mt-3 grid gap-4 lg:grid-cols-2">
            {earlier.map((run) => (
              <HostPanel key={run.id} run={run} />
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
      <EventLog events={deploy.events} />
    </div>
  );
}

function DeployActions({ deploy }: { deploy: DeployView }) {
  const queryClient = useQueryClient();
  const [error, setError] = useState<string | null>(null);
  const [pending, startTransition] = useTransition();
  const act = (action: (input: { deployId: string; scriptSha256: string }) => Promise<{ ok: true } | { ok: false; error: string }>) =>
    startTransition(async () => {
      // Confirming sends the sha256 of the script shown here: the server refuses if it changed.
      const result = await action({ deployId: deploy.id, scriptSha256: deploy.scriptSha256 });
      setError(result.ok ? null : result.error);
      await queryClient.invalidateQueries({ queryKey: ["deploy", deploy.id] });
    });
  const canCancel = ["queued", "building", "uploading", "awaiting_confirmation", "running", "lost_contact"].includes(deploy.status);
  const canRetry = ["failed", "partially_failed", "cancelled", "lost_contact"].includes(deploy.status) && deploy.commandId !== null;
  return (
    <div className="flex items-center gap-2">
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
        <button type="button" disabled={pending} onClick={() => act(cancelDeployAction)} className="rounded-md border border-red-300 px-3 py-1.5 text-sm font-semibold text-red-700 hover:bg-red-50 disabled:opacity-50">
          Cancel
        </button>
      )}
      {error && (
        <span role="alert" className="text-sm text-red-700">
          {error}
        </span>
      )}
    </div>
  );
}

const PHASES = [
  { key: "build", label: "Build" },
  { key: "upload", label: "Pack & upload" },
  { key: "send", label: "Send (SSM)" },
];

/** Build output and pack → upload progress on the laptop side. */
function LocalProgress({ deploy }: { deploy: DeployView }) {
  const buildLines = deploy.events.filter((e) => e.phase === "build");
  const uploads = deploy.events.filter((e) => e.phase === "upload" && e.bytes !== null);
  const lastUpload = uploads.at(-1);
  const packed = deploy.events.find((e) => e.phase === "pack");
  const uploaded = Boolean(deploy.bundleSha256);
  const sent = deploy.events.some((e) => e.phase === "send");
  const reached = { build: buildLines.length > 0, upload: uploads.length > 0 || uploaded, send: sent };
  // While streaming, the compressed size is unknown: the uncompressed size is the upper bound.
  const fraction = uploaded ? 1 : lastUpload?.bytes && packed?.total ? Math.min(0.95, lastUpload.bytes / packed.total) : 0;

  return (
    <section className="space-y-3 rounded-lg bg-white p-4 shadow-sm ring-1 ring-slate-200">
      <ol className="flex flex-wrap gap-2 text-sm">
        {PHASES.map((phase) => (
          <li key={phase.key} className={`rounded-full px-3 py-1 ${reached[phase.key as keyof typeof reached] ? "bg-sky-100 text-sky-900" : "bg-slate-100 text-slate-400"}`}>
            {phase.label}
          </li>
        ))}
      </ol>
      <div>
        <div className="mb-1 flex justify-between text-xs text-slate-600">
          <span>Upload {packed ? `· ${packed.message}` : ""}</span>
          <span data-testid="upload-progress">{uploaded ? `done · ${formatBytes(deploy.bundleSize ?? 0)}` : lastUpload ? `${formatBytes(lastUpload.bytes ?? 0)} sent` : "waiting"}</span>
        </div>
        <div className="h-2 overflow-hidden rounded bg-slate-100">
          <div className="h-full bg-sky-600 transition-all" style={{ width: `${Math.round(fraction * 100)}%` }} />
        </div>
      </div>
      {buildLines.length > 0 && (
        <details open={deploy.status === "building"}>
          <summary className="cursor-pointer text-sm font-medium">Local build output ({buildLines.length} lines)</summary>
          <pre className="mt-2 max-h-64 overflow-auto rounded bg-slate-900 p-3 text-xs text-slate-100">{buildLines.map((line) => line.message).join("\n")}</pre>
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
      <pre className="mt-2 max-h-96 overflow-auto rounded bg-slate-900 p-3 font-mono text-xs text-slate-100" data-testid="host-script">
        {script}
      </pre>
    </details>
  );
}

const streamColour: Record<string, string> = { stdout: "text-slate-100", stderr: "text-red-300", status: "text-sky-300" };

function HostPanel({ run }: { run: HostRunView }) {
  const finished = run.finishedAt !== null;
  const outputRef = useRef<HTMLPreElement>(null);
  const lines: { key: string; stream: string; text: string }[] = finished
    ? [
        ...run.live.filter((c) => c.stream === "status").map((c) => ({ key: `s${c.id}`, stream: "status", text: `[${c.text}]` })),
        ...splitLines(run.stdout).map((text, i) => ({ key: `o${i}`, stream: "stdout", text })),
        ...splitLines(run.stderr).map((text, i) => ({ key: `e${i}`, stream: "stderr", text })),
      ]
    : run.live.flatMap((c) => splitLines(c.text).map((text, i) => ({ key: `${c.id}-${i}`, stream: c.stream, text: c.stream === "status" ? `[${text}]` : text })));

  useEffect(() => {
    const element = outputRef.current;
    if (element) element.scrollTop = element.scrollHeight; // follow the output as it arrives
  }, [lines.length]);

  return (
    <article className="flex flex-col rounded-lg bg-white shadow-sm ring-1 ring-slate-200" data-testid={`host-panel-${run.instanceId}`} data-host-status={run.status}>
      <div className="flex flex-wrap items-center gap-2 border-b border-slate-100 px-3 py-2">
        <span className="font-semibold">{run.hostName}</span>
        <span className="font-mono text-xs text-slate-500">{run.instanceId}</span>
        {run.attempt > 1 && <span className="text-xs text-slate-500">attempt {run.attempt}</span>}
        <span className="ml-auto flex items-center gap-2">
          {run.responseCode !== null && <span className="font-mono text-xs">exit {run.responseCode}</span>}
          <StatusBadge status={run.status} testId={`host-status-${run.instanceId}`} />
        </span>
      </div>
      {run.statusDetails && run.statusDetails !== run.status && <p className="px-3 pt-1 text-xs text-slate-500">{run.statusDetails}</p>}
      <pre ref={outputRef} className="m-3 h-72 overflow-auto rounded bg-slate-900 p-3 font-mono text-xs leading-relaxed" data-testid={`host-output-${run.instanceId}`}>
        {lines.length === 0 ? <span className="text-slate-500">{finished ? "(no output)" : "waiting for output…"}</span> : null}
        {lines.map((line) => (
          <div key={line.key} className={streamColour[line.stream] ?? "text-slate-100"}>
            {line.text || " "}
          </div>
        ))}
      </pre>
      {(run.stdoutTruncated || run.stderrTruncated) && (
        <p className="px-3 pb-2 text-xs text-amber-700">
          SSM truncated this output ({[run.stdoutTruncated && "stdout at 24,000", run.stderrTruncated && "stderr at 8,000"].filter(Boolean).join(", ")} characters). Enable an S3 output prefix for the full text.
        </p>
      )}
    </article>
  );
}

function splitLines(text: string): string[] {
  if (!text) return [];
  return text.replace(/\n$/, "").split("\n");
}

function EventLog({ events }: { events: DeployEventView[] }) {
  const shown = events.filter((e) => e.phase !== "build" && e.phase !== "upload");
  if (shown.length === 0) return null;
  return (
    <details className="rounded-lg bg-white p-3 shadow-sm ring-1 ring-slate-200">
      <summary className="cursor-pointer text-sm font-medium">Event log ({shown.length})</summary>
      <ul className="mt-2 space-y-0.5 font-mono text-xs">
        {shown.map((event) => (
          <li key={event.id} className={event.phase === "error" || event.phase === "watch" ? "text-red-700" : event.phase === "warning" ? "text-amber-800" : "text-slate-700"}>
            <Time iso={event.at} /> [{event.phase}] {event.message}
          </li>
        ))}
      </ul>
      <p className="mt-2 text-xs">
        <Link href="/history" className="text-sky-700 hover:underline">
          ← History
        </Link>
      </p>
    </details>
  );
}
