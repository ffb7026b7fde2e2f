/**
 * The deploy page's Server-Sent Events: new output lines and every change of the deploy (status,
 * phase events, host runs, checks), pushed as they are stored. SQLite is the only source: the stream
 * reads from a cursor (the last OutputChunk id the page has; SSE's Last-Event-ID on a reconnect), so
 * a dropped connection loses nothing. The history writers wake it at once (lib/history/feed.ts); a
 * slow periodic re-check covers anything written without a wake-up (another process, a missed one).
 *
 * Pull-based: the next event is read only when the client has taken the last one, and each read is
 * at most one page of output, so a slow client never makes the server hold more than a page.
 */
import type { Db } from "../history/db";
import { subscribeDeploy } from "../history/feed";
import { outputAfter, type ChunkRow } from "../history/output-pages";
import { isActiveStatus } from "./status";

export interface DeployEventStreamOptions {
  db: Db;
  deployId: string;
  /** The last OutputChunk id the client already has (0: none). */
  after: number;
  /** Aborted when the client goes away. */
  signal?: AbortSignal;
  /** The deploy as the page shows it, without output (sent on every change); null when it is gone. */
  loadState: () => Promise<unknown | null>;
  /** Output chunks per event (default 500). */
  pageSize?: number;
  /** Fallback re-check when no wake-up came (default 5 s). */
  recheckMs?: number;
  /** A comment line this often keeps proxies and the browser from timing out (default 15 s). */
  heartbeatMs?: number;
  /** After the deploy ended, late output (CloudWatch's last batches) is still awaited this long (default 12 s). */
  endGraceMs?: number;
  /** The browser's reconnect delay, sent as `retry:` (default 1 s). */
  retryMs?: number;
}

export interface OutputEventChunk {
  id: number;
  hostRunId: string;
  stream: string;
  text: string;
  at: string;
}

/** One SSE message; `data` is one line of JSON (JSON.stringify never emits a raw newline). */
export function sseMessage(event: string, data: unknown, id?: number): string {
  return `${id !== undefined ? `id: ${id}\n` : ""}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** What, cheaply read, says whether the page's view of the deploy changed (no output is read). */
async function fingerprint(db: Db, deployId: string) {
  const [deploy, events, checks] = await Promise.all([
    db.deploy.findUnique({
      where: { id: deployId },
      select: {
        status: true,
        error: true,
        commandId: true,
        attempt: true,
        finishedAt: true,
        hostRuns: { select: { id: true, status: true, statusDetails: true, responseCode: true, finishedAt: true }, orderBy: { id: "asc" } },
      },
    }),
    db.deployEvent.aggregate({ where: { deployId }, _count: { _all: true }, _max: { id: true, at: true } }),
    db.checkRun.aggregate({ where: { deployId }, _count: { _all: true }, _max: { id: true } }),
  ]);
  if (!deploy) return null;
  return {
    key: JSON.stringify([deploy, events, checks]),
    hostRunIds: deploy.hostRuns.map((run) => run.id),
    ended: !isActiveStatus(deploy.status),
    finishedAt: deploy.finishedAt?.getTime() ?? null,
  };
}

const toEventChunk = (c: ChunkRow): OutputEventChunk => ({ id: c.id, hostRunId: c.hostRunId, stream: c.stream, text: c.text, at: c.at.toISOString() });

/** The SSE text of one deploy's stream, message by message, until the deploy ended and all was sent, or the signal aborts. */
export async function* deployEvents(options: DeployEventStreamOptions): AsyncGenerator<string, void, undefined> {
  const { db, deployId, signal } = options;
  const pageSize = options.pageSize ?? 500;
  const recheckMs = options.recheckMs ?? 5_000;
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  const endGraceMs = options.endGraceMs ?? 12_000;
  let cursor = Math.max(0, Math.floor(options.after));
  let dirty = true;
  let wake: (() => void) | null = null;
  const unsubscribe = subscribeDeploy(deployId, () => {
    dirty = true;
    wake?.();
  });
  const onAbort = () => wake?.();
  signal?.addEventListener("abort", onAbort);
  const waitAtMost = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, Math.max(0, ms));
      function done() {
        clearTimeout(timer);
        wake = null;
        resolve();
      }
      wake = done;
    });

  try {
    yield `retry: ${options.retryMs ?? 1_000}\n\n`;
    let lastKey = "";
    let nextRecheck = 0;
    let nextBeat = Date.now() + heartbeatMs;
    let endAt: number | null = null;
    while (!signal?.aborted) {
      if (!dirty) {
        await waitAtMost(Math.min(nextRecheck, nextBeat, endAt ?? Infinity) - Date.now());
        if (signal?.aborted) return;
        if (!dirty && Date.now() >= nextBeat) {
          nextBeat = Date.now() + heartbeatMs;
          yield ": keep-alive\n\n";
        }
        if (!dirty && Date.now() < nextRecheck && (endAt === null || Date.now() < endAt)) continue;
      }
      dirty = false;
      nextRecheck = Date.now() + recheckMs;

      const print = await fingerprint(db, deployId);
      if (!print) {
        yield sseMessage("gone", { error: `No deploy ${deployId}.` });
        return;
      }
      if (print.key !== lastKey) {
        const state = await options.loadState();
        if (state === null) {
          yield sseMessage("gone", { error: `No deploy ${deployId}.` });
          return;
        }
        lastKey = print.key;
        yield sseMessage("deploy", state);
        nextBeat = Date.now() + heartbeatMs;
      }
      let sent = 0;
      for (;;) {
        const page = await outputAfter(db, print.hostRunIds, cursor, pageSize);
        if (page.chunks.length > 0) {
          cursor = page.chunks[page.chunks.length - 1].id;
          sent += page.chunks.length;
          yield sseMessage("output", { chunks: page.chunks.map(toEventChunk) }, cursor);
          nextBeat = Date.now() + heartbeatMs;
        }
        if (!page.more || signal?.aborted) break;
      }
      if (print.ended) {
        // The last CloudWatch batches can land after the end: wait for them, then say goodbye.
        endAt = (print.finishedAt ?? Date.now()) + endGraceMs;
        if (Date.now() >= endAt && sent === 0 && !dirty) {
          yield sseMessage("end", { cursor });
          return;
        }
      } else endAt = null;
    }
  } finally {
    unsubscribe();
    signal?.removeEventListener("abort", onAbort);
  }
}

/** deployEvents as a byte stream for a Response: pulled as the client reads, closed when it goes away. */
export function deployEventStream(options: DeployEventStreamOptions): ReadableStream<Uint8Array> {
  const stop = new AbortController();
  const outer = options.signal;
  const onOuterAbort = () => stop.abort();
  if (outer?.aborted) stop.abort();
  else outer?.addEventListener("abort", onOuterAbort, { once: true });
  const events = deployEvents({ ...options, signal: stop.signal });
  const encoder = new TextEncoder();
  const finish = () => outer?.removeEventListener("abort", onOuterAbort);
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const next = await events.next();
        if (next.done) {
          finish();
          controller.close();
        } else controller.enqueue(encoder.encode(next.value));
      } catch (error) {
        finish();
        console.error(`[deckhand] the event stream of deploy ${options.deployId} failed:`, error);
        controller.error(error);
      }
    },
    async cancel() {
      stop.abort();
      finish();
      await events.return(undefined);
    },
  });
}
