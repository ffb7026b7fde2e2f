/**
 * How the deploy page folds what the server pushes (lib/deploy/event-stream.ts) and what it fetches
 * into the one DeployView it shows. Pure (no server imports): the page and tests use it.
 * Output chunks are merged by id, so a line arriving twice (a poll and an event) shows once, and a
 * fetched snapshot never drops lines an event brought after it was taken.
 */
import type { DeployView, HostRunView } from "./views";

export interface PushedChunk {
  id: number;
  hostRunId: string;
  stream: string;
  text: string;
  at: string;
}

type Live = HostRunView["live"];

function unionById(a: Live, b: Live): Live {
  if (b.length === 0) return a;
  // The common case: b only adds newer chunks, in order.
  if ((a.length === 0 || b[0].id > a[a.length - 1].id) && b.every((c, i) => i === 0 || c.id > b[i - 1].id)) return [...a, ...b];
  const byId = new Map<number, Live[number]>();
  for (const c of a) byId.set(c.id, c);
  for (const c of b) byId.set(c.id, c);
  return [...byId.values()].sort((x, y) => x.id - y.id);
}

/** The newest output chunk id the view holds: where the stream resumes. */
export function lastChunkId(view: DeployView | undefined): number {
  let max = 0;
  for (const run of view?.hostRuns ?? []) {
    const last = run.live[run.live.length - 1];
    if (last && last.id > max) max = last.id;
  }
  return max;
}

/**
 * A fresh view of the deploy (a fetch, or a pushed state without output) over the one the page has:
 * everything but output comes from `fresh`; output is the union of both. `fresh` from a state event
 * carries no output (`withOutput` false): the page's own lines and its count of older ones stay.
 */
export function mergeDeployViews(old: DeployView | undefined, fresh: DeployView, { withOutput = true }: { withOutput?: boolean } = {}): DeployView {
  const before = new Map((old?.hostRuns ?? []).map((run) => [run.id, run]));
  return {
    ...fresh,
    hostRuns: fresh.hostRuns.map((run) => {
      const had = before.get(run.id);
      if (!withOutput) return { ...run, live: had?.live ?? [], liveOlder: had?.liveOlder ?? 0 };
      if (!had) return run;
      const live = unionById(had.live, run.live);
      // Older pages the page loaded itself stay loaded: count what is still older than its first line.
      const liveOlder = had.live.length && run.live.length && had.live[0].id < run.live[0].id ? had.liveOlder : run.liveOlder;
      return { ...run, live, liveOlder };
    }),
  };
}

/** Pushed output chunks appended to their host runs (ignoring ones the page already has). */
export function appendChunks(view: DeployView, chunks: PushedChunk[]): DeployView {
  if (chunks.length === 0) return view;
  const byRun = new Map<string, Live>();
  for (const { hostRunId, ...chunk } of chunks) {
    const list = byRun.get(hostRunId) ?? [];
    list.push(chunk);
    byRun.set(hostRunId, list);
  }
  let touched = false;
  const hostRuns = view.hostRuns.map((run) => {
    const added = byRun.get(run.id);
    if (!added) return run;
    const live = unionById(run.live, added);
    if (live === run.live) return run;
    touched = true;
    return { ...run, live };
  });
  return touched ? { ...view, hostRuns } : view;
}

/** An older page of one host run's output, put in front of what the page has. */
export function prependPage(view: DeployView, hostRunId: string, chunks: Live, hasOlder: boolean): DeployView {
  return {
    ...view,
    hostRuns: view.hostRuns.map((run) => {
      if (run.id !== hostRunId) return run;
      const live = unionById(chunks, run.live);
      return { ...run, live, liveOlder: hasOlder ? Math.max(1, run.liveOlder - (live.length - run.live.length)) : 0 };
    }),
  };
}
