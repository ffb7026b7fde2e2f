// `npm run bench`: measures the pack → upload pipeline and a full deploy against the local sandbox.
// A benchmark, not a test: it prints numbers to compare between changes; it asserts nothing.
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadConfig } from "../lib/config/load";
import { uploadBundle } from "../lib/aws/s3";
import { packBundle } from "../lib/bundle/pack";
import { createDeployContext } from "../lib/deploy/context";
import { startDeploy } from "../lib/deploy/deploy";
import { jobSettled } from "../lib/deploy/jobs";
import { openDatabase } from "../lib/history/db";
import { getDeployDetail } from "../lib/history/deploys";
import { startSandbox } from "../lib/sandbox";

const megabytes = Number(process.env.BENCH_MB ?? 200);
const sandbox = await startSandbox();
Object.assign(process.env, sandbox.env);
try {
  const config = await loadConfig(sandbox.configPath);
  const db = openDatabase(path.join(fs.mkdtempSync(path.join(os.tmpdir(), "deckhand-bench-")), "history.db"));
  const ctx = createDeployContext(config, db, { pollIntervalMs: 250 });

  // 1. Pack → upload of incompressible data: the pipeline streams, so peak memory stays flat.
  const repo = fs.mkdtempSync(path.join(os.tmpdir(), "deckhand-bench-repo-"));
  fs.mkdirSync(path.join(repo, "payload"));
  for (let i = 0; i < megabytes / 4; i++) fs.writeFileSync(path.join(repo, "payload", `blob-${i}.bin`), randomBytes(4 * 1024 * 1024));
  const rssBefore = process.memoryUsage().rss;
  let peakRss = rssBefore;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);
  const started = performance.now();
  const packed = await packBundle({ repoDir: repo, label: "bench", services: ["bench"], paths: ["payload"], replace: [] });
  const hashed = performance.now();
  await uploadBundle(ctx.aws(sandbox.region).s3, { bucket: sandbox.bucket, key: `bench/acp_bench_${Date.now()}.tar.gz`, body: packed.stream, metadata: {} });
  const { size } = await packed.done;
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  console.log(`pack+upload: ${megabytes} MiB in ${seconds.toFixed(2)} s (hash pass ${((hashed - started) / 1000).toFixed(2)} s) = ${(size / 1024 / 1024 / seconds).toFixed(1)} MiB/s; peak RSS +${((peakRss - rssBefore) / 1024 / 1024).toFixed(0)} MiB`);

  // 2. A whole deploy of one service to both sandbox hosts, click to both hosts Success.
  for (const service of ["audit", "ui"]) {
    const t0 = performance.now();
    const id = await startDeploy(ctx, { environment: "sandbox", services: [service] });
    await jobSettled(id);
    const detail = await getDeployDetail(db, id);
    console.log(`deploy ${service}: ${detail?.status} in ${((performance.now() - t0) / 1000).toFixed(2)} s (sandbox timings: pending 300 ms, invisible 400 ms, poll 250 ms)`);
  }
  await db.$disconnect();
  fs.rmSync(repo, { recursive: true, force: true });
} finally {
  await sandbox.stop();
}
