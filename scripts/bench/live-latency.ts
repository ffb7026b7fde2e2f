/**
 * Host line → browser latency (issue 11): the built panel against a fresh sandbox, the deploy page
 * open in Chromium, and a deploy whose host prints timestamped lines over time (a RUN line in the
 * sample repo's audit Dockerfile: the sandbox's `docker compose build` runs it on each host). For
 * each line: the time printed on the host (in the line) → the time its row appears in the page's DOM
 * (a MutationObserver in the page, performance.timeOrigin + now). CloudWatch's part is measured too:
 * each line's upload time (the event's ingestionTime) and when the sandbox lets it be read from its
 * stream (+ its configured stream-read delay; a search would wait the longer ingestion delay), so
 * Deckhand's own share is shown apart. Two hosts: Deckhand reads each host's streams directly.
 *
 * Alone: `npx tsx scripts/bench/live-latency.ts` (LIVE_BENCH_LINES, LIVE_BENCH_INTERVAL_MS, LIVE_BENCH_PORT).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { CloudWatchLogsClient, FilterLogEventsCommand } from "@aws-sdk/client-cloudwatch-logs";
import { chromium } from "@playwright/test";
import { panelBuildIsStale } from "../panel-build.mjs";
import { percentile, type Figure } from "./figure";

export type { Figure } from "./figure";

export interface LiveLatencyOptions {
  /** Lines each host prints (default 60; two hosts, so twice as many samples). */
  lines?: number;
  /** Time between two lines on a host (default 250 ms). */
  intervalMs?: number;
  /** The panel's port (default 3251). */
  port?: number;
  /** Debian's Chromium (default /usr/bin/chromium). */
  chromiumPath?: string;
  log?: (message: string) => void;
}

const ROOT = path.resolve(import.meta.dirname, "../..");
const TICK = /tick (\d+) (\d{13})/;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const round = (n: number, digits = 3) => Math.round(n * 10 ** digits) / 10 ** digits;

/** As scripts/start.mjs: `next build` when the sources are newer than the build. */
function buildIfStale(log: (m: string) => void) {
  if (!panelBuildIsStale(ROOT)) return;
  log("building the panel (next build)…");
  const result = spawnSync(process.execPath, [path.join(ROOT, "node_modules/next/dist/bin/next"), "build"], { cwd: ROOT, stdio: "inherit", env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1" } });
  if (result.status !== 0) throw new Error(`next build failed (exit ${result.status})`);
}

async function waitFor<T>(what: string, read: () => T | Promise<T>, ok: (value: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(200);
  }
}

function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

/** Runs in the page before its scripts: the first time each tick line's row is in the DOM. */
const OBSERVER = `
  (() => {
    const seen = {};
    window.__ticks = seen;
    const pattern = /tick (\\d+) (\\d{13})/;
    const record = (row) => {
      const match = pattern.exec(row.textContent || "");
      if (!match) return;
      const pane = row.closest('[data-testid^="host-output-"]');
      const instanceId = ((pane && pane.getAttribute("data-testid")) || "").replace("host-output-", "");
      const key = instanceId + " " + match[1];
      if (!seen[key]) seen[key] = { instanceId, n: Number(match[1]), printed: Number(match[2]), seenAt: performance.timeOrigin + performance.now() };
    };
    new MutationObserver((mutations) => {
      for (const mutation of mutations)
        for (const node of mutation.addedNodes) {
          if (!(node instanceof Element)) continue;
          if (node.hasAttribute("data-stream")) record(node);
          node.querySelectorAll("[data-stream]").forEach(record);
        }
    }).observe(document, { childList: true, subtree: true });
  })();
`;

interface Seen {
  instanceId: string;
  n: number;
  printed: number;
  seenAt: number;
}

export async function liveLatencyFigures(options: LiveLatencyOptions = {}): Promise<Record<string, Figure>> {
  const log = options.log ?? ((m: string) => console.log(`[live-latency] ${m}`));
  const lines = options.lines ?? 60;
  const intervalMs = options.intervalMs ?? 250;
  const port = options.port ?? 3251;
  buildIfStale(log);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "deckhand-bench-live-"));
  const children: ChildProcess[] = [];
  let browser: Awaited<ReturnType<typeof chromium.launch>> | undefined;
  const load = [os.loadavg()[0]];
  try {
    // The sandbox, as scripts/start.mjs starts it.
    const envFile = path.join(dir, "sandbox.json");
    const sandbox = spawn(process.execPath, ["--import", "tsx", "lib/sandbox/cli.ts", "--endpoints-file", envFile, "--root", path.join(dir, "sandbox")], { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"], env: process.env });
    children.push(sandbox);
    await waitFor("the sandbox to start", () => fs.existsSync(envFile), Boolean, 90_000);
    const started = JSON.parse(fs.readFileSync(envFile, "utf8")) as { env: Record<string, string>; root: string; hosts: { instanceId: string; name: string }[] };
    const state = (await (await fetch(`${started.env.DECKHAND_SANDBOX_CONTROL_URL}/state`)).json()) as { timing: { ingestionDelayMs: number; streamReadDelayMs: number; timeScale: number } };
    const { ingestionDelayMs, streamReadDelayMs } = state.timing;

    // The host prints timestamped lines over time: a RUN step in the audit service's Dockerfile.
    const dockerfile = path.join(started.root, "repo/services/audit/Dockerfile");
    const sleepS = (intervalMs / 1000).toFixed(3);
    fs.appendFileSync(dockerfile, `RUN for i in $(seq 1 ${lines}); do echo "tick $i $(date +%s%3N)"; sleep ${sleepS}; done\n`);

    // The built panel, as `npm start` runs it (default poll interval: what an operator gets).
    const token = randomBytes(32).toString("base64url");
    const panel = spawn(process.execPath, [path.join(ROOT, "node_modules/next/dist/bin/next"), "start", "--hostname", "127.0.0.1", "--port", String(port)], {
      cwd: ROOT,
      stdio: ["ignore", "ignore", "inherit"],
      env: { ...process.env, ...started.env, PORT: String(port), DECKHAND_DB: path.join(dir, "history.db"), DECKHAND_PANEL_TOKEN: token, NEXT_TELEMETRY_DISABLED: "1" },
    });
    children.push(panel);
    const base = `http://127.0.0.1:${port}`;
    await waitFor("the panel to answer", () => fetch(`${base}/`).then((r) => r.ok, () => false), Boolean, 120_000);

    browser = await chromium.launch({
      executablePath: options.chromiumPath ?? "/usr/bin/chromium",
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
    });
    const page = await browser.newPage();
    // A string, not a function: tsx would wrap named functions in a helper the page does not have.
    await page.addInitScript(OBSERVER);
    await page.goto(`${base}/`);
    await page.getByRole("checkbox", { name: /^audit\b/ }).check();
    load.push(os.loadavg()[0]);
    log(`deploying audit; each host prints ${lines} lines, one every ${intervalMs} ms`);
    await page.getByRole("button", { name: "Deploy", exact: true }).click();
    await page.waitForURL(/\/deploys\//, { timeout: 60_000 });
    const status = page.getByTestId("deploy-status");
    await waitFor("the deploy to end", () => status.innerText().catch(() => ""), (s) => /succeeded|failed|cancelled|lost contact|checks failed/.test(s), 240_000);
    const finalStatus = await status.innerText();
    load.push(os.loadavg()[0]);
    const seen = Object.values(await page.evaluate(() => (window as unknown as { __ticks: Record<string, Seen> }).__ticks));
    if (seen.length === 0) {
      const shown = await page.locator('[data-testid^="host-output-"][role="region"]').first().innerText().catch(() => "");
      throw new Error(`no tick line reached the page (deploy ${finalStatus}); the first host's pane shows:\n${shown.slice(-3000)}`);
    }

    // CloudWatch's part: when each line was uploaded (ingestionTime), readable from its stream after the configured delay.
    const logs = new CloudWatchLogsClient({
      region: started.env.AWS_REGION,
      endpoint: started.env.AWS_ENDPOINT_URL_CLOUDWATCH_LOGS,
      credentials: { accessKeyId: started.env.AWS_ACCESS_KEY_ID, secretAccessKey: started.env.AWS_SECRET_ACCESS_KEY },
    });
    const uploadedAt = new Map<string, number>();
    let nextToken: string | undefined;
    do {
      const page = await logs.send(new FilterLogEventsCommand({ logGroupName: "/deckhand/ssm", nextToken }));
      for (const event of page.events ?? []) {
        const instanceId = (event.logStreamName ?? "").split("/")[1] ?? "";
        for (const line of (event.message ?? "").split("\n")) {
          const match = TICK.exec(line);
          if (match) uploadedAt.set(`${instanceId} ${match[1]}`, event.ingestionTime ?? NaN);
        }
      }
      nextToken = page.nextToken;
    } while (nextToken);
    logs.destroy();

    const total = seen.map((s) => s.seenAt - s.printed);
    const toUpload: number[] = [];
    const readableToDom: number[] = [];
    for (const s of seen) {
      const uploaded = uploadedAt.get(`${s.instanceId} ${s.n}`);
      if (uploaded === undefined || Number.isNaN(uploaded)) continue;
      toUpload.push(uploaded - s.printed);
      readableToDom.push(s.seenAt - (uploaded + streamReadDelayMs));
    }
    const expected = lines * started.hosts.length;
    const p95 = percentile(total, 95) / 1000;
    const floor95 = (percentile(toUpload, 95) + streamReadDelayMs) / 1000;
    const where = `${os.cpus().length} cores, load ${load.map((l) => l.toFixed(1)).join("→")}`;
    const common = `${seen.length}/${expected} lines seen (deploy ${finalStatus}); sandbox CloudWatch stream-read delay ${streamReadDelayMs / 1000} s (search: ${ingestionDelayMs / 1000} s); ${where}`;
    return {
      liveLineToBrowserP50: { value: round(percentile(total, 50) / 1000), unit: "s", note: common },
      liveLineToBrowserP95: {
        value: round(p95),
        unit: "s",
        target: "≤ 1.5 s",
        met: p95 <= 1.5,
        note: `${common}; printed → readable alone (agent upload + stream-read delay) p95 ${round(floor95)} s`,
      },
      liveUploadP95: { value: round(percentile(toUpload, 95) / 1000), unit: "s", note: "printed on the host → uploaded by the agent (the event's ingestionTime)" },
      liveReadableToBrowserP50: { value: round(percentile(readableToDom, 50) / 1000), unit: "s", note: "CloudWatch lets it be read from its stream → row in the page's DOM: Deckhand's own share" },
      liveReadableToBrowserP95: { value: round(percentile(readableToDom, 95) / 1000), unit: "s", note: `Deckhand's own share, ${readableToDom.length} lines` },
      liveSandboxStreamReadDelay: { value: streamReadDelayMs / 1000, unit: "s", note: "configured in the sandbox (lib/sandbox/index.ts): upload → readable by GetLogEvents" },
      liveSandboxIngestionDelay: { value: ingestionDelayMs / 1000, unit: "s", note: "configured in the sandbox: upload → searchable by FilterLogEvents (used past 3 hosts)" },
    };
  } finally {
    await browser?.close().catch(() => {});
    for (const child of children.reverse()) await stop(child);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const figures = await liveLatencyFigures({
    lines: process.env.LIVE_BENCH_LINES ? Number(process.env.LIVE_BENCH_LINES) : undefined,
    intervalMs: process.env.LIVE_BENCH_INTERVAL_MS ? Number(process.env.LIVE_BENCH_INTERVAL_MS) : undefined,
    port: process.env.LIVE_BENCH_PORT ? Number(process.env.LIVE_BENCH_PORT) : undefined,
  });
  for (const [name, figure] of Object.entries(figures)) {
    console.log(`${name.padEnd(28)} ${`${figure.value} ${figure.unit}`.padEnd(10)} ${(figure.target ?? "").padEnd(8)} ${figure.met === undefined ? "   " : figure.met ? "yes" : "NO "}  ${figure.note ?? ""}`);
  }
  console.log(JSON.stringify(figures, null, 2));
}
