// A year of history for the benchmark and the scale tests: `npx tsx scripts/seed-history.ts FILE [deploys]`.
// Fills a fresh SQLite file (migrations applied, so the triggers keep LiveService and the output index)
// with deploys over a year, two hosts each, ~50 KB of output per host run split as SSM/S3 leaves it:
// the final stdout/stderr on HostRun and the live lines as OutputChunk rows. Written with better-sqlite3
// directly, prepared statements, in large transactions: fast enough to run before a bench.
import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { migrateDatabase } from "../lib/history/migrate";

export interface SeedOptions {
  deploys?: number;
  /** Bytes of output per host run (stdout + stderr + live chunks), roughly. */
  outputBytes?: number;
  environment?: string;
  hosts?: { instanceId: string; name: string }[];
  services?: string[];
  days?: number;
  /** The newest deploy's time (default now). */
  until?: Date;
  seed?: number;
}

export const SEED_USERS = ["asha@laptop", "ravi@build-box", "mei@laptop", "jon@ops", "deploy-bot@ci"];
export const SEED_STATUSES = ["succeeded", "succeeded", "succeeded", "succeeded", "succeeded", "succeeded", "succeeded", "succeeded", "failed", "partially_failed", "checks_failed", "cancelled"];
/** A word printed by one host run in 500: what a search for a rare failure finds. */
export const RARE_WORD = "kraken";

const WORDS =
  "step load build context transferring resolve image layer cache extract copy install npm ci added packages audited found vulnerabilities compiled successfully bundle size gzip chunk asset route static dynamic prerender restart container recreate network volume health check passed waiting ready listening port worker gateway audit ui nginx reload config ok done warn deprecated peer dependency optional skipped fetch manifest verify sha256 match owner chown extract tar members replaced dist assets index hashed".split(
    " ",
  );

const iso = (ms: number) => new Date(ms).toISOString().replace("Z", "+00:00");

/** A deterministic stream of pseudo-random numbers (the same seed gives the same history). */
function rng(seed: number) {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
}

export function seedHistory(file: string, options: SeedOptions = {}) {
  const deploys = options.deploys ?? 10_000;
  const outputBytes = options.outputBytes ?? 50_000;
  const environment = options.environment ?? "sandbox";
  const hosts = options.hosts ?? [
    { instanceId: "i-5eed0000000000a01", name: "EC2 a" },
    { instanceId: "i-5eed0000000000b02", name: "EC2 b" },
  ];
  const services = options.services ?? ["ui", "audit", "gateway"];
  const days = options.days ?? 365;
  const until = (options.until ?? new Date()).getTime();
  const random = rng(options.seed ?? 42);
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]!;

  fs.rmSync(file, { force: true });
  for (const suffix of ["-wal", "-shm", "-journal"]) fs.rmSync(file + suffix, { force: true });
  migrateDatabase(file);
  const db = new Database(file);
  db.pragma("journal_mode = OFF");
  db.pragma("synchronous = OFF");
  db.pragma("cache_size = -200000");

  const insertDeploy = db.prepare(
    `INSERT INTO Deploy (id, environment, kind, services, label, bundleKey, bundleBucket, bundleSha256, bundleSize, manifest, script, status, error, commandId, attempt, createdBy, gitSha, createdAt, finishedAt)
     VALUES (?, ?, ?, ?, ?, ?, 'deckhand-sandbox', ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?)`,
  );
  const insertRun = db.prepare(
    `INSERT INTO HostRun (id, deployId, attempt, commandId, instanceId, hostName, status, statusDetails, responseCode, stdout, stderr, startedAt, finishedAt) VALUES (?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const insertChunk = db.prepare(`INSERT INTO OutputChunk (hostRunId, stream, text, at) VALUES (?, ?, ?, ?)`);
  const insertEvent = db.prepare(`INSERT INTO DeployEvent (deployId, phase, message, bytes, total, at) VALUES (?, ?, ?, ?, ?, ?)`);
  const insertCheck = db.prepare(`INSERT INTO CheckRun (deployId, trigger, ok, checks, hosts, wrongHosts, summary, at) VALUES (?, 'deploy', ?, ?, '[]', '[]', ?, ?)`);

  const span = days * 86_400_000;
  const start = until - span;
  const keysByService = new Map<string, string[]>();
  const script = `#!/bin/bash\nset -euo pipefail\n${"# host script line: download, verify sha256, extract, compose build and up\n".repeat(60)}`;
  let bytes = 0;

  const lines = (count: number, n: number, host: string) => {
    const out: string[] = [];
    for (let i = 0; i < count; i++) {
      const words = Array.from({ length: 6 + Math.floor(random() * 8) }, () => pick(WORDS)).join(" ");
      out.push(`#${i} [${host}] ${words} ${Math.floor(random() * 100_000)}ms step-${n}-${i}`);
    }
    return out;
  };

  const one = (n: number) => {
    const at = start + Math.floor(((n + random()) / deploys) * span);
    const chosen = services.filter(() => random() < 0.35);
    if (chosen.length === 0) chosen.push(pick(services));
    const label = chosen.join("-");
    const previous = chosen.length === 1 ? keysByService.get(chosen[0]!) : undefined;
    const kindRoll = random();
    const kind = previous && previous.length > 1 && kindRoll < 0.1 ? "rollback" : previous && previous.length > 0 && kindRoll < 0.15 ? "redeploy" : "deploy";
    const bundleKey = kind === "rollback" ? previous!.at(-2)! : kind === "redeploy" ? previous!.at(-1)! : `deployments/acp_${label}_1.${Math.floor(n / 100)}.${n % 100}_${Math.floor(at / 1000)}.tar.gz`;
    if (kind === "deploy") for (const s of chosen) keysByService.set(s, [...(keysByService.get(s) ?? []).slice(-5), bundleKey]);
    const status = pick(SEED_STATUSES);
    const id = `seed${n.toString(36).padStart(5, "0")}${Math.floor(random() * 36 ** 4).toString(36).padStart(4, "0")}`;
    const who = pick(SEED_USERS);
    const finished = at + 40_000 + Math.floor(random() * 200_000);
    const manifest = JSON.stringify({ services: chosen, layout: { kind: "repo" }, files: chosen.flatMap((s) => Array.from({ length: 12 }, (_, i) => ({ path: `services/${s}/src/file${i}.ts`, sha256: "0".repeat(64), size: 1000 + i }))) });
    insertDeploy.run(id, environment, kind, JSON.stringify(chosen), label, bundleKey, "a".repeat(64), 1_000_000 + n, manifest, script, status, status === "succeeded" ? null : `${status.replace("_", " ")}: see the hosts`, `cmd-${id}`, who, (n * 2654435761).toString(16).padStart(8, "0").repeat(5).slice(0, 40), iso(at), status === "cancelled" && random() < 0.02 ? null : iso(finished));
    for (const [phase, message] of [["build", "npm run build: done"], ["pack", "packed 812 files"], ["upload", "uploaded"], ["send", "sent to 2 hosts"], ["watch", "watching"], ["state", "running"], ["state", status]] as const) {
      insertEvent.run(id, phase, message, phase === "upload" ? 1_000_000 : null, phase === "upload" ? 1_000_000 : null, iso(at + 1000));
    }
    insertCheck.run(id, status === "succeeded" ? 1 : 0, JSON.stringify([{ name: "system health", ok: status === "succeeded" }]), status === "succeeded" ? "all checks passed" : "system health failed", iso(finished));
    hosts.forEach((host, h) => {
      const failed = status === "failed" || (status === "partially_failed" && h === 1) || status === "cancelled";
      const hostStatus = status === "cancelled" ? "Cancelled" : failed ? "Failed" : "Success";
      const runId = `${id}-1-${host.instanceId}`;
      // ~80% of a run's output in the final stdout, a little stderr, the rest as live chunks.
      const stdoutLines = lines(Math.round((outputBytes * 0.8) / 95), n, host.name);
      if (random() < 1 / 500) stdoutLines.splice(Math.floor(stdoutLines.length / 2), 0, `${RARE_WORD}-error: connection reset by peer while pulling layer for ${label}`);
      stdoutLines.push(`==> deploy ${id} of ${label} ${failed ? "failed" : "done"}`);
      const stdout = stdoutLines.join("\n");
      const stderr = lines(Math.round((outputBytes * 0.04) / 95), n, host.name).map((l) => `warning: ${l}`).join("\n");
      bytes += stdout.length + stderr.length;
      insertRun.run(runId, id, `cmd-${id}`, host.instanceId, host.name, hostStatus, hostStatus, failed ? 1 : 0, stdout, stderr, iso(at + 5000), iso(finished - 1000 + h));
      const live = lines(Math.round((outputBytes * 0.16) / 95), n, host.name);
      for (let c = 0; c < live.length; c += 8) {
        const text = live.slice(c, c + 8).join("\n");
        bytes += text.length;
        insertChunk.run(runId, "stdout", text, iso(at + 6000 + c * 100));
      }
      insertChunk.run(runId, "status", hostStatus, iso(finished));
    });
  };

  const began = Date.now();
  const batch = db.transaction((from: number, to: number) => {
    for (let n = from; n < to; n++) one(n);
  });
  for (let n = 0; n < deploys; n += 500) batch(n, Math.min(deploys, n + 500));
  db.pragma("journal_mode = WAL");
  db.close();
  return { file, deploys, hostRuns: deploys * hosts.length, outputBytes: bytes, fileBytes: fs.statSync(file).size, seconds: (Date.now() - began) / 1000, hosts, environment };
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  const file = process.argv[2];
  if (!file) {
    console.error("usage: npx tsx scripts/seed-history.ts FILE [deploys]");
    process.exit(2);
  }
  const result = seedHistory(path.resolve(file), { deploys: process.argv[3] ? Number(process.argv[3]) : undefined });
  console.log(JSON.stringify(result, null, 2));
}
