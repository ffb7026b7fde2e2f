import { FilterLogEventsCommand, GetLogEventsCommand, type CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import { isMissingResource } from "./errors";

/**
 * Where the live tail stands. Each host stamps events with its own clock and CloudWatch makes them
 * searchable a few seconds late, so a cursor that jumps to "the newest timestamp seen" would skip a
 * slower host's older-stamped events for ever: every read looks back a window and drops event ids
 * already taken.
 */
export interface LogCursor {
  /** The newest event timestamp seen (ms), by any host's clock. */
  newest: number;
  /** [eventId, timestamp] of events taken inside the look-back window. */
  seen: [string, number][];
  /** Per log stream read with GetLogEvents: the forward token after the last event taken. */
  streams?: Record<string, string>;
}

export const LOOK_BACK_MS = 30_000;
/** A cycle reads at most this many pages: a flood of output waits for the next cycle, not the status poll. */
const MAX_PAGES_PER_READ = 20;

export interface LiveLine {
  eventId: string;
  instanceId: string;
  stream: "stdout" | "stderr";
  text: string;
  timestamp: number;
}

export function parseCursor(stored: string | null): LogCursor {
  try {
    const cursor = stored ? (JSON.parse(stored) as Partial<LogCursor>) : {};
    if (typeof cursor.newest === "number" && Array.isArray(cursor.seen)) {
      const streams = Object.fromEntries(Object.entries(cursor.streams ?? {}).filter(([, token]) => typeof token === "string"));
      return { newest: cursor.newest, seen: cursor.seen.filter((s) => Array.isArray(s) && s.length === 2), streams };
    }
  } catch {
    // an unreadable cursor only costs a re-read: the ids below de-duplicate it
  }
  return { newest: 0, seen: [] };
}

/**
 * Reads what the SSM agent has uploaded for every host and both streams of one command with
 * FilterLogEvents (stream names `<commandId>/<instanceId>/aws-runShellScript/stdout|stderr`).
 * The agent packs several lines into one event; they come back as one LiveLine each.
 */
export async function tailCommandOutput(logs: CloudWatchLogsClient, logGroup: string, commandId: string, cursor: LogCursor): Promise<{ lines: LiveLine[]; cursor: LogCursor }> {
  const seen = new Map(cursor.seen);
  const events: LiveLine[] = [];
  let newest = cursor.newest;
  let nextToken: string | undefined;
  let pages = 0;
  try {
    do {
      const page = await logs.send(
        new FilterLogEventsCommand({ logGroupName: logGroup, logStreamNamePrefix: `${commandId}/`, startTime: Math.max(0, cursor.newest - LOOK_BACK_MS), nextToken }),
      );
      for (const event of page.events ?? []) {
        const id = event.eventId ?? `${event.logStreamName}:${event.timestamp}:${event.ingestionTime}`;
        if (seen.has(id)) continue;
        const timestamp = event.timestamp ?? 0;
        seen.set(id, timestamp);
        newest = Math.max(newest, timestamp);
        const [, instanceId = "", , streamName = ""] = (event.logStreamName ?? "").split("/");
        events.push({ eventId: id, instanceId, stream: streamName === "stderr" ? "stderr" : "stdout", text: event.message ?? "", timestamp });
      }
      nextToken = page.nextToken;
    } while (nextToken && ++pages < MAX_PAGES_PER_READ);
  } catch (error) {
    // The group or streams appear only once the agent first uploads: nothing to read yet.
    if (!isMissingResource(error)) throw error;
  }
  const lines = toLines(events);
  const keepFrom = newest - LOOK_BACK_MS;
  return { lines, cursor: { ...cursor, newest, seen: [...seen.entries()].filter(([, ts]) => ts >= keepFrom) } };
}

/** The agent packs several lines into one event: one LiveLine per line, oldest event first. */
function toLines(events: LiveLine[]): LiveLine[] {
  return events.sort((a, b) => a.timestamp - b.timestamp).flatMap((event) => event.text.replace(/\n$/, "").split("\n").map((text) => ({ ...event, text })));
}

/** Events per GetLogEvents page (each up to ~200 KB from the agent): a read is bounded, a full page reads on. */
export const STREAM_PAGE_EVENTS = 500;

/** The agent's two streams for one host of one command. */
export function hostStreamNames(commandId: string, instanceId: string): [string, string] {
  return [`${commandId}/${instanceId}/aws-runShellScript/stdout`, `${commandId}/${instanceId}/aws-runShellScript/stderr`];
}

/**
 * Reads the named streams with GetLogEvents from each one's stored forward token: a stream can be read
 * as soon as the agent uploads to it, where a search (FilterLogEvents) sees the events only seconds
 * later. One call per stream (in parallel), more only after a full page. A stream the
 * agent has not created yet has nothing to read (not an error). Tokens make every event come once;
 * `withLines` names the streams that brought any.
 */
export async function tailStreams(logs: CloudWatchLogsClient, logGroup: string, streamNames: string[], cursor: LogCursor): Promise<{ lines: LiveLine[]; cursor: LogCursor; withLines: string[] }> {
  const tokens = { ...cursor.streams };
  const withLines: string[] = [];
  const perStream = await Promise.all(
    streamNames.map(async (logStreamName) => {
      const [, instanceId = "", , streamName = ""] = logStreamName.split("/");
      const events: LiveLine[] = [];
      try {
        for (let pages = 0; pages < MAX_PAGES_PER_READ; pages++) {
          const sent = tokens[logStreamName];
          const page = await logs.send(new GetLogEventsCommand({ logGroupName: logGroup, logStreamName, startFromHead: true, nextToken: sent, limit: STREAM_PAGE_EVENTS }));
          for (const [index, event] of (page.events ?? []).entries()) {
            events.push({ eventId: `${logStreamName}@${sent ?? "head"}#${index}`, instanceId, stream: streamName === "stderr" ? "stderr" : "stdout", text: event.message ?? "", timestamp: event.timestamp ?? 0 });
          }
          if (page.nextForwardToken) tokens[logStreamName] = page.nextForwardToken;
          // Only a full page asks again at once: anything less is the end for now (one call per read).
          if (!page.nextForwardToken || page.nextForwardToken === sent || (page.events ?? []).length < STREAM_PAGE_EVENTS) break;
        }
      } catch (error) {
        // The group or the stream appears only once the agent first uploads to it.
        if (!isMissingResource(error)) throw error;
      }
      if (events.length > 0) withLines.push(logStreamName);
      return events;
    }),
  );
  const events = perStream.flat();
  const newest = Math.max(cursor.newest, ...events.map((e) => e.timestamp));
  const lines = toLines(events);
  return { lines, cursor: { ...cursor, newest, streams: tokens }, withLines };
}
