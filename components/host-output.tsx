"use client";

import { useQueryClient } from "@tanstack/react-query";
import { useVirtualizer } from "@tanstack/react-virtual";
import { memo, useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from "react";
import { prependPage } from "@/lib/deploy/live-merge";
import { hostLines, quietSeconds, summarizeHost } from "@/lib/deploy/output";
import type { DeployView, HostRunView } from "@/lib/deploy/views";
import { fetchJson } from "./fetch-json";
import { formatDuration, formatTimeOfDay } from "./format";
import { StatusBadge } from "./status-badge";
import { Elapsed, exactUtc, useNow } from "./time";

const QUIET_AFTER_S = 60;
const GUTTER: Record<string, { mark: string; title: string }> = {
  stderr: { mark: "›", title: "stderr" },
  status: { mark: "·", title: "SSM status" },
};

/** One host's run: status, time, and its output as one stream in printed order. */
export function HostPanel({ run, deployId, executionTimeoutSeconds }: { run: HostRunView; deployId: string; executionTimeoutSeconds: number | null }) {
  const finished = run.finishedAt !== null;
  const now = useNow(!finished);
  const lines = useMemo(() => hostLines(run), [run]);
  const quiet = quietSeconds(run, now);
  const timesOutAt = !finished && executionTimeoutSeconds ? Date.parse(run.startedAt) + executionTimeoutSeconds * 1000 : null;

  return (
    <article className="flex min-w-0 flex-col rounded-lg bg-white shadow-sm ring-1 ring-slate-200" data-testid={`host-panel-${run.instanceId}`} data-host-status={run.status} aria-label={`${run.hostName} (${run.instanceId})`}>
      <div className="flex flex-wrap items-center gap-x-2 gap-y-1 border-b border-slate-100 px-3 py-2">
        <h3 className="font-semibold">{run.hostName}</h3>
        <span className="font-mono text-xs text-slate-700">{run.instanceId}</span>
        {run.attempt > 1 && <span className="text-xs text-slate-700">attempt {run.attempt}</span>}
        <span className="ml-auto flex flex-wrap items-center gap-2">
          {run.responseCode !== null && <span className="font-mono text-xs">exit {run.responseCode}</span>}
          <StatusBadge status={run.status} testId={`host-status-${run.instanceId}`} />
        </span>
      </div>
      <p className="flex flex-wrap gap-x-3 px-3 pt-1 text-xs text-slate-700" data-testid={`host-time-${run.instanceId}`}>
        <span title={`started ${exactUtc(run.startedAt)}`}>
          {finished ? "took " : "running for "}
          <Elapsed from={run.startedAt} to={run.finishedAt} />
        </span>
        {timesOutAt !== null && (
          <span data-testid={`host-timeout-${run.instanceId}`} title={`executionTimeout ${executionTimeoutSeconds} s after the start; exact: ${exactUtc(new Date(timesOutAt).toISOString())}`}>
            times out at {formatTimeOfDay(timesOutAt)}
          </span>
        )}
        {quiet !== null && quiet >= QUIET_AFTER_S && (
          <span className="font-semibold text-amber-900" data-testid={`host-quiet-${run.instanceId}`}>
            no output for {formatDuration(quiet)}
          </span>
        )}
      </p>
      {run.statusDetails && run.statusDetails !== run.status && <p className="px-3 pt-1 text-xs text-slate-700">{run.statusDetails}</p>}
      {run.liveOlder > 0 && run.live.length > 0 && <EarlierLines run={run} deployId={deployId} />}
      <OutputPane lines={lines} label={`output of ${run.hostName}`} fileName={`${deployId}-${run.hostName.replace(/[^A-Za-z0-9_-]+/g, "_")}.log`} testId={`host-output-${run.instanceId}`} finished={finished} />
      {(run.stdoutTruncated || run.stderrTruncated) && (
        <p className="px-3 pb-2 text-xs text-amber-900">
          SSM truncated this output ({[run.stdoutTruncated && "stdout at 24,000", run.stderrTruncated && "stderr at 8,000"].filter(Boolean).join(", ")} characters). Enable an S3 output prefix for the full text.
        </p>
      )}
    </article>
  );
}

/** Loads the page of output before the first line shown (the deploy page loads only the newest lines first). */
function EarlierLines({ run, deployId }: { run: HostRunView; deployId: string }) {
  const queryClient = useQueryClient();
  const [state, setState] = useState<{ loading: boolean; error: string | null }>({ loading: false, error: null });
  const load = async () => {
    setState({ loading: true, error: null });
    try {
      const url = `/api/deploys/${encodeURIComponent(deployId)}/output?hostRun=${encodeURIComponent(run.id)}&before=${run.live[0]!.id}&limit=2000`;
      const page = await fetchJson<{ hasOlder: boolean; chunks: HostRunView["live"] }>(url);
      queryClient.setQueryData<DeployView>(["deploy", deployId], (view) => (view ? prependPage(view, run.id, page.chunks, page.hasOlder) : view));
      setState({ loading: false, error: null });
    } catch (error) {
      setState({ loading: false, error: (error as Error).message });
    }
  };
  return (
    <p className="flex flex-wrap items-center gap-2 px-3 pt-2 text-xs text-slate-700">
      <button type="button" onClick={load} disabled={state.loading} className="rounded border border-slate-300 px-2 py-0.5 font-medium text-slate-800 hover:bg-slate-100" data-testid={`earlier-lines-${run.instanceId}`}>
        {state.loading ? "Loading…" : `Load earlier lines (${run.liveOlder.toLocaleString("en")} more)`}
      </button>
      {state.error && <span role="alert">{state.error}</span>}
    </p>
  );
}

/** The one-line summary per host that sits above the panels. */
export function HostSummaryLine({ run }: { run: HostRunView }) {
  const summary = summarizeHost(run);
  // Not picked up yet (an offline agent keeps it Pending / Delayed until the delivery timeout): say for how long.
  const waiting = run.status === "Pending" || run.status === "Delayed";
  const now = useNow(waiting);
  return (
    <li className="flex min-w-0 flex-wrap items-baseline gap-x-2" data-testid={`host-summary-${run.instanceId}`}>
      <span className="font-semibold">{run.hostName}</span>
      <StatusBadge status={run.status} />
      {waiting && (
        <span className="text-xs text-slate-800" data-testid={`host-waiting-${run.instanceId}`}>
          waiting {formatDuration((now - new Date(run.startedAt).getTime()) / 1000)} for the host to pick the command up{run.statusDetails && run.statusDetails !== run.status ? ` (SSM: ${run.statusDetails})` : ""}
        </span>
      )}
      <span className="min-w-0 font-mono text-xs break-words">{summary.text}</span>
    </li>
  );
}

/** Rows of output the pane keeps in the DOM beyond the visible ones; a short output is rendered whole. */
const OVERSCAN_ROWS = 30;
const RENDER_WHOLE_UNDER = 400;
const ROW_ESTIMATE_PX = 20;

// Memoised: the panel re-renders every second for its clocks; the output only when new lines arrive.
// Virtualised (@tanstack/react-virtual): only the rows in view (plus a margin) are in the DOM, so a
// 100,000-line output scrolls as smoothly as a short one; rows are measured, so wrapped lines fit.
const OutputPane = memo(function OutputPane({ lines, label, fileName, testId, finished }: { lines: ReturnType<typeof hostLines>; label: string; fileName: string; testId: string; finished: boolean }) {
  const pane = useRef<HTMLDivElement>(null);
  const [wrap, setWrap] = useState(true);
  const [following, setFollowing] = useState(true);
  const [seen, setSeen] = useState(lines.length);
  const [copied, setCopied] = useState<string | null>(null);
  const virtualizer = useVirtualizer({
    count: lines.length,
    getScrollElement: () => pane.current,
    estimateSize: () => ROW_ESTIMATE_PX,
    overscan: lines.length <= RENDER_WHOLE_UNDER ? RENDER_WHOLE_UNDER : OVERSCAN_ROWS,
    getItemKey: (index) => lines[index]?.key ?? index,
  });
  const totalSize = virtualizer.getTotalSize();

  const text = useCallback(() => lines.map((l) => (l.stream === "stderr" ? `[stderr] ${l.text}` : l.stream === "status" ? `[${l.text}]` : l.text)).join("\n") + "\n", [lines]);

  // Follow the tail only while the reader is at the bottom; scrolled up, nothing moves. Rows are
  // measured after they render, so the height can grow again: follow it too.
  useLayoutEffect(() => {
    const element = pane.current;
    if (!element) return;
    if (following) {
      element.scrollTop = element.scrollHeight;
      setSeen(lines.length);
    }
  }, [lines.length, following, wrap, totalSize]);

  // Wrapping changes every row's height.
  useEffect(() => virtualizer.measure(), [wrap, virtualizer]);

  const onScroll = () => {
    const element = pane.current;
    if (!element) return;
    const atBottom = element.scrollHeight - element.scrollTop - element.clientHeight < 24;
    setFollowing(atBottom);
    if (atBottom) setSeen(lines.length);
  };

  const jump = () => {
    setFollowing(true);
    const element = pane.current;
    if (element) element.scrollTop = element.scrollHeight;
    setSeen(lines.length);
  };

  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text());
      setCopied("copied");
    } catch {
      setCopied("copy failed: select the text instead");
    }
  };
  useEffect(() => {
    if (!copied) return;
    const timer = setTimeout(() => setCopied(null), 2500);
    return () => clearTimeout(timer);
  }, [copied]);

  const download = () => {
    const url = URL.createObjectURL(new Blob([text()], { type: "text/plain;charset=utf-8" }));
    const a = document.createElement("a");
    a.href = url;
    a.download = fileName;
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  };

  const unseen = Math.max(0, lines.length - seen);
  const button = "rounded border border-slate-300 px-2 py-0.5 text-xs font-medium text-slate-800 hover:bg-slate-100";
  return (
    <div className="relative m-3 min-w-0">
      <div className="mb-1 flex flex-wrap items-center gap-2">
        <label className="flex items-center gap-1 text-xs text-slate-800">
          <input type="checkbox" checked={wrap} onChange={(e) => setWrap(e.target.checked)} />
          Wrap lines
        </label>
        <button type="button" onClick={copy} className={button} aria-label={`Copy ${label}`} disabled={lines.length === 0}>
          Copy
        </button>
        <button type="button" onClick={download} className={button} aria-label={`Download ${label}`} disabled={lines.length === 0}>
          Download
        </button>
        <span className="text-xs text-slate-700">
          <span aria-hidden="true" className="font-mono">›</span> marks stderr
        </span>
        <span role="status" className="text-xs text-slate-700">
          {copied ?? ""}
        </span>
      </div>
      <div
        ref={pane}
        onScroll={onScroll}
        tabIndex={0}
        role="region"
        aria-label={label.replace(/^./, (c) => c.toUpperCase())}
        data-testid={testId}
        data-following={following ? "yes" : "no"}
        data-lines={lines.length}
        className={`code-pane h-72 overflow-auto rounded p-2 font-mono text-xs leading-relaxed ${wrap ? "" : "whitespace-pre"}`}
      >
        {lines.length === 0 ? <span className="text-[#cbd5e1]">{finished ? "(no output)" : "waiting for output…"}</span> : null}
        <div className={`relative ${wrap ? "w-full" : "min-w-full w-max"}`} style={{ height: totalSize }}>
          {virtualizer.getVirtualItems().map((item) => {
            const line = lines[item.index]!;
            return (
              <div key={item.key} ref={virtualizer.measureElement} data-index={item.index} data-stream={line.stream} className="absolute top-0 left-0 flex w-full" style={{ transform: `translateY(${item.start}px)` }}>
                <span className="w-4 shrink-0 text-center text-[#fcd34d] select-none" title={GUTTER[line.stream]?.title} aria-hidden="true">
                  {GUTTER[line.stream]?.mark ?? ""}
                </span>
                <span className={`min-w-0 ${wrap ? "whitespace-pre-wrap [overflow-wrap:anywhere]" : "whitespace-pre"} ${line.stream === "status" ? "text-[#7dd3fc]" : ""}`}>
                  {line.stream === "stderr" && <span className="sr-only">stderr: </span>}
                  {line.stream === "status" ? `[${line.text}]` : line.text || " "}
                </span>
              </div>
            );
          })}
        </div>
      </div>
      {!following && (
        <button type="button" onClick={jump} className="absolute right-3 bottom-3 rounded-full bg-sky-700 px-3 py-1 text-xs font-semibold text-white shadow-lg hover:bg-sky-800" data-testid={`${testId}-jump`} aria-label={`Jump to latest ${label}${unseen > 0 ? ` (${unseen} new)` : ""}`}>
          Jump to latest{unseen > 0 ? ` (${unseen} new ${unseen === 1 ? "line" : "lines"})` : ""}
        </button>
      )}
    </div>
  );
});
