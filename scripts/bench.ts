// `npm run bench`: Deckhand's packer against the runbook's `tar czf` + upload, on a reproducible tree,
// against the sandbox's S3; SSM calls per status poll cycle; peak RSS packing a big tree.
// A benchmark, not a test: it prints figures and their ratios to the targets and writes them as JSON.
//
//   BENCH_MB=200        size of the mixed tree (source text, minified JS, already-compressed images)
//   BENCH_RUNS=3        rounds; every figure is the median of these
//   BENCH_BIG_MB=2048   tree for the peak-RSS phase (hard links of the first tree; 0 skips it)
//   BENCH_JSON=path     where the JSON goes (default bench-results.json)
//   BENCH_SSM_HOSTS=2,50
//   BENCH_PANEL=0       skips the panel's figures (live latency in Chromium, history at 10,000 deploys)
import { DeleteObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { SSMClient } from "@aws-sdk/client-ssm";
import { spawn, execFileSync } from "node:child_process";
import { createCipheriv, createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { fileURLToPath } from "node:url";
import { Upload } from "@aws-sdk/lib-storage";
import { UPLOAD_PART_SIZE, UPLOAD_QUEUE_SIZE, addObjectMetadata, uploadBundle } from "../lib/aws/s3";
import { listInvocations, sendScript } from "../lib/aws/ssm";
import { packBundle } from "../lib/bundle/pack";
import { newSandboxCredentials, type SandboxCredentials } from "../lib/sandbox/auth";
import { startJsonService } from "../lib/sandbox/awsJson";
import { SimulatedHost } from "../lib/sandbox/hosts";
import { LogStore } from "../lib/sandbox/logs";
import { SsmService } from "../lib/sandbox/ssm";
import type { Figure } from "./bench/figure";
import { historyFigures } from "./bench/history";
import { liveLatencyFigures } from "./bench/live-latency";

const SELF = fileURLToPath(import.meta.url);
const ROOT = path.resolve(path.dirname(SELF), "..");
const PATHS = ["src", "dist", "public"];
const REGION = "ap-south-1";
const MiB = 1024 * 1024;


// ---------------------------------------------------------------------------------------------
// A reproducible tree: same seed, same bytes, every run and every machine.

function mulberry32(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = (
  "const let return function async await import export from default class extends new this if else for while of in " +
  "deploy bundle host service config manifest upload status output stream error result value index length map filter " +
  "reduce push props state render component request response handler options timeout retry region bucket prefix key " +
  "string number boolean undefined null true false Promise Error Buffer JSON parse stringify console log debug"
).split(" ");

function sourceText(random: () => number, size: number): Buffer {
  const lines: string[] = [];
  let length = 0;
  while (length < size) {
    const depth = Math.floor(random() * 4);
    const count = 2 + Math.floor(random() * 10);
    const tokens: string[] = [];
    for (let i = 0; i < count; i++) tokens.push(random() < 0.1 ? String(Math.floor(random() * 10000)) : WORDS[Math.floor(random() * WORDS.length)]);
    const line = "  ".repeat(depth) + (random() < 0.08 ? "// " : "") + tokens.join(random() < 0.5 ? " " : ".") + (random() < 0.6 ? ";" : " {");
    lines.push(line);
    length += line.length + 1;
  }
  return Buffer.from(lines.join("\n")).subarray(0, size);
}

function minifiedJs(random: () => number, size: number): Buffer {
  const parts: string[] = [];
  let length = 0;
  const ident = () => String.fromCharCode(97 + Math.floor(random() * 26)) + (random() < 0.5 ? String.fromCharCode(65 + Math.floor(random() * 26)) : "") + (random() < 0.3 ? Math.floor(random() * 10) : "");
  while (length < size) {
    const r = random();
    const part =
      r < 0.3 ? `${ident()}=${ident()}(${ident()},${Math.floor(random() * 1e6)});`
      : r < 0.5 ? `function ${ident()}(${ident()},${ident()}){return ${ident()}.${WORDS[Math.floor(random() * WORDS.length)]}(${ident()})}`
      : r < 0.7 ? `"${WORDS[Math.floor(random() * WORDS.length)]}-${Math.floor(random() * 0xffffff).toString(16)}":`
      : r < 0.85 ? `${ident()}?${ident()}:${ident()}||${ident()}&&!0,`
      : `[${Math.floor(random() * 1e4)},${Math.floor(random() * 1e4)},${ident()}],`;
    parts.push(part);
    length += part.length;
  }
  return Buffer.from(parts.join("")).subarray(0, size);
}

/** Already-compressed bytes (as JPEG/PNG/woff2 are): an AES-CTR keystream, deterministic per file. */
function compressedImage(index: number, size: number): Buffer {
  const key = createHash("sha256").update(`deckhand-bench-image-${index}`).digest();
  const stream = createCipheriv("aes-256-ctr", key, Buffer.alloc(16)).update(Buffer.alloc(size));
  Buffer.from([0xff, 0xd8, 0xff, 0xe0]).copy(stream);
  return stream;
}

/** ~35% source text in small files, ~25% minified JS bundles, ~40% already-compressed images. */
function buildTree(dir: string, megabytes: number): { files: number; bytes: number } {
  const random = mulberry32(20251123);
  const budget = megabytes * MiB;
  let files = 0;
  let bytes = 0;
  const write = (relative: string, data: Buffer) => {
    fs.mkdirSync(path.dirname(path.join(dir, relative)), { recursive: true });
    fs.writeFileSync(path.join(dir, relative), data);
    files++;
    bytes += data.length;
  };
  for (let i = 0, made = 0; made < budget * 0.35; i++) {
    const size = 500 + Math.floor(random() * random() * 48_000);
    write(`src/pkg${i % 40}/mod${Math.floor(i / 40) % 20}/file${i}.ts`, sourceText(random, size));
    made += size;
  }
  for (let i = 0, made = 0; made < budget * 0.25; i++) {
    const size = 20_000 + Math.floor(random() * 400_000);
    write(`dist/assets/chunk-${i}.${(i * 2654435761 >>> 0).toString(16)}.js`, minifiedJs(random, size));
    made += size;
  }
  for (let i = 0, made = 0; made < budget * 0.4; i++) {
    const size = 20_000 + Math.floor(random() * 1_500_000);
    write(`public/img/${i % 10}/photo-${i}.${i % 3 === 0 ? "png" : "jpg"}`, compressedImage(i, size));
    made += size;
  }
  return { files, bytes };
}

// ---------------------------------------------------------------------------------------------
// Helpers

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const seconds = (from: number) => (performance.now() - from) / 1000;
const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;

/** Runs `tar czf` under bash's `time`: wall seconds and the CPU seconds of tar and gzip together. */
function timedTarCzf(file: string, tree: string): Promise<{ wall: number; cpu: number }> {
  const quoted = [file, tree, ...PATHS].map((arg) => `'${arg.replace(/'/g, "'\\''")}'`);
  const script = `TIMEFORMAT='%R %U %S'; time tar czf ${quoted[0]} -C ${quoted[1]} ${quoted.slice(2).join(" ")}`;
  return new Promise((resolve, reject) => {
    const child = spawn("bash", ["-c", script], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("error", reject);
    child.on("exit", (code) => {
      const times = stderr.trim().split("\n").pop()!.split(" ").map(Number);
      if (code !== 0 || times.length !== 3 || times.some(Number.isNaN)) return reject(new Error(`tar czf failed (${code}): ${stderr}`));
      resolve({ wall: times[0], cpu: times[1] + times[2] });
    });
  });
}

/** CPU seconds this process (every thread, the pack workers included) spent since `from`. */
const cpuSince = (from: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(from);
  return (used.user + used.system) / 1e6;
};

interface BenchS3 {
  url: string;
  bucket: string;
  credentials: SandboxCredentials;
  stop(): void;
}

async function startS3(): Promise<BenchS3> {
  const child = spawn(process.execPath, [...process.execArgv, path.join(ROOT, "scripts/bench-s3.ts"), "deckhand-bench", "--exit-with-stdin"], { cwd: ROOT, stdio: ["pipe", "pipe", "inherit"] });
  const line = await new Promise<string>((resolve, reject) => {
    let text = "";
    child.stdout.on("data", (chunk) => {
      text += chunk;
      if (text.includes("\n")) resolve(text.split("\n")[0]);
    });
    child.on("exit", (code) => reject(new Error(`the S3 server exited with ${code}`)));
  });
  const { url, bucket, credentials } = JSON.parse(line) as Omit<BenchS3, "stop">;
  return { url, bucket, credentials, stop: () => child.kill("SIGTERM") };
}

const s3For = (server: BenchS3) => new S3Client({ region: REGION, endpoint: server.url, forcePathStyle: true, credentials: server.credentials });

const nullSink = (): Writable =>
  new Writable({
    write(_chunk, _encoding, callback) {
      callback();
    },
  });

// ---------------------------------------------------------------------------------------------
// Peak RSS packing a big tree, in a child process that loads only the packer and the upload.

interface BigTreeResult {
  copies: number;
  runtime: string;
  sdkRss: number;
  idleRss: number;
  packSeconds: number;
  packBytes: number;
  packPeakRss: number;
  packUploadSeconds: number;
  packUploadPeakRss: number;
  resettable: boolean;
  files: number;
}

/**
 * How the RSS child runs. By default as plain JavaScript under plain node (bundled by esbuild, the
 * AWS SDK in its own chunk loaded only for the upload phase): what a built Deckhand runs, without
 * tsx's loader thread, which alone adds ~35 MiB to any process it starts. BENCH_RSS_RUNTIME=tsx
 * runs the child under tsx as the rest of the bench.
 */
async function rssChild(): Promise<{ runtime: string; args: string[]; cleanup(): void }> {
  const source = path.join(ROOT, "scripts/bench-rss-child.ts");
  if (process.env.BENCH_RSS_RUNTIME === "tsx") return { runtime: "tsx", args: [...process.execArgv, source], cleanup() {} };
  const { build } = await import("esbuild");
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), "deckhand-bench-rss-"));
  await build({
    entryPoints: [source],
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node20",
    outdir,
    outExtension: { ".js": ".mjs" },
    mainFields: ["module", "main"], // the SDK's ES build: named exports across the dynamic import
    logLevel: "warning",
    banner: { js: 'import { createRequire as __deckhandRequire } from "node:module"; const require = __deckhandRequire(import.meta.url);' },
  });
  return { runtime: "node (bundled)", args: [path.join(outdir, "bench-rss-child.mjs")], cleanup: () => fs.rmSync(outdir, { recursive: true, force: true }) };
}

async function measureBigTreeRss(tree: string, megabytes: number, bigMegabytes: number, s3: BenchS3): Promise<BigTreeResult> {
  const big = fs.mkdtempSync(path.join(os.tmpdir(), "deckhand-bench-big-"));
  const copies = Math.max(1, Math.round(bigMegabytes / megabytes));
  // Hard links: the same bytes as the first tree, no extra disk, every byte still read and compressed.
  for (let i = 0; i < copies; i++) execFileSync("cp", ["-al", tree, path.join(big, `copy${i}`)]);
  const command = await rssChild();
  try {
    const output = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, command.args, {
        env: { ...process.env, BENCH_TREE: big, BENCH_S3: s3.url, BENCH_BUCKET: s3.bucket, BENCH_S3_CREDENTIALS: JSON.stringify(s3.credentials) },
        stdio: ["ignore", "pipe", "inherit"],
      });
      let text = "";
      child.stdout.on("data", (chunk) => (text += chunk));
      child.on("error", reject);
      child.on("exit", (code) => (code === 0 ? resolve(text) : reject(new Error(`the RSS child exited with ${code}`))));
    });
    return { copies, runtime: command.runtime, ...(JSON.parse(output.trim().split("\n").pop()!) as Omit<BigTreeResult, "copies" | "runtime">) };
  } finally {
    command.cleanup();
    fs.rmSync(big, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// SSM calls per status poll cycle, counted at the sandbox's SSM endpoint.

/**
 * One status poll cycle of the watcher. Today's watcher (lib/deploy/deploy.ts watchDeploy) makes
 * exactly this call once per cycle for all hosts of a command; when the lead's runner exposes its
 * cycle as a function, pass that here instead so the bench measures the engine itself.
 */
export type PollCycle = (ssm: SSMClient, commandId: string) => Promise<{ terminal: boolean }>;
const TERMINAL = new Set(["Success", "Failed", "Cancelled", "TimedOut"]);
const listInvocationsCycle: PollCycle = async (ssm, commandId) => {
  const invocations = await listInvocations(ssm, commandId);
  return { terminal: invocations.length > 0 && invocations.every((i) => TERMINAL.has(i.Status ?? "")) };
};

async function measureSsmCalls(hostCount: number, pollCycle: PollCycle = listInvocationsCycle) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "deckhand-bench-ssm-"));
  const credentials = newSandboxCredentials();
  const mountPoint = path.join(root, "ec2");
  fs.mkdirSync(mountPoint, { recursive: true });
  const hosts = Array.from(
    { length: hostCount },
    (_, i) =>
      new SimulatedHost({
        root,
        instanceId: `i-${(0xbe0000 + i).toString(16).padStart(17, "0")}`,
        name: `bench ${i}`,
        mountPoint,
        binDir: path.join(ROOT, "lib/sandbox/bin"),
        s3Endpoint: "http://127.0.0.1:9",
        credentials,
        region: REGION,
        slowMs: 0,
      }),
  );
  const service = new SsmService({
    region: REGION,
    s3Endpoint: "http://127.0.0.1:9",
    hosts,
    logs: new LogStore(REGION, "000000000000"),
    timing: { pendingMs: 300, invisibleMs: 400, logFlushMs: 1000, timeScale: 1 },
    workRoot: path.join(root, "agent"),
    writeOutput: async () => {},
  });
  const counts: Record<string, number> = {};
  const operations = Object.fromEntries(
    Object.entries(service.operations()).map(([name, operation]) => [
      name,
      (input: Record<string, unknown>) => {
        counts[name] = (counts[name] ?? 0) + 1;
        return operation(input);
      },
    ]),
  );
  const server = await startJsonService({ targetPrefix: "AmazonSSM", operations, credentials });
  const ssm = new SSMClient({ region: REGION, endpoint: server.url, credentials });
  try {
    const commandId = await sendScript(ssm, {
      instanceIds: hosts.map((h) => h.instanceId),
      script: "#!/bin/bash\nset -euo pipefail\nfor i in 1 2 3; do echo step $i; sleep 0.5; done\n",
      executionTimeoutSeconds: 60,
      deliveryTimeoutSeconds: 60,
      comment: "bench",
    });
    const perCycle: number[] = [];
    const deadline = Date.now() + 60_000;
    for (;;) {
      const before = Object.values(counts).reduce((a, b) => a + b, 0);
      const { terminal } = await pollCycle(ssm, commandId);
      perCycle.push(Object.values(counts).reduce((a, b) => a + b, 0) - before);
      if (terminal) break;
      if (Date.now() > deadline) throw new Error(`the ${hostCount}-host command did not end within 60 s`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    return { hosts: hostCount, cycles: perCycle.length, callsPerCycleMax: Math.max(...perCycle), callsPerCycleMean: round(perCycle.reduce((a, b) => a + b, 0) / perCycle.length), byOperation: { ...counts } };
  } finally {
    service.stop();
    await Promise.all(hosts.map((h) => h.stop()));
    await server.close();
    fs.rmSync(root, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// The panel's figures, each from its own module (both start the built panel with a sandbox):
// host line → browser latency on the deploy page in Chromium (scripts/bench/live-latency.ts, which builds
// the panel when the sources are newer), then dashboard / history / bundles response times and server
// memory at 10,000 deploys / 1 GB of output (scripts/bench/history.ts). BENCH_PANEL=0 skips both.

async function panelFigures(): Promise<Record<string, Figure> | null> {
  if (process.env.BENCH_PANEL === "0") return null;
  return { ...(await liveLatencyFigures()), ...(await historyFigures()) };
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const megabytes = Number(process.env.BENCH_MB ?? 200);
  const rounds = Math.max(1, Number(process.env.BENCH_RUNS ?? 3));
  const bigMegabytes = Number(process.env.BENCH_BIG_MB ?? 2048);
  const jsonPath = path.resolve(process.env.BENCH_JSON ?? "bench-results.json");
  const hostCounts = (process.env.BENCH_SSM_HOSTS ?? "2,50").split(",").map(Number).filter((n) => n > 0);
  const machine = {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? "unknown",
    memoryGiB: round(os.totalmem() / 1024 ** 3, 1),
    node: process.version,
    platform: `${os.type()} ${os.release()}`,
    loadAverageAtStart: os.loadavg().map((v) => round(v)),
  };
  console.log(`machine: ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGiB} GiB, node ${machine.node}; load ${machine.loadAverageAtStart.join(" ")}`);

  const tree = fs.mkdtempSync(path.join(os.tmpdir(), "deckhand-bench-tree-"));
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "deckhand-bench-out-"));
  let t = performance.now();
  const built = buildTree(tree, megabytes);
  console.log(`tree: ${built.files} files, ${(built.bytes / MiB).toFixed(1)} MiB (text, minified JS, compressed images) in ${seconds(t).toFixed(1)} s`);

  const server = await startS3();
  const s3 = s3For(server);
  const results: Record<string, unknown> = { machine, tree: { ...built, megabytes } };
  try {
    const samples = { tarCpu: [] as number[], packCpu: [] as number[], tar: [] as number[], tarUpload: [] as number[], baseline: [] as number[], pack: [] as number[], hashPass: [] as number[], packUpload: [] as number[], load: [] as number[] };
    let tarSize = 0;
    let packSize = 0;
    for (let round_ = 0; round_ < rounds; round_++) {
      samples.load.push(os.loadavg()[0]);
      // The runbook: tar czf, then upload the finished file (lib-storage's Upload with its defaults, same client, same server).
      const file = path.join(work, "bundle.tar.gz");
      const tar = await timedTarCzf(file, tree);
      const tarSeconds = tar.wall;
      samples.tarCpu.push(tar.cpu);
      tarSize = fs.statSync(file).size;
      const u = performance.now();
      await new Upload({ client: s3, params: { Bucket: server.bucket, Key: "bench/baseline.tar.gz", Body: fs.createReadStream(file), ContentType: "application/gzip" } }).done();
      const uploadSeconds = seconds(u);
      samples.tar.push(tarSeconds);
      samples.tarUpload.push(uploadSeconds);
      samples.baseline.push(tarSeconds + uploadSeconds);
      await s3.send(new DeleteObjectCommand({ Bucket: server.bucket, Key: "bench/baseline.tar.gz" }));
      fs.rmSync(file);

      // Deckhand: pack alone (to a sink), then pack → upload as one stream.
      t = performance.now();
      const cpu = process.cpuUsage();
      const packed = await packBundle({ repoDir: tree, label: "bench", services: ["bench"], paths: PATHS, replace: [] });
      samples.hashPass.push(seconds(t));
      await pipeline(packed.stream, nullSink());
      samples.pack.push(seconds(t));
      samples.packCpu.push(cpuSince(cpu));
      packSize = (await packed.done).size;

      t = performance.now();
      const streamed = await packBundle({ repoDir: tree, label: "bench", services: ["bench"], paths: PATHS, replace: [] });
      // As the upload phase: the stream, then the tarball's sha256 added by a server-side copy.
      const etag = await uploadBundle(s3, { bucket: server.bucket, key: "bench/deckhand.tar.gz", body: streamed.stream, metadata: { "content-sha256": streamed.contentSha256 } });
      await addObjectMetadata(s3, server.bucket, "bench/deckhand.tar.gz", { sha256: (await streamed.done).sha256 }, etag);
      samples.packUpload.push(seconds(t));
      await s3.send(new DeleteObjectCommand({ Bucket: server.bucket, Key: "bench/deckhand.tar.gz" }));
      console.log(
        `round ${round_ + 1}/${rounds} (load ${os.loadavg()[0].toFixed(2)}): tar czf ${tarSeconds.toFixed(2)} s (cpu ${tar.cpu.toFixed(2)} s) + upload ${uploadSeconds.toFixed(2)} s | pack ${samples.pack.at(-1)!.toFixed(2)} s (cpu ${samples.packCpu.at(-1)!.toFixed(2)} s, hash pass ${samples.hashPass.at(-1)!.toFixed(2)} s) | pack+upload ${samples.packUpload.at(-1)!.toFixed(2)} s`,
      );
    }
    const m = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)])) as Record<keyof typeof samples, number>;
    const figures: Record<string, Figure> = {
      packUploadVsBaseline: { value: round(m.packUpload / m.baseline), unit: "×", target: "≤ 0.6", met: m.packUpload / m.baseline <= 0.6, note: `${m.packUpload.toFixed(2)} s vs tar czf + upload ${m.baseline.toFixed(2)} s` },
      // Under load from other processes a pair (baseline and Deckhand, measured back to back) shares
      // the conditions; the median of the per-round ratios is the steadier figure.
      packUploadVsBaselinePaired: { value: round(median(samples.packUpload.map((v, i) => v / samples.baseline[i]))), unit: "×", target: "≤ 0.6", met: median(samples.packUpload.map((v, i) => v / samples.baseline[i])) <= 0.6, note: `median of per-round ratios: ${samples.packUpload.map((v, i) => (v / samples.baseline[i]).toFixed(2)).join(" ")}` },
      packVsTarCzfPaired: { value: round(median(samples.pack.map((v, i) => v / samples.tar[i]))), unit: "×", target: "≤ 1.0", met: median(samples.pack.map((v, i) => v / samples.tar[i])) <= 1.0, note: `median of per-round ratios: ${samples.pack.map((v, i) => (v / samples.tar[i]).toFixed(2)).join(" ")}` },
      packCpuVsTarCzfCpu: { value: round(m.packCpu / m.tarCpu), unit: "×", note: `CPU seconds, all threads: ${m.packCpu.toFixed(2)} s vs tar + gzip ${m.tarCpu.toFixed(2)} s (less sensitive to other load than wall time)` },
      packVsTarCzf: { value: round(m.pack / m.tar), unit: "×", target: "≤ 1.0", met: m.pack / m.tar <= 1.0, note: `${m.pack.toFixed(2)} s (hash pass ${m.hashPass.toFixed(2)} s) vs ${m.tar.toFixed(2)} s` },
      bundleSizeVsTarCzf: { value: round(packSize / tarSize, 3), unit: "×", target: "≤ 1.10", met: packSize / tarSize <= 1.1, note: `${packSize} vs ${tarSize} bytes` },
    };
    results.packUpload = { rounds, medianSeconds: Object.fromEntries(Object.entries(m).map(([k, v]) => [k, round(v, 3)])), samples, tarSize, packSize };

    if (bigMegabytes > 0) {
      const big = await measureBigTreeRss(tree, megabytes, bigMegabytes, server);
      results.bigTree = big;
      figures.peakRssPacking = { value: round(big.packPeakRss / MiB, 0), unit: "MiB", target: "≤ 150", met: big.packPeakRss / MiB <= 150, note: `${big.copies} × ${megabytes} MiB tree (${big.files} files) packed in ${big.packSeconds.toFixed(1)} s; ${big.runtime}, process idle ${Math.round(big.idleRss / MiB)} MiB` };
      figures.peakRssPackUpload = { value: round(big.packUploadPeakRss / MiB, 0), unit: "MiB", target: "≤ 150", met: big.packUploadPeakRss / MiB <= 150, note: `same tree packed and uploaded in ${big.packUploadSeconds.toFixed(1)} s (multipart: ${UPLOAD_PART_SIZE / MiB} MiB parts, ${UPLOAD_QUEUE_SIZE} in flight, fixed buffers); idle with the AWS SDK loaded ${Math.round(big.sdkRss / MiB)} MiB` };
    }

    const ssm = [];
    for (const hostCount of hostCounts) {
      const measured = await measureSsmCalls(hostCount);
      ssm.push(measured);
      figures[`ssmCallsPerCycle${hostCount}Hosts`] = { value: measured.callsPerCycleMax, unit: "calls", target: "1", met: measured.callsPerCycleMax === 1, note: `${measured.cycles} cycles; ${JSON.stringify(measured.byOperation)}` };
    }
    results.ssm = ssm;

    const panel = await panelFigures();
    if (panel) Object.assign(figures, panel);
    else results.notMeasuredHere = ["dashboard/history/bundles response times at 10,000 deploys (BENCH_PANEL=0)", "host line → browser latency p50/p95 (BENCH_PANEL=0)"];

    results.loadAverageAtEnd = os.loadavg().map((v) => round(v));
    results.loadAverageDuringRounds = samples.load.map((v) => round(v));
    results.figures = figures;
    console.log("\nfigure                        value      target   met   detail");
    for (const [name, figure] of Object.entries(figures)) {
      console.log(
        `${name.padEnd(29)} ${`${figure.value} ${figure.unit}`.padEnd(10)} ${(figure.target ?? "").padEnd(8)} ${figure.met === undefined ? "" : figure.met ? "yes" : "NO "}   ${figure.note ?? ""}`,
      );
    }
    fs.writeFileSync(jsonPath, JSON.stringify(results, null, 2) + "\n");
    console.log(`\nwritten to ${jsonPath}`);
  } finally {
    server.stop();
    fs.rmSync(tree, { recursive: true, force: true });
    fs.rmSync(work, { recursive: true, force: true });
  }
}

await main();
