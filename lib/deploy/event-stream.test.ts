import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase, type Db } from "../history/db";
import { appendOutput, changeStatus, createHostRuns, insertDeploy, updateHostRun } from "../history/deploys";
import { feedListenerCount, notifyDeploy, notifyHostRuns, subscribeDeploy } from "../history/feed";
import { outputAfter, outputPageBefore, getDeployDetailPaged } from "../history/output-pages";
import { deployEvents, deployEventStream } from "./event-stream";

const A = "i-0123456789abcdef0";
const B = "i-0123456789abcdef1";

let db: Db;
let dir: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "deckhand-stream-"));
  db = openDatabase(path.join(dir, "history.db"));
});
afterAll(async () => {
  await db.$disconnect();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function runningDeploy(id: string): Promise<{ a: string; b: string }> {
  await insertDeploy(db, { id, environment: "sandbox", kind: "deploy", services: ["audit"], label: "audit", bundleKey: `deployments/acp_audit_${id}.tar.gz`, bundleBucket: "b", createdBy: "me" });
  await changeStatus(db, id, { from: "queued", to: "sending", message: "sending" });
  await createHostRuns(db, id, 1, `cmd-${id}`, [{ instanceId: A, name: "EC2 a" }, { instanceId: B, name: "EC2 b" }]);
  await changeStatus(db, id, { from: "sending", to: "running", message: "running" });
  return { a: `${id}-1-${A}`, b: `${id}-1-${B}` };
}

interface Parsed {
  event: string;
  id?: string;
  data?: unknown;
}

/** Parses SSE text into messages (comments kept as event ":comment"). */
function parseSse(text: string): Parsed[] {
  return text
    .split("\n\n")
    .filter((block) => block.trim())
    .map((block) => {
      const message: Parsed = { event: "message" };
      for (const line of block.split("\n")) {
        if (line.startsWith(":")) message.event = ":comment";
        else if (line.startsWith("event: ")) message.event = line.slice(7);
        else if (line.startsWith("id: ")) message.id = line.slice(4);
        else if (line.startsWith("data: ")) message.data = JSON.parse(line.slice(6));
        else if (line.startsWith("retry: ")) message.event = "retry";
      }
      return message;
    });
}

/** Takes messages from the generator until `until` says stop, failing with what it waited for after a deadline. */
async function take(events: AsyncGenerator<string>, what: string, until: (all: Parsed[]) => boolean, timeoutMs = 10_000): Promise<Parsed[]> {
  const all: Parsed[] = [];
  const deadline = Date.now() + timeoutMs;
  while (!until(all)) {
    const left = deadline - Date.now();
    const next = await Promise.race([events.next(), new Promise<"late">((resolve) => setTimeout(() => resolve("late"), Math.max(0, left)))]);
    if (next === "late") throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; got ${JSON.stringify(all.map((m) => m.event))}`);
    if (next.done) break;
    all.push(...parseSse(next.value));
  }
  return all;
}

const outputIds = (messages: Parsed[]) => messages.filter((m) => m.event === "output").flatMap((m) => (m.data as { chunks: { id: number }[] }).chunks.map((c) => c.id));

describe("deploy feed (in-process wake-ups)", () => {
  it("wakes only the streams of the deploy that changed, and unsubscribing leaves nothing behind", () => {
    const before = feedListenerCount();
    const woken: string[] = [];
    const offA = subscribeDeploy("dep-a", () => woken.push("a"));
    const offA2 = subscribeDeploy("dep-a", () => woken.push("a2"));
    const offB = subscribeDeploy("dep-ab", () => woken.push("ab"));
    expect(feedListenerCount("dep-a")).toBe(2);
    notifyDeploy("dep-a");
    expect(woken.sort()).toEqual(["a", "a2"]);
    woken.length = 0;
    notifyHostRuns([`dep-ab-1-${A}`, `dep-ab-1-${B}`]); // one wake per deploy, however many runs changed
    expect(woken).toEqual(["ab"]);
    woken.length = 0;
    notifyHostRuns([`dep-zzz-1-${A}`]);
    expect(woken).toEqual([]);
    offA();
    offA(); // idempotent
    offA2();
    offB();
    expect(feedListenerCount()).toBe(before);
  });

  it("the history writers wake a subscriber: appendOutput, updateHostRun, changeStatus", async () => {
    const { a } = await runningDeploy("feed-writers");
    let wakes = 0;
    const off = subscribeDeploy("feed-writers", () => wakes++);
    try {
      await appendOutput(db, [{ hostRunId: a, stream: "stdout", text: "hello" }]);
      expect(wakes).toBe(1);
      await updateHostRun(db, a, { status: "InProgress" });
      expect(wakes).toBe(2);
      await changeStatus(db, "feed-writers", { from: "running", to: "failed", message: "failed" });
      expect(wakes).toBe(3);
      await appendOutput(db, []); // nothing written, nobody woken
      expect(wakes).toBe(3);
    } finally {
      off();
    }
  });
});

describe("output pages", () => {
  it("outputAfter never skips a chunk when host runs interleave and pages are cut", async () => {
    const { a, b } = await runningDeploy("pages-after");
    // 300 lines of A, then 10 of B, then 300 of A: ids interleave across host runs.
    await appendOutput(db, Array.from({ length: 300 }, (_, i) => ({ hostRunId: a, stream: "stdout", text: `a${i}` })));
    await appendOutput(db, Array.from({ length: 10 }, (_, i) => ({ hostRunId: b, stream: "stderr", text: `b${i}` })));
    await appendOutput(db, Array.from({ length: 300 }, (_, i) => ({ hostRunId: a, stream: "stdout", text: `a${300 + i}` })));
    const all = await db.outputChunk.findMany({ where: { hostRunId: { in: [a, b] } }, orderBy: { id: "asc" }, select: { id: true } });
    const seen: number[] = [];
    let cursor = 0;
    for (let guard = 0; guard < 100; guard++) {
      const page = await outputAfter(db, [a, b], cursor, 100);
      expect(page.chunks.length).toBeLessThanOrEqual(100);
      seen.push(...page.chunks.map((c) => c.id));
      if (page.chunks.length) cursor = page.chunks[page.chunks.length - 1].id;
      if (!page.more) break;
    }
    expect(seen).toEqual(all.map((c) => c.id));
  });

  it("outputPageBefore walks a run backwards a page at a time; the page view loads only the newest page", async () => {
    const { a } = await runningDeploy("pages-before");
    await appendOutput(db, Array.from({ length: 2_500 }, (_, i) => ({ hostRunId: a, stream: "stdout", text: `line ${i}` })));
    const detail = (await getDeployDetailPaged(db, "pages-before", 1_000))!;
    const run = detail.hostRuns.find((r) => r.id === a)!;
    expect(run.chunks).toHaveLength(1_000);
    expect(run.chunks[0].text).toBe("line 1500");
    expect(run.chunks[999].text).toBe("line 2499");
    expect(run.liveOlder).toBe(1_500);
    const texts: string[] = run.chunks.map((c) => c.text);
    let before: number | null = run.chunks[0].id;
    for (;;) {
      const page: { chunks: { id: number; text: string }[]; hasOlder: boolean } | null = await outputPageBefore(db, "pages-before", a, before, 1_000);
      if (!page) throw new Error(`no page for host run ${a} of pages-before`);
      texts.unshift(...page.chunks.map((c) => c.text));
      if (!page.hasOlder) break;
      before = page.chunks[0].id;
    }
    expect(texts).toEqual(Array.from({ length: 2_500 }, (_, i) => `line ${i}`));
    // Another deploy's id with this host run: nothing, not its output.
    await runningDeploy("pages-other");
    expect(await outputPageBefore(db, "pages-other", a, null, 1_000)).toBeNull();
  });
});

describe("deploy event stream", () => {
  it("resumes after the client's cursor, is woken at once by a write (not by its timer), and pages a backlog", async () => {
    const { a, b } = await runningDeploy("stream-resume");
    await appendOutput(db, [1, 2, 3].map((n) => ({ hostRunId: a, stream: "stdout", text: `old ${n}` })));
    const third = (await db.outputChunk.findFirst({ where: { hostRunId: a, text: "old 3" } }))!.id;
    await appendOutput(db, [{ hostRunId: b, stream: "stderr", text: "after cursor" }]);
    const control = new AbortController();
    // A minute-long re-check: anything that arrives sooner came from the feed's wake-up.
    const events = deployEvents({ db, deployId: "stream-resume", after: third, signal: control.signal, loadState: async () => ({ id: "stream-resume" }), pageSize: 50, recheckMs: 60_000 });
    try {
      const first = await take(events, "the state and the output after the cursor", (all) => outputIds(all).length >= 1);
      expect(first.map((m) => m.event).slice(0, 2)).toEqual(["retry", "deploy"]);
      const firstOutput = first.find((m) => m.event === "output")!;
      expect((firstOutput.data as { chunks: { text: string; stream: string }[] }).chunks).toEqual([expect.objectContaining({ text: "after cursor", stream: "stderr", hostRunId: b })]);
      expect(Number(firstOutput.id)).toBe(third + 1); // the SSE id is the cursor a reconnect sends back

      // A write while the stream waits: delivered well inside the one-minute re-check.
      const started = Date.now();
      const pending = take(events, "the new line", (all) => outputIds(all).length >= 1);
      await new Promise((resolve) => setTimeout(resolve, 50));
      await appendOutput(db, [{ hostRunId: a, stream: "stdout", text: "pushed" }]);
      const pushed = await pending;
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(JSON.stringify(pushed)).toContain("pushed");

      // A backlog bigger than a page comes as several bounded events, in order, nothing skipped.
      await appendOutput(db, Array.from({ length: 120 }, (_, i) => ({ hostRunId: i % 2 ? a : b, stream: "stdout", text: `burst ${i}` })));
      const burst = await take(events, "120 burst lines", (all) => outputIds(all).length >= 120);
      const sizes = burst.filter((m) => m.event === "output").map((m) => (m.data as { chunks: unknown[] }).chunks.length);
      expect(Math.max(...sizes)).toBeLessThanOrEqual(50);
      expect(sizes.length).toBeGreaterThanOrEqual(3);
      const texts = burst.filter((m) => m.event === "output").flatMap((m) => (m.data as { chunks: { text: string }[] }).chunks.map((c) => c.text));
      expect(texts).toEqual(Array.from({ length: 120 }, (_, i) => `burst ${i}`));
      expect(feedListenerCount("stream-resume")).toBe(1);
    } finally {
      control.abort();
      await events.return(undefined);
    }
    expect(feedListenerCount("stream-resume")).toBe(0);
  });

  it("sends a new state on a status change, then ends once the deploy ended and its late lines were sent", async () => {
    const { a } = await runningDeploy("stream-end");
    let states = 0;
    const events = deployEvents({ db, deployId: "stream-end", after: 0, loadState: async () => ({ n: ++states }), endGraceMs: 400, recheckMs: 60_000 });
    await take(events, "the first state", (all) => all.some((m) => m.event === "deploy"));
    await changeStatus(db, "stream-end", { from: "running", to: "failed", message: "failed" });
    await appendOutput(db, [{ hostRunId: a, stream: "stdout", text: "late line" }]); // CloudWatch's last batch, after the end
    const rest = await take(events, "the end event", (all) => all.some((m) => m.event === "end"), 5_000);
    expect(rest.filter((m) => m.event === "deploy").length).toBeGreaterThanOrEqual(1);
    expect(JSON.stringify(rest)).toContain("late line");
    expect(rest.at(-1)?.event).toBe("end");
    expect(await events.next()).toEqual({ done: true, value: undefined });
    expect(feedListenerCount("stream-end")).toBe(0);
  });

  it("a client that goes away ends the byte stream and leaves no listener", async () => {
    await runningDeploy("stream-cancel");
    const control = new AbortController();
    const stream = deployEventStream({ db, deployId: "stream-cancel", after: 0, signal: control.signal, loadState: async () => ({}), recheckMs: 60_000 });
    const reader = stream.getReader();
    const decoder = new TextDecoder();
    let text = "";
    while (!text.includes("event: deploy")) text += decoder.decode((await reader.read()).value);
    expect(feedListenerCount("stream-cancel")).toBe(1);
    const waiting = reader.read(); // parked in the wait for a change
    control.abort();
    expect(await waiting).toEqual({ done: true, value: undefined });
    expect(feedListenerCount("stream-cancel")).toBe(0);
    // And through cancel() (the response's reader going away) as well.
    const again = deployEventStream({ db, deployId: "stream-cancel", after: 0, loadState: async () => ({}), recheckMs: 60_000 }).getReader();
    await again.read();
    expect(feedListenerCount("stream-cancel")).toBe(1);
    await again.cancel();
    expect(feedListenerCount("stream-cancel")).toBe(0);
  });

  it("sends a heartbeat comment while nothing happens", async () => {
    await runningDeploy("stream-beat");
    const control = new AbortController();
    const events = deployEvents({ db, deployId: "stream-beat", after: 0, signal: control.signal, loadState: async () => ({}), heartbeatMs: 200, recheckMs: 60_000 });
    try {
      const got = await take(events, "a heartbeat", (all) => all.some((m) => m.event === ":comment"), 3_000);
      expect(got.some((m) => m.event === ":comment")).toBe(true);
    } finally {
      control.abort();
      await events.return(undefined);
    }
  });
});
