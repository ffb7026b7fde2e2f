// The event stream's route handler over real HTTP against a real SQLite file: resume from
// Last-Event-ID, lines pushed while the request is open, and no listener left once the client leaves.
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "deckhand-sse-route-"));
process.env.DECKHAND_DB = path.join(dir, "history.db");
delete process.env.DECKHAND_CONFIG;

const A = "i-0123456789abcdef0";
let server: http.Server;
let base: string;
let history: typeof import("@/lib/history/deploys");
let feed: typeof import("@/lib/history/feed");
let db: import("@/lib/history/db").Db;

beforeAll(async () => {
  const route = await import("./route");
  history = await import("@/lib/history/deploys");
  feed = await import("@/lib/history/feed");
  db = (await (await import("@/lib/server/deckhand")).getDeckhand()).db;
  // A minimal Node adapter, as `next start` gives the handler a Request whose signal aborts when the client leaves.
  server = http.createServer(async (req, res) => {
    const abort = new AbortController();
    res.on("close", () => abort.abort());
    const url = new URL(req.url!, "http://127.0.0.1");
    const id = decodeURIComponent(url.pathname.split("/")[3] ?? "");
    const request = new Request(url, { headers: req.headers as Record<string, string>, signal: abort.signal });
    const response = await route.GET(request, { params: Promise.resolve({ id }) });
    res.writeHead(response.status, Object.fromEntries(response.headers));
    if (response.body) Readable.fromWeb(response.body as import("node:stream/web").ReadableStream).on("error", () => res.destroy()).pipe(res);
    else res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  await db?.$disconnect();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Reads SSE messages from a response until `until` holds, with a deadline that names what it waited for. */
async function readUntil(reader: ReadableStreamDefaultReader<Uint8Array>, what: string, until: (text: string) => boolean, timeoutMs = 10_000) {
  const decoder = new TextDecoder();
  let text = "";
  const deadline = Date.now() + timeoutMs;
  while (!until(text)) {
    const next = await Promise.race([reader.read(), new Promise<"late">((resolve) => setTimeout(() => resolve("late"), Math.max(0, deadline - Date.now())))]);
    if (next === "late") throw new Error(`timed out waiting for ${what}; got: ${text.slice(-500)}`);
    if (next.done) break;
    text += decoder.decode(next.value, { stream: true });
  }
  return text;
}

async function waitForCount(what: string, read: () => number, want: number) {
  const deadline = Date.now() + 5_000;
  while (read() !== want) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} to be ${want} (is ${read()})`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("GET /api/deploys/[id]/events", () => {
  it("streams from Last-Event-ID, pushes new lines while open, and frees its listener when the client leaves", async () => {
    await history.insertDeploy(db, { id: "route-1", environment: "sandbox", kind: "deploy", services: ["audit"], label: "audit", bundleKey: "deployments/acp_audit_1.tar.gz", bundleBucket: "b", createdBy: "me" });
    await history.changeStatus(db, "route-1", { from: "queued", to: "sending", message: "sending" });
    await history.createHostRuns(db, "route-1", 1, "cmd-1", [{ instanceId: A, name: "EC2 a" }]);
    await history.changeStatus(db, "route-1", { from: "sending", to: "running", message: "running" });
    const run = `route-1-1-${A}`;
    await history.appendOutput(db, ["one", "two", "three"].map((text) => ({ hostRunId: run, stream: "stdout", text })));
    const two = (await db.outputChunk.findFirst({ where: { hostRunId: run, text: "two" } }))!.id;

    const control = new AbortController();
    // ?after=0 says "everything", but a reconnect's Last-Event-ID wins.
    const response = await fetch(`${base}/api/deploys/route-1/events?after=0`, { headers: { "last-event-id": String(two) }, signal: control.signal });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const reader = response.body!.getReader();
    const first = await readUntil(reader, "the line after the cursor", (t) => t.includes('"three"'));
    expect(first).toContain("event: deploy");
    expect(first).not.toContain('"one"');
    expect(first).not.toContain('"two"');
    expect(feed.feedListenerCount("route-1")).toBe(1);

    await history.appendOutput(db, [{ hostRunId: run, stream: "stderr", text: "pushed while open" }]);
    const pushed = await readUntil(reader, "the pushed line", (t) => t.includes("pushed while open"));
    expect(pushed).toMatch(/id: \d+\nevent: output\ndata: .*pushed while open/);

    control.abort();
    await waitForCount("the stream's feed listener after the client left", () => feed.feedListenerCount("route-1"), 0);
  });

  it("refuses a bad cursor and an unknown deploy with JSON errors", async () => {
    const bad = await fetch(`${base}/api/deploys/route-1/events?after=1;DROP`);
    expect(bad.status).toBe(400);
    expect((await bad.json()).error).toMatch(/after: not an output cursor/);
    const missing = await fetch(`${base}/api/deploys/nope/events`);
    expect(missing.status).toBe(404);
    expect((await missing.json()).error).toBe("No deploy nope.");
  });
});
