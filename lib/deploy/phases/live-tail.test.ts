// The eager tail against the sandbox's CloudWatch Logs (real SDK, real wire, its ingestion delay):
// while lines flow the tail is read again within EAGER_TAIL_MS; when quiet it backs off.
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
import type { DeployContext } from "../context";
import type { Job } from "../job";
import { EAGER_TAIL_MS, LiveTail, QUIET_TAIL_MS } from "./live-tail";

const GROUP = "/deckhand/ssm";
const A = "i-0123456789abcdef0";
const INGESTION_DELAY_MS = 300;

let db: Db;
let dir: string;
let server: RunningServer;
let store: LogStore;
let calls = 0;
let logs: CloudWatchLogsClient;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "deckhand-tail-"));
  db = openDatabase(path.join(dir, "history.db"));
  store = new LogStore("ap-south-1", "000000000000", { ingestionDelayMs: INGESTION_DELAY_MS });
  store.createGroup(GROUP);
  const credentials = newSandboxCredentials();
  const operations = store.operations();
  const counted = { ...operations, FilterLogEvents: (input: Record<string, unknown>) => (calls++, operations.FilterLogEvents(input)) };
  server = await startJsonService({ targetPrefix: "Logs_20140328", operations: counted, credentials });
  logs = new CloudWatchLogsClient({ region: "ap-south-1", endpoint: server.url, credentials });
});

afterAll(async () => {
  logs?.destroy();
  await server?.close();
  await db?.$disconnect();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("LiveTail.follow", () => {
  it("reads again quickly while lines flow, backs off when quiet, and stores every line once", async () => {
    await insertDeploy(db, { id: "tail-1", environment: "sandbox", kind: "deploy", services: ["audit"], label: "audit", bundleKey: "k", bundleBucket: "b", createdBy: "me" });
    await changeStatus(db, "tail-1", { from: "queued", to: "sending", message: "sending" });
    await createHostRuns(db, "tail-1", 1, "cmd-tail", [{ instanceId: A, name: "EC2 a" }]);
    const runs = [{ id: `tail-1-1-${A}`, instanceId: A }];
    const ctx = { db, aws: () => ({ logs }) } as unknown as DeployContext;
    const job = { deployId: "tail-1", environment: { region: "ap-south-1" } } as unknown as Job;
    const tail = new LiveTail(ctx, job, GROUP);

    // Quiet: over 3 s, at most one read per QUIET_TAIL_MS.
    calls = 0;
    expect(await tail.follow(3_000, ["cmd-tail"], runs)).toBe(0);
    expect(calls).toBeLessThanOrEqual(Math.ceil(3_000 / QUIET_TAIL_MS));

    // Flowing: a batch of lines about once a second, as the agent uploads; each stored soon after CloudWatch
    // makes it searchable, the gaps between batches included (a read that finds nothing is not "quiet").
    const uploaded = new Map<string, number>();
    let n = 0;
    const upload = () => {
      const batch = [0, 1, 2].map(() => `line ${n++}`);
      for (const text of batch) uploaded.set(text, Date.now());
      store.append(GROUP, `cmd-tail/${A}/aws-runShellScript/stdout`, [batch.join("\n")]);
    };
    upload();
    const agent = setInterval(upload, 1_000);
    let stored = 0;
    try {
      stored = await tail.follow(6_500, ["cmd-tail"], runs);
    } finally {
      clearInterval(agent);
    }
    const rows = await db.outputChunk.findMany({ where: { hostRunId: runs[0].id }, orderBy: { id: "asc" } });
    expect(rows.length).toBe(stored);
    expect(new Set(rows.map((r) => r.text)).size).toBe(rows.length); // de-duplicated
    expect(rows.length).toBeGreaterThanOrEqual(15);
    // Searchable → stored, after the first batch (found by a quiet read): within one eager interval plus a read's time.
    const lags = rows.slice(3).map((r) => r.at.getTime() - (uploaded.get(r.text)! + INGESTION_DELAY_MS));
    lags.sort((a, b) => a - b);
    const p95 = lags[Math.floor(lags.length * 0.95)];
    expect(p95, `searchable → stored lags: ${lags.join(", ")} ms`).toBeLessThan(EAGER_TAIL_MS + 250);
  });
});
