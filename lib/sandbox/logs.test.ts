// The CloudWatch Logs stand-in's two delays and GetLogEvents' token rules, over the real wire with the SDK.
import { CloudWatchLogsClient, FilterLogEventsCommand, GetLogEventsCommand } from "@aws-sdk/client-cloudwatch-logs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startJsonService, type RunningServer } from "./awsJson";
import { newSandboxCredentials } from "./auth";
import { LogStore } from "./logs";

const GROUP = "/deckhand/ssm";
const STREAM = "cmd-1/i-0123456789abcdef0/aws-runShellScript/stdout";
const INGESTION_DELAY_MS = 1200;
const STREAM_READ_DELAY_MS = 150;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let store: LogStore;
let server: RunningServer;
let logs: CloudWatchLogsClient;

beforeAll(async () => {
  store = new LogStore("ap-south-1", "000000000000", { ingestionDelayMs: INGESTION_DELAY_MS, streamReadDelayMs: STREAM_READ_DELAY_MS });
  store.createGroup(GROUP);
  const credentials = newSandboxCredentials();
  server = await startJsonService({ targetPrefix: "Logs_20140328", operations: store.operations(), credentials });
  logs = new CloudWatchLogsClient({ region: "ap-south-1", endpoint: server.url, credentials });
});

afterAll(async () => {
  logs?.destroy();
  await server?.close();
});

describe("the sandbox's CloudWatch Logs", () => {
  it("an upload can be read from its stream after streamReadDelayMs and searched only after ingestionDelayMs", async () => {
    const uploadedAt = Date.now();
    store.append(GROUP, STREAM, ["first"]);
    const read = () => logs.send(new GetLogEventsCommand({ logGroupName: GROUP, logStreamName: STREAM, startFromHead: true }));
    const search = () => logs.send(new FilterLogEventsCommand({ logGroupName: GROUP, logStreamNamePrefix: "cmd-1/" }));

    expect((await read()).events).toEqual([]); // not even readable at once
    await sleep(STREAM_READ_DELAY_MS + 100);
    expect((await read()).events?.map((e) => e.message)).toEqual(["first"]);
    expect((await search()).events).toEqual([]);
    expect(Date.now() - uploadedAt).toBeLessThan(INGESTION_DELAY_MS); // the search above really was early

    await sleep(INGESTION_DELAY_MS - (Date.now() - uploadedAt) + 100);
    expect((await search()).events?.map((e) => e.message)).toEqual(["first"]);
  });

  it("a forward token at the end of the stream comes back unchanged, brings the next upload, and needs startFromHead", async () => {
    const head = await logs.send(new GetLogEventsCommand({ logGroupName: GROUP, logStreamName: STREAM, startFromHead: true }));
    const token = head.nextForwardToken!;
    const atEnd = await logs.send(new GetLogEventsCommand({ logGroupName: GROUP, logStreamName: STREAM, startFromHead: true, nextToken: token }));
    expect(atEnd.events).toEqual([]);
    expect(atEnd.nextForwardToken).toBe(token);

    store.append(GROUP, STREAM, ["second"]);
    await sleep(STREAM_READ_DELAY_MS + 100);
    const next = await logs.send(new GetLogEventsCommand({ logGroupName: GROUP, logStreamName: STREAM, startFromHead: true, nextToken: token }));
    expect(next.events?.map((e) => e.message)).toEqual(["second"]);
    expect(next.nextForwardToken).not.toBe(token);

    // AWS: a nextForwardToken used as nextToken requires startFromHead: true.
    await expect(logs.send(new GetLogEventsCommand({ logGroupName: GROUP, logStreamName: STREAM, nextToken: token }))).rejects.toMatchObject({ name: "InvalidParameterException" });
  });

  it("a stream the agent has not created is ResourceNotFoundException", async () => {
    await expect(logs.send(new GetLogEventsCommand({ logGroupName: GROUP, logStreamName: "cmd-1/i-0123456789abcdef0/aws-runShellScript/stderr", startFromHead: true }))).rejects.toMatchObject({
      name: "ResourceNotFoundException",
    });
  });
});
