// The eager tail against the sandbox's CloudWatch Logs (real SDK, real wire, its two delays: a stream
// can be read STREAM_READ_DELAY_MS after upload, searched INGESTION_DELAY_MS after): while lines flow
// the tail is read again as soon as its call budget allows; when quiet it backs off.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase, type Db } from "../../history/db";
import { changeStatus, createHostRuns, insertDeploy } from "../../history/deploys";
import { startJsonService, type RunningServer } from "../../sandbox/awsJson";
import { newSandboxCredentials } from "../../sandbox/auth";
import { LogStore } from "../../sandbox/logs";
import { parseCursor, STREAM_PAGE_EVENTS, tailStreams } from "../../aws/logs";
import type { DeployContext } from "../context";
import type { Job } from "../job";
import { EAGER_TAIL_MS, LiveTail, COLD_STREAM_MS, QUIET_TAIL_MS, STREAM_TAIL_MAX_HOSTS, TAIL_CALLS_PER_SECOND } from "./live-tail";

const GROUP = "/deckhand/ssm";
const A = "i-0123456789abcdef0";
const INGESTION_DELAY_MS = 1500;
const STREAM_READ_DELAY_MS = 150;

let db: Db;
let dir: string;
let server: RunningServer;
let store: LogStore;
const calls = { GetLogEvents: 0, FilterLogEvents: 0 };
const readsByStream = new Map<string, number>();
let logs: CloudWatchLogsClient;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "deckhand-tail-"));
  db = openDatabase(path.join(dir, "history.db"));
  store = new LogStore("ap-south-1", "000000000000", { ingestionDelayMs: INGESTION_DELAY_MS, streamReadDelayMs: STREAM_READ_DELAY_MS });
  store.createGroup(GROUP);
  const credentials = newSandboxCredentials();
  const operations = store.operations();
  const counted = {
    ...operations,
    FilterLogEvents: (input: Record<string, unknown>) => (calls.FilterLogEvents++, operations.FilterLogEvents(input)),
    GetLogEvents: (input: Record<string, unknown>) => {
      calls.GetLogEvents++;
      readsByStream.set(String(input.logStreamName), (readsByStream.get(String(input.logStreamName)) ?? 0) + 1);
      return operations.GetLogEvents(input);
    },
  };
  server = await startJsonService({ targetPrefix: "Logs_20140328", operations: counted, credentials });
  logs = new CloudWatchLogsClient({ region: "ap-south-1", endpoint: server.url, credentials });
});

afterAll(async () => {
  logs?.destroy();
  await server?.close();
  await db?.$disconnect();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A deploy with `hosts` host runs on one command; returns what a LiveTail needs. */
async function tailedDeploy(id: string, hosts: string[]) {
  await insertDeploy(db, { id, environment: "sandbox", kind: "deploy", services: ["audit"], label: "audit", bundleKey: "k", bundleBucket: "b", createdBy: "me" });
  await changeStatus(db, id, { from: "queued", to: "sending", message: "sending" });
  const commandId = `cmd-${id}`;
  await createHostRuns(db, id, 1, commandId, hosts.map((instanceId, i) => ({ instanceId, name: `EC2 ${i}` })));
  const runs = hosts.map((instanceId) => ({ id: `${id}-1-${instanceId}`, instanceId, commandId }));
  const ctx = { db, aws: () => ({ logs }) } as unknown as DeployContext;
  const job = { deployId: id, environment: { region: "ap-south-1" } } as unknown as Job;
  return { tail: new LiveTail(ctx, job, GROUP), runs, commandId };
}

/**
 * The agent's uploads, about once a second, three lines each, to the first host's stdout while the tail
 * follows for `forMs`; returns each line's upload time and the rows stored for that host.
 */
async function flowingLines(tail: LiveTail, commandId: string, runs: { id: string; instanceId: string; commandId: string }[], forMs: number) {
  const uploaded = new Map<string, number>();
  let n = 0;
  const upload = () => {
    const batch = [0, 1, 2].map(() => `${commandId} line ${n++}`);
    for (const text of batch) uploaded.set(text, Date.now());
    store.append(GROUP, `${commandId}/${runs[0]!.instanceId}/aws-runShellScript/stdout`, [batch.join("\n")]);
  };
  upload();
  const agent = setInterval(upload, 1_000);
  let stored = 0;
  try {
    stored = await tail.follow(forMs, [commandId], runs);
  } finally {
    clearInterval(agent);
  }
  const rows = await db.outputChunk.findMany({ where: { hostRunId: runs[0]!.id }, orderBy: { id: "asc" } });
  expect(rows.length).toBe(stored);
  expect(new Set(rows.map((r) => r.text)).size).toBe(rows.length); // every line once
  return { uploaded, rows };
}

/** p95 of (stored − visible) over the rows after the first batch (found by a quiet read). */
function lagP95(rows: { text: string; at: Date }[], uploaded: Map<string, number>, visibleAfterMs: number) {
  const lags = rows.slice(3).map((r) => r.at.getTime() - (uploaded.get(r.text)! + visibleAfterMs));
  lags.sort((a, b) => a - b);
  return { p95: lags[Math.floor(lags.length * 0.95)]!, lags };
}

describe("tailStreams", () => {
  it("one GetLogEvents per stream while the stream has less than a page; a full page reads on; each line once", async () => {
    const stream = `cmd-pages/${A}/aws-runShellScript/stdout`;
    store.append(GROUP, stream, ["a\nb"]);
    store.append(GROUP, stream, ["c"]);
    await new Promise((resolve) => setTimeout(resolve, STREAM_READ_DELAY_MS + 100));
    calls.GetLogEvents = 0;
    const first = await tailStreams(logs, GROUP, [stream], parseCursor(null));
    expect(calls.GetLogEvents).toBe(1);
    expect(first.lines.map((l) => l.text)).toEqual(["a", "b", "c"]);
    expect(first.withLines).toEqual([stream]);

    // More than a page at once (one line per event here): read on until the rest, nothing twice.
    for (let i = 0; i < STREAM_PAGE_EVENTS + 20; i++) store.append(GROUP, stream, [`n${i}`]);
    await new Promise((resolve) => setTimeout(resolve, STREAM_READ_DELAY_MS + 100));
    calls.GetLogEvents = 0;
    const second = await tailStreams(logs, GROUP, [stream], first.cursor);
    expect(calls.GetLogEvents).toBe(2);
    expect(second.lines.map((l) => l.text)).toEqual(Array.from({ length: STREAM_PAGE_EVENTS + 20 }, (_, i) => `n${i}`));
    calls.GetLogEvents = 0;
    const third = await tailStreams(logs, GROUP, [stream, `cmd-pages/${A}/aws-runShellScript/stderr`], second.cursor);
    expect(third.lines).toEqual([]);
    expect(third.withLines).toEqual([]);
    expect(calls.GetLogEvents).toBe(2); // one per stream; the never-created stderr is not an error
  });
});

describe("LiveTail.follow", () => {
  it("a small fleet: each host's streams read directly, soon after upload, within the call budget; quiet reads back off", async () => {
    const hosts = [A, "i-0123456789abcdef1"];
    const { tail, runs, commandId } = await tailedDeploy("tail-streams", hosts);

    // Quiet, no stream created yet: each missing stream asked for at most once per COLD_STREAM_MS.
    calls.GetLogEvents = calls.FilterLogEvents = 0;
    expect(await tail.follow(3_000, [commandId], runs)).toBe(0);
    expect(calls.FilterLogEvents).toBe(0);
    expect(calls.GetLogEvents).toBeGreaterThan(0);
    expect(calls.GetLogEvents).toBeLessThanOrEqual(2 * hosts.length * Math.ceil(3_000 / Math.max(QUIET_TAIL_MS, COLD_STREAM_MS)));

    calls.GetLogEvents = 0;
    readsByStream.clear();
    const started = Date.now();
    const { uploaded, rows } = await flowingLines(tail, commandId, runs, 6_500);
    const perSecond = calls.GetLogEvents / ((Date.now() - started) / 1000);
    expect(perSecond, `${calls.GetLogEvents} GetLogEvents calls`).toBeLessThanOrEqual(TAIL_CALLS_PER_SECOND.GetLogEvents);
    // The eager reads go to the flowing stream; the quiet ones (never created here) about once per COLD_STREAM_MS.
    const flowing = readsByStream.get(`${commandId}/${hosts[0]}/aws-runShellScript/stdout`) ?? 0;
    const quiet = readsByStream.get(`${commandId}/${hosts[1]}/aws-runShellScript/stdout`) ?? 0;
    expect(quiet).toBeGreaterThan(0);
    expect(quiet).toBeLessThanOrEqual(Math.ceil(6_500 / (COLD_STREAM_MS - EAGER_TAIL_MS)) + 1);
    expect(flowing, JSON.stringify(Object.fromEntries(readsByStream))).toBeGreaterThanOrEqual(2 * quiet);
    expect(rows.length).toBeGreaterThanOrEqual(15);
    const { p95, lags } = lagP95(rows, uploaded, STREAM_READ_DELAY_MS);
    // Readable → stored: within one eager wait (the budget's, for the streams that exist) plus a read's time.
    // One flowing stream; three cold ones take ~3 calls a second of the budget.
    const eagerWait = Math.max(EAGER_TAIL_MS, 1000 / (TAIL_CALLS_PER_SECOND.GetLogEvents - (3 * 1000) / COLD_STREAM_MS));
    expect(p95, `readable → stored lags: ${lags.join(", ")} ms`).toBeLessThan(eagerWait + 250);
    // Far sooner than a search could have seen them.
    expect(p95 + STREAM_READ_DELAY_MS).toBeLessThan(INGESTION_DELAY_MS);
  });

  it(`past ${STREAM_TAIL_MAX_HOSTS} hosts: one FilterLogEvents per read for the whole command, every line once`, async () => {
    const hosts = Array.from({ length: STREAM_TAIL_MAX_HOSTS + 1 }, (_, i) => `i-0aaaaaaaaaaaaaa${i.toString(16).padStart(2, "0")}`);
    const { tail, runs, commandId } = await tailedDeploy("tail-search", hosts);

    calls.GetLogEvents = calls.FilterLogEvents = 0;
    expect(await tail.follow(3_000, [commandId], runs)).toBe(0);
    expect(calls.GetLogEvents).toBe(0);
    expect(calls.FilterLogEvents).toBeLessThanOrEqual(Math.ceil(3_000 / QUIET_TAIL_MS));

    calls.FilterLogEvents = 0;
    const started = Date.now();
    const { uploaded, rows } = await flowingLines(tail, commandId, runs, 6_500);
    expect(calls.GetLogEvents).toBe(0);
    expect(calls.FilterLogEvents / ((Date.now() - started) / 1000)).toBeLessThanOrEqual(TAIL_CALLS_PER_SECOND.FilterLogEvents);
    expect(rows.length).toBeGreaterThanOrEqual(9);
    const { p95, lags } = lagP95(rows, uploaded, INGESTION_DELAY_MS);
    const eagerWait = Math.max(EAGER_TAIL_MS, 1000 / TAIL_CALLS_PER_SECOND.FilterLogEvents);
    expect(p95, `searchable → stored lags: ${lags.join(", ")} ms`).toBeLessThan(eagerWait + 250);
  });
});
