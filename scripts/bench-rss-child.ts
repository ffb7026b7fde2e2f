// Child of scripts/bench.ts: peak RSS of a process that only packs (and uploads) a big tree, its
// worker threads included. Imports nothing but the packer (and, for the second phase only, the
// upload), so the first peak is the packer's and not the AWS SDK's.
import fs from "node:fs";
import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { packBundle } from "../lib/bundle/pack";

const readPeakRss = () => {
  const match = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync("/proc/self/status", "utf8"));
  return match ? Number(match[1]) * 1024 : process.memoryUsage().rss;
};
/** Resets the kernel's peak-RSS counter for this process (Linux ≥ 4.0), so each phase has its own peak. */
const resetPeakRss = () => {
  try {
    fs.writeFileSync("/proc/self/clear_refs", "5");
    return true;
  } catch {
    return false;
  }
};
const seconds = (from: number) => (performance.now() - from) / 1000;

const tree = process.env.BENCH_TREE!;
const bucket = process.env.BENCH_BUCKET!;
const paths = fs.readdirSync(tree).sort();
const request = { repoDir: tree, label: "big", services: ["big"], paths, replace: [] };

const idleRss = process.memoryUsage().rss;
const resettable = resetPeakRss();
let t = performance.now();
// A block: the first pack (its manifest included) is garbage by the second phase, as in a deploy.
const { packSeconds, packBytes, files } = await (async () => {
  const packed = await packBundle(request);
  await pipeline(packed.stream, new Writable({ write: (_chunk, _encoding, callback) => callback() }));
  return { packSeconds: seconds(t), packBytes: (await packed.done).size, files: packed.manifest.files.length };
})();
const packPeakRss = readPeakRss();

const { DeleteObjectCommand, S3Client } = await import("@aws-sdk/client-s3");
const { uploadBundle } = await import("../lib/aws/s3");
const s3 = new S3Client({ region: "ap-south-1", endpoint: process.env.BENCH_S3!, forcePathStyle: true, credentials: JSON.parse(process.env.BENCH_S3_CREDENTIALS!) });
const sdkRss = process.memoryUsage().rss;
resetPeakRss();
t = performance.now();
const again = await packBundle(request);
await uploadBundle(s3, { bucket, key: "bench/big.tar.gz", body: again.stream, metadata: {} });
await again.done;
const packUploadSeconds = seconds(t);
const packUploadPeakRss = readPeakRss();
await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: "bench/big.tar.gz" }));
process.stdout.write(JSON.stringify({ idleRss, sdkRss, resettable, packSeconds, packBytes, packPeakRss, packUploadSeconds, packUploadPeakRss, files }) + "\n");
