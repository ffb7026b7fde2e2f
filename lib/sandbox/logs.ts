// CloudWatch Logs stand-in: the read API Deckhand uses to stream live Run Command output.
import { AwsError, type Operation, paginate } from "./awsJson";

interface LogEvent {
  sequence: number; // group-wide upload order; also the eventId
  timestamp: number; // the sender's clock (a host's clock may be skewed)
  ingestionTime: number;
  message: string;
}

/** Largest event the agent sends (PutLogEvents allows 256 KB per event; the agent cuts at ~200 KB). */
export const MAX_EVENT_BYTES = 200_000;

export interface LogStoreOptions {
  /** How long after upload an event becomes searchable (FilterLogEvents, DescribeLogStreams' times). */
  ingestionDelayMs?: number;
  /**
   * How long after upload an event can be read from its own stream (GetLogEvents). Reading a stream is
   * quicker than searching a group on CloudWatch (the console's stream view shows lines while a
   * search still misses them); never 0 here, so a reader that assumes "at once" is caught.
   */
  streamReadDelayMs?: number;
  /** True when the laptop's Logs calls are denied (the `logs-denied` fault). */
  denied?: () => boolean;
}
interface LogStream {
  name: string;
  creationTime: number;
  events: LogEvent[];
}
interface LogGroup {
  name: string;
  creationTime: number;
  streams: Map<string, LogStream>;
  nextSequence: number;
}

export class LogStore {
  private groups = new Map<string, LogGroup>();

  constructor(
    private region: string,
    private accountId: string,
    private options: LogStoreOptions = {},
  ) {}

  /** An operator-created log group (what the README's setup does). */
  createGroup(groupName: string): void {
    if (!this.groups.has(groupName)) this.groups.set(groupName, { name: groupName, creationTime: Date.now(), streams: new Map(), nextSequence: 0 });
  }

  /**
   * What the SSM agent does about once a second: create group/stream on first use, then upload one
   * event holding every line gathered since the last upload, stamped with the host's clock.
   */
  append(groupName: string, streamName: string, messages: string[], timestamp = Date.now()): void {
    this.createGroup(groupName);
    const group = this.groups.get(groupName)!;
    let stream = group.streams.get(streamName);
    if (!stream) {
      stream = { name: streamName, creationTime: Date.now(), events: [] };
      group.streams.set(streamName, stream);
    }
    const now = Date.now();
    for (const message of batch(messages)) {
      stream.events.push({ sequence: group.nextSequence++, timestamp, ingestionTime: now, message });
    }
  }

  /** Searchable events (ingestionDelayMs after upload), or readable ones for GetLogEvents (streamReadDelayMs). */
  private visible(stream: LogStream, delayMs = this.options.ingestionDelayMs ?? 0): LogEvent[] {
    const cutoff = Date.now() - delayMs;
    // Uploads are appended in order with one delay, so the visible events are a prefix.
    const end = stream.events.findIndex((e) => e.ingestionTime > cutoff);
    return end === -1 ? stream.events : stream.events.slice(0, end);
  }

  private group(name: unknown): LogGroup {
    const group = typeof name === "string" ? this.groups.get(name) : undefined;
    if (!group) throw new AwsError("ResourceNotFoundException", "The specified log group does not exist.");
    return group;
  }

  private stream(group: LogGroup, name: unknown): LogStream {
    const stream = typeof name === "string" ? group.streams.get(name) : undefined;
    if (!stream) throw new AwsError("ResourceNotFoundException", "The specified log stream does not exist.");
    return stream;
  }

  operations(): Record<string, Operation> {
    const ops: Record<string, Operation> = {
      GetLogEvents: (input) => this.getLogEvents(input),
      FilterLogEvents: (input) => this.filterLogEvents(input),
      DescribeLogStreams: (input) => this.describeLogStreams(input),
      DescribeLogGroups: (input) => {
        const prefix = typeof input.logGroupNamePrefix === "string" ? input.logGroupNamePrefix : "";
        const groups = [...this.groups.values()].filter((g) => g.name.startsWith(prefix));
        return {
          logGroups: groups.map((g) => ({
            logGroupName: g.name,
            creationTime: g.creationTime,
            arn: `arn:aws:logs:${this.region}:${this.accountId}:log-group:${g.name}:*`,
            storedBytes: 0,
          })),
        };
      },
    };
    // An IAM deny answers every call the same way, before looking at anything.
    return Object.fromEntries(
      Object.entries(ops).map(([name, op]) => [
        name,
        (input: Record<string, unknown>) => {
          if (this.options.denied?.()) {
            throw new AwsError(
              "AccessDeniedException",
              `User: arn:aws:iam::${this.accountId}:user/deckhand is not authorized to perform: logs:${name} on resource: arn:aws:logs:${this.region}:${this.accountId}:log-group:${String(input.logGroupName ?? "*")}:log-stream: because no identity-based policy allows the logs:${name} action`,
            );
          }
          return op(input);
        },
      ]),
    );
  }

  /** Tokens are "f/<index>" and "b/<index>": positions in the stream, like the real opaque tokens. */
  private getLogEvents(input: Record<string, unknown>) {
    const stream = this.stream(this.group(input.logGroupName), input.logStreamName);
    const limit = typeof input.limit === "number" && input.limit > 0 ? Math.min(input.limit, 10_000) : 10_000;
    const inRange = (e: LogEvent) =>
      (typeof input.startTime !== "number" || e.timestamp >= input.startTime) &&
      (typeof input.endTime !== "number" || e.timestamp < input.endTime);
    const events = this.visible(stream, this.options.streamReadDelayMs ?? this.options.ingestionDelayMs ?? 0);
    let from: number;
    let to: number;
    const token = typeof input.nextToken === "string" ? input.nextToken : undefined;
    if (token) {
      const match = /^([fb])\/(\d+)$/.exec(token);
      if (!match) throw new AwsError("InvalidParameterException", "The specified nextToken is invalid.");
      const position = Number(match[2]);
      // AWS: "If you are using a previous nextForwardToken value as the nextToken in this operation, you must specify true for startFromHead."
      if (match[1] === "f" && input.startFromHead !== true) throw new AwsError("InvalidParameterException", "startFromHead must be true when nextToken is a nextForwardToken.");
      if (match[1] === "f") {
        from = position;
        to = Math.min(events.length, position + limit);
      } else {
        to = position;
        from = Math.max(0, position - limit);
      }
    } else if (input.startFromHead === true) {
      from = 0;
      to = Math.min(events.length, limit);
    } else {
      to = events.length;
      from = Math.max(0, to - limit);
    }
    const page = events.slice(from, to).filter(inRange);
    return {
      events: page.map((e) => ({ timestamp: e.timestamp, message: e.message, ingestionTime: e.ingestionTime })),
      // With no new events the forward token is the one the caller sent: that is how callers know they are at the end.
      nextForwardToken: `f/${String(to).padStart(20, "0")}`,
      nextBackwardToken: `b/${String(from).padStart(20, "0")}`,
    };
  }

  private filterLogEvents(input: Record<string, unknown>) {
    const group = this.group(input.logGroupName);
    const names = Array.isArray(input.logStreamNames) ? (input.logStreamNames as string[]) : undefined;
    const prefix = typeof input.logStreamNamePrefix === "string" ? input.logStreamNamePrefix : undefined;
    if (names && prefix !== undefined) {
      throw new AwsError("InvalidParameterException", "You cannot specify both logStreamNames and logStreamNamePrefix.");
    }
    if (names) for (const name of names) this.stream(group, name);
    const streams = [...group.streams.values()].filter(
      (s) => (!names || names.includes(s.name)) && (prefix === undefined || s.name.startsWith(prefix)),
    );
    const pattern = typeof input.filterPattern === "string" ? input.filterPattern.replace(/^"|"$/g, "").trim() : "";
    let after = { t: -Infinity, s: -1 };
    if (typeof input.nextToken === "string") {
      const [t, s] = Buffer.from(input.nextToken, "base64url").toString().split(":").map(Number);
      if (!Number.isFinite(t) || !Number.isInteger(s)) throw new AwsError("InvalidParameterException", "The specified nextToken is invalid.");
      after = { t: t!, s: s! };
    }
    const later = (e: LogEvent) => e.timestamp > after.t || (e.timestamp === after.t && e.sequence > after.s);
    const limit = typeof input.limit === "number" && input.limit > 0 ? input.limit : 10_000;
    const matching = streams
      .flatMap((s) => this.visible(s).map((e) => ({ stream: s.name, event: e })))
      .filter(
        ({ event }) =>
          later(event) &&
          (!pattern || event.message.includes(pattern)) &&
          (typeof input.startTime !== "number" || event.timestamp >= input.startTime) &&
          (typeof input.endTime !== "number" || event.timestamp <= input.endTime),
      )
      // Ordered by the events' own (host-clock) timestamps, not by arrival.
      .sort((a, b) => a.event.timestamp - b.event.timestamp || a.event.sequence - b.event.sequence);
    const page = matching.slice(0, limit);
    const last = page.at(-1);
    return {
      events: page.map(({ stream, event }) => ({
        logStreamName: stream,
        timestamp: event.timestamp,
        message: event.message,
        ingestionTime: event.ingestionTime,
        eventId: String(event.sequence).padStart(20, "0"),
      })),
      searchedLogStreams: streams.map((s) => ({ logStreamName: s.name, searchedCompletely: true })),
      nextToken: matching.length > page.length && last ? Buffer.from(`${last.event.timestamp}:${last.event.sequence}`).toString("base64url") : undefined,
    };
  }

  private describeLogStreams(input: Record<string, unknown>) {
    const group = this.group(input.logGroupName);
    const prefix = typeof input.logStreamNamePrefix === "string" ? input.logStreamNamePrefix : "";
    if (prefix && input.orderBy === "LastEventTime") {
      throw new AwsError("InvalidParameterException", "Cannot order by LastEventTime with a logStreamNamePrefix.");
    }
    let streams = [...group.streams.values()].filter((s) => s.name.startsWith(prefix));
    streams.sort((a, b) =>
      input.orderBy === "LastEventTime"
        ? (a.events.at(-1)?.timestamp ?? 0) - (b.events.at(-1)?.timestamp ?? 0)
        : a.name.localeCompare(b.name),
    );
    if (input.descending === true) streams = streams.reverse();
    const { page, nextToken } = paginate(streams, input.limit, input.nextToken, 50);
    return {
      logStreams: page.map((s) => ({
        logStreamName: s.name,
        creationTime: s.creationTime,
        firstEventTimestamp: this.visible(s)[0]?.timestamp,
        lastEventTimestamp: this.visible(s).at(-1)?.timestamp,
        lastIngestionTime: this.visible(s).at(-1)?.ingestionTime,
        arn: `arn:aws:logs:${this.region}:${this.accountId}:log-group:${group.name}:log-stream:${s.name}`,
        storedBytes: 0,
      })),
      nextToken,
    };
  }
}

/** Join lines into as few events as fit MAX_EVENT_BYTES each (one over-long line is cut); never an empty event. */
export function batch(lines: string[]): string[] {
  const events: string[] = [];
  let current = "";
  for (const raw of lines) {
    const line = Buffer.byteLength(raw) > MAX_EVENT_BYTES ? Buffer.from(raw).subarray(0, MAX_EVENT_BYTES).toString("utf8") : raw;
    const joined = current ? `${current}\n${line}` : line;
    if (current && Buffer.byteLength(joined) > MAX_EVENT_BYTES) {
      events.push(current);
      current = line;
    } else current = joined;
  }
  // PutLogEvents rejects empty messages, so the agent never sends them.
  if (current.trim().length > 0) events.push(current);
  return events.filter((e) => e.length > 0);
}
