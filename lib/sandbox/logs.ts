// CloudWatch Logs stand-in: the read API Deckhand uses to stream live Run Command output.
import { AwsError, type Operation, paginate } from "./awsJson";

interface LogEvent {
  sequence: number; // group-wide order, used by FilterLogEvents tokens
  timestamp: number;
  ingestionTime: number;
  message: string;
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
  ) {}

  /** What the SSM agent does: create group/stream on first use, then append. */
  append(groupName: string, streamName: string, messages: string[]): void {
    let group = this.groups.get(groupName);
    if (!group) {
      group = { name: groupName, creationTime: Date.now(), streams: new Map(), nextSequence: 0 };
      this.groups.set(groupName, group);
    }
    let stream = group.streams.get(streamName);
    if (!stream) {
      stream = { name: streamName, creationTime: Date.now(), events: [] };
      group.streams.set(streamName, stream);
    }
    const now = Date.now();
    for (const message of messages) {
      // PutLogEvents rejects empty messages, so the agent never sends them.
      if (message.length === 0) continue;
      stream.events.push({ sequence: group.nextSequence++, timestamp: now, ingestionTime: now, message });
    }
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
    return {
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
  }

  /** Tokens are "f/<index>" and "b/<index>": positions in the stream, like the real opaque tokens. */
  private getLogEvents(input: Record<string, unknown>) {
    const stream = this.stream(this.group(input.logGroupName), input.logStreamName);
    const limit = typeof input.limit === "number" && input.limit > 0 ? Math.min(input.limit, 10_000) : 10_000;
    const inRange = (e: LogEvent) =>
      (typeof input.startTime !== "number" || e.timestamp >= input.startTime) &&
      (typeof input.endTime !== "number" || e.timestamp < input.endTime);
    const events = stream.events;
    let from: number;
    let to: number;
    const token = typeof input.nextToken === "string" ? input.nextToken : undefined;
    if (token) {
      const match = /^([fb])\/(\d+)$/.exec(token);
      if (!match) throw new AwsError("InvalidParameterException", "The specified nextToken is invalid.");
      const position = Number(match[2]);
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
    const after = typeof input.nextToken === "string" ? Number(Buffer.from(input.nextToken, "base64url").toString()) : -1;
    if (Number.isNaN(after)) throw new AwsError("InvalidParameterException", "The specified nextToken is invalid.");
    const limit = typeof input.limit === "number" && input.limit > 0 ? input.limit : 10_000;
    const matching = streams
      .flatMap((s) => s.events.map((e) => ({ stream: s.name, event: e })))
      .filter(
        ({ event }) =>
          event.sequence > after &&
          (!pattern || event.message.includes(pattern)) &&
          (typeof input.startTime !== "number" || event.timestamp >= input.startTime) &&
          (typeof input.endTime !== "number" || event.timestamp <= input.endTime),
      )
      .sort((a, b) => a.event.sequence - b.event.sequence);
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
      nextToken: matching.length > page.length && last ? Buffer.from(String(last.event.sequence)).toString("base64url") : undefined,
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
        firstEventTimestamp: s.events[0]?.timestamp,
        lastEventTimestamp: s.events.at(-1)?.timestamp,
        lastIngestionTime: s.events.at(-1)?.ingestionTime,
        arn: `arn:aws:logs:${this.region}:${this.accountId}:log-group:${group.name}:log-stream:${s.name}`,
        storedBytes: 0,
      })),
      nextToken,
    };
  }
}
