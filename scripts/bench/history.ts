// History at a year's scale: the real built panel (`next build` output) on a seeded history of
// 10,000 deploys (two hosts each, ~50 KB output per host run, ~1 GB), against the local sandbox.
// Times GET /api/overview (the dashboard's poll), /history (first page, a filtered page, a full-text
// search) and /api/bundles — median and p95 of BENCH_HISTORY_CALLS calls after warm-up — and the
// server's RSS before and after the calls. Alone: `npx tsx scripts/bench/history.ts` (needs `npx next build`).
//
//   BENCH_HISTORY_DEPLOYS=10000   deploys to seed
//   BENCH_HISTORY_CALLS=20        timed calls per endpoint
//   BENCH_HISTORY_PORT=3291       the panel's port
import { GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { DescribeInstanceInformationCommand, SSMClient } from "@aws-sdk/client-ssm";
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { RARE_WORD, seedHistory } from "../seed-history";
import { percentile, type Figure } from "./figure";


const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const TARGET_MS = 200;

export interface HistoryBenchOptions {
  deploys?: number;
  calls?: number;
  port?: number;
  /** Progress lines (default: to stderr). */
  log?: (line: string) => void;
}

function rssMb(pid: number): { rss: number; hwm: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN);
  return { rss: kb("VmRSS") / 1024, hwm: kb("VmHWM") / 1024 };
}

async function waitFor<T>(what: string, deadlineMs: number, probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const value = await Promise.resolve(probe()).catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${deadlineMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function stop(child: ChildProcess | undefined) {
  if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
}

export async function historyFigures(opts: HistoryBenchOptions = {}): Promise<Record<string, Figure>> {
  const deploys = opts.deploys ?? Number(process.env.BENCH_HISTORY_DEPLOYS ?? 10_000);
  const calls = opts.calls ?? Number(process.env.BENCH_HISTORY_CALLS ?? 20);
  const port = opts.port ?? Number(process.env.BENCH_HISTORY_PORT ?? 3291);
  const log = opts.log ?? ((line: string) => process.stderr.write(`[bench history] ${line}\n`));
  if (!fs.existsSync(path.join(ROOT, ".next/BUILD_ID"))) throw new Error("no built panel: run `npx next build` first");

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "deckhand-bench-history-"));
  let sandbox: ChildProcess | undefined;
  let panel: ChildProcess | undefined;
  try {
    // 1. The sandbox (its hosts' instance ids are new on every start, so the history is seeded for them).
    const endpointsFile = path.join(dir, "sandbox.json");
    sandbox = spawn(process.execPath, ["--import", "tsx", "lib/sandbox/cli.ts", "--endpoints-file", endpointsFile], { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"], env: process.env });
    const sandboxInfo = await waitFor("the sandbox to start", 90_000, () =>
      fs.existsSync(endpointsFile) ? (JSON.parse(fs.readFileSync(endpointsFile, "utf8")) as { env: Record<string, string>; hosts: { instanceId: string; name: string }[] }) : undefined,
    );
    const config = JSON.parse(fs.readFileSync(sandboxInfo.env.DECKHAND_CONFIG!, "utf8")) as { environments: Record<string, { bucket: string; hosts: { instanceId: string; name: string }[] }>; services: Record<string, unknown> };
    const environment = config.environments.sandbox!;

    // 2. A year of history for those hosts.
    const dbFile = path.join(dir, "history.db");
    log(`seeding ${deploys} deploys…`);
    const seeded = seedHistory(dbFile, { deploys, hosts: environment.hosts, environment: "sandbox", services: Object.keys(config.services) });
    log(`seeded ${seeded.hostRuns} host runs, ${(seeded.outputBytes / 1e9).toFixed(2)} GB of output, file ${(seeded.fileBytes / 1e9).toFixed(2)} GB, in ${seeded.seconds.toFixed(0)} s`);

    // The bucket holds a week of bundles, as a 7-day lifecycle rule leaves it: the newest 300 seeded keys.
    const s3 = new S3Client({ region: sandboxInfo.env.AWS_REGION, endpoint: sandboxInfo.env.AWS_ENDPOINT_URL_S3, forcePathStyle: true, credentials: { accessKeyId: sandboxInfo.env.AWS_ACCESS_KEY_ID!, secretAccessKey: sandboxInfo.env.AWS_SECRET_ACCESS_KEY! } });
    const raw = new Database(dbFile, { readonly: true });
    const keys = raw.prepare(`SELECT DISTINCT bundleKey FROM Deploy WHERE kind = 'deploy' ORDER BY createdAt DESC LIMIT 300`).pluck().all() as string[];
    raw.close();
    for (let i = 0; i < keys.length; i += 20) {
      await Promise.all(keys.slice(i, i + 20).map((key) => s3.send(new PutObjectCommand({ Bucket: environment.bucket, Key: key, Body: randomBytes(2048) }))));
    }

    // 3. The built panel, as scripts/start.mjs starts it: the sandbox's env, this history, a fresh token.
    const token = randomBytes(32).toString("base64url");
    panel = spawn(process.execPath, [path.join(ROOT, "node_modules/next/dist/bin/next"), "start", "--hostname", "127.0.0.1", "--port", String(port)], {
      cwd: ROOT,
      stdio: ["ignore", "ignore", "inherit"],
      env: { ...process.env, ...sandboxInfo.env, DECKHAND_DB: dbFile, DECKHAND_PANEL_TOKEN: token, PORT: String(port), NEXT_TELEMETRY_DISABLED: "1" },
    });
    const base = `http://127.0.0.1:${port}`;
    await waitFor("the panel to answer", 60_000, async () => ((await fetch(`${base}/history`)).ok ? true : undefined));

    const get = async (url: string) => {
      const started = performance.now();
      const response = await fetch(`${base}${url}`, { headers: { "x-deckhand-token": token } });
      const body = await response.text();
      const ms = performance.now() - started;
      if (!response.ok) throw new Error(`GET ${url}: ${response.status} ${body.slice(0, 300)}`);
      return { ms, body };
    };
    const endpoints: [string, string, (body: string) => boolean][] = [
      ["dashboard (/api/overview)", "/api/overview", (body) => body.includes('"live"') && body.includes('"recent"')],
      ["history page, first page", "/history", (body) => body.includes('data-testid="deploy-row"')],
      ["history page, filtered (service, status)", "/history?service=audit&status=failed", (body) => body.includes('data-testid="deploy-row"')],
      [`history page, output search "${RARE_WORD}"`, `/history?q=${RARE_WORD}`, (body) => body.includes('data-testid="output-match"')],
      ["history page, output search of a common word", "/history?q=extract", (body) => body.includes('data-testid="output-match"')],
      ["bundles (/api/bundles)", "/api/bundles?environment=sandbox", (body) => body.includes('"rows"')],
    ];
    for (const [name, url, ok] of endpoints) {
      for (let i = 0; i < 3; i++) {
        const { body } = await get(url);
        if (!ok(body)) throw new Error(`${name}: the answer does not look right: ${body.slice(0, 300)}`);
      }
    }
    // Two timed rounds of every endpoint: the figures use both; memory is read after each. "Flat" means the
    // second round adds nothing over the first (no growth with calls) — and the level is far below the
    // database's size (nothing loads history or output whole).
    const idle = rssMb(panel.pid!);
    const figures: Record<string, Figure> = {};
    const samples = new Map<string, number[]>(endpoints.map(([name]) => [name, []]));
    const afterRound: number[] = [];
    for (let round = 0; round < 2; round++) {
      for (const [name, url] of endpoints) for (let i = 0; i < calls; i++) samples.get(name)!.push((await get(url)).ms);
      afterRound.push(rssMb(panel.pid!).rss);
    }
    for (const [name] of endpoints) {
      const times = samples.get(name)!;
      const p95 = percentile(times, 95);
      figures[`${name} p50`] = { value: Math.round(percentile(times, 50) * 10) / 10, unit: "ms" };
      figures[`${name} p95`] = { value: Math.round(p95 * 10) / 10, unit: "ms", target: `≤ ${TARGET_MS} ms`, met: p95 <= TARGET_MS, note: `${times.length} calls after 3 warm-up calls` };
    }
    // A longer run of the dashboard's poll on top.
    for (let i = 0; i < calls * 3; i++) await get("/api/overview");
    const after = rssMb(panel.pid!);
    // How much of the dashboard is the sandbox's AWS: the calls it makes each poll, timed from here.
    const ssm = new SSMClient({ region: sandboxInfo.env.AWS_REGION, endpoint: sandboxInfo.env.AWS_ENDPOINT_URL_SSM, credentials: { accessKeyId: sandboxInfo.env.AWS_ACCESS_KEY_ID!, secretAccessKey: sandboxInfo.env.AWS_SECRET_ACCESS_KEY! } });
    const awsTimes: number[] = [];
    for (let i = 0; i < calls; i++) {
      const started = performance.now();
      await Promise.all([
        s3.send(new GetObjectCommand({ Bucket: environment.bucket, Key: "deployments/.deckhand/locks/sandbox.json" })).catch(() => null),
        ssm.send(new DescribeInstanceInformationCommand({})),
      ]);
      awsTimes.push(performance.now() - started);
    }
    const overview = figures["dashboard (/api/overview) p50"]!.value;
    figures["dashboard: sandbox AWS calls per poll p50"] = {
      value: Math.round(percentile(awsTimes, 50) * 10) / 10,
      unit: "ms",
      note: `the lock read (S3) and the SSM ping, in parallel, timed from the bench against the same sandbox: about ${Math.round((percentile(awsTimes, 50) / overview) * 100)}% of the dashboard's ${overview} ms (SSM ping and ALB health are cached 10 s in the panel, so most polls pay only the lock read)`,
    };
    const growth = Math.max(afterRound[1]!, after.rss) - afterRound[0]!;
    figures["panel RSS idle (after warm-up)"] = { value: Math.round(idle.rss), unit: "MB" };
    figures["panel RSS after round 1"] = { value: Math.round(afterRound[0]!), unit: "MB", note: `${endpoints.length} endpoints × ${calls} calls` };
    figures["panel RSS growth after round 1"] = {
      value: Math.round(growth * 10) / 10,
      unit: "MB",
      target: "flat (≤ 30 MB more over a second round and 60 more dashboard polls)",
      met: growth <= 30,
      note: `round 2: ${Math.round(afterRound[1]!)} MB, after ${calls * 3} more polls: ${Math.round(after.rss)} MB; peak ${Math.round(after.hwm)} MB against a ${(seeded.fileBytes / 1e9).toFixed(2)} GB database`,
    };
    figures["history seeded"] = { value: seeded.deploys, unit: "deploys", note: `${seeded.hostRuns} host runs, ${(seeded.outputBytes / 1e9).toFixed(2)} GB output (HostRun stdout/stderr + OutputChunk), database ${(seeded.fileBytes / 1e9).toFixed(2)} GB; ${keys.length} bundles in the bucket` };
    return figures;
  } finally {
    stop(panel);
    stop(sandbox);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const figures = await historyFigures();
  for (const [name, f] of Object.entries(figures)) {
    console.log(`${name.padEnd(52)} ${String(f.value).padStart(8)} ${f.unit}${f.target ? `  (target ${f.target}: ${f.met ? "met" : "NOT met"})` : ""}${f.note ? `  — ${f.note}` : ""}`);
  }
  process.exit(0);
}
