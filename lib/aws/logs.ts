import { FilterLogEventsCommand, type CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";

export interface LogCursor {
  /** Only events at or after this time (ms) are asked for. */
  startTime: number;
  /** Event ids already taken at exactly startTime, so the boundary is not read twice. */
  seen: string[];
}

export interface LiveLine {
  instanceId: string;
  stream: "stdout" | "stderr";
  text: string;
  timestamp: number;
}

/**
 * Reads what the SSM agent has uploaded since the cursor, for every host and both streams of one
 * command, in one FilterLogEvents call (plus pages): stream names are
 * `<commandId>/<instanceId>/aws-runShellScript/stdout|stderr`.
 */
export async function tailCommandOutput(
  logs: CloudWatchLogsClient,
  logGroup: string,
  commandId: string,
  cursor: LogCursor,
): Promise<{ lines: LiveLine[]; cursor: LogCursor }> {
  const lines: LiveLine[] = [];
  const seen = new Set(cursor.seen);
  let startTime = cursor.startTime;
  let boundary = new Set(cursor.seen);
  let nextToken: string | undefined;
  try {
    do {
      const page = await logs.send(
        new FilterLogEventsCommand({ logGroupName: logGroup, logStreamNamePrefix: `${commandId}/`, startTime: cursor.startTime, nextToken }),
      );
      for (const event of page.events ?? []) {
        const id = event.eventId ?? `${event.logStreamName}:${event.timestamp}:${event.message}`;
        if (seen.has(id)) continue;
        seen.add(id);
        const [, instanceId = "", , streamName = ""] = (event.logStreamName ?? "").split("/");
        lines.push({ instanceId, stream: streamName === "stderr" ? "stderr" : "stdout", text: event.message ?? "", timestamp: event.timestamp ?? 0 });
        const timestamp = event.timestamp ?? 0;
        if (timestamp > startTime) {
          startTime = timestamp;
          boundary = new Set([id]);
        } else if (timestamp === startTime) {
          boundary.add(id);
        }
      }
      nextToken = page.nextToken;
    } while (nextToken);
  } catch (error) {
    // The group or streams appear only once the agent first uploads: nothing to read yet.
    if ((error as { name?: string }).name === "ResourceNotFoundException") return { lines, cursor };
    throw error;
  }
  lines.sort((a, b) => a.timestamp - b.timestamp);
  return { lines, cursor: { startTime, seen: [...boundary] } };
}
