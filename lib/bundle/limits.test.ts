import { PutObjectCommand } from "@aws-sdk/client-s3";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSandbox, type Sandbox } from "../sandbox";
import { FAST_TIMING, sandboxClients } from "../sandbox/testClients";
import { hostileTarGz } from "../remote/hostile-tar";
import { listBundleObjects, listBundlePages, readBundleManifest } from "./catalog";
import { DEFAULT_LIMITS } from "./limits";
import { MANIFEST_PATH, parseManifest } from "./manifest";

let sandbox: Sandbox;
let clients: ReturnType<typeof sandboxClients>;
beforeAll(async () => {
  sandbox = await startSandbox({ timing: FAST_TIMING });
  clients = sandboxClients(sandbox);
}, 60_000);
afterAll(async () => {
  await sandbox?.stop();
});

/** A raw ustar header block (tar-stream will not write a lying size or a huge PAX header). */
function rawHeader(name: string, size: number, type: string): Buffer {
  const block = Buffer.alloc(512);
  block.write(name, 0, 100, "latin1");
  block.write("0000644\0", 100, "latin1");
  block.write("0000000\0", 108, "latin1");
  block.write("0000000\0", 116, "latin1");
  block.write(size.toString(8).padStart(11, "0") + "\0", 124, "latin1");
  block.write("00000000000\0", 136, "latin1");
  block.write(type, 156, "latin1");
  block.write("ustar\0" + "00", 257, "latin1");
  block.fill(" ", 148, 156);
  let sum = 0;
  for (const b of block) sum += b;
  block.write(sum.toString(8).padStart(6, "0") + "\0 ", 148, "latin1");
  return block;
}

/** gzip(header) + n × gzip(64 MiB of zeros): multi-member gzip, so a 2 GiB body costs ~2 MB and no time to make. */
const zeros64 = gzipSync(Buffer.alloc(64 * 1024 * 1024), { level: 9 });
function bomb(header: Buffer, members: number): Buffer {
  return Buffer.concat([gzipSync(header), ...Array.from({ length: members }, () => zeros64)]);
}

async function put(key: string, body: Buffer) {
  await clients.s3.send(new PutObjectCommand({ Bucket: sandbox.bucket, Key: key, Body: body }));
}

async function measured<T>(work: () => Promise<T>) {
  global.gc?.();
  const before = process.memoryUsage().rss;
  const started = Date.now();
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
  try {
    const result = await work().then(
      (value) => ({ value, error: null as Error | null }),
      (error: Error) => ({ value: null, error }),
    );
    return { ...result, ms: Date.now() - started, growthMb: (Math.max(peak, process.memoryUsage().rss) - before) / 1024 / 1024 };
  } finally {
    clearInterval(sampler);
  }
}

describe("bounded reads of bundles in the bucket", () => {
  it("refuses a 2 MB gzip bomb manifest (2 GiB claimed) quickly, with memory flat", async () => {
    const body = bomb(rawHeader(MANIFEST_PATH, 2 * 1024 * 1024 * 1024, "0"), 32);
    expect(body.length).toBeLessThan(3 * 1024 * 1024);
    await put("deployments/acp_bomb_1.tar.gz", body);
    const run = await measured(() => readBundleManifest(clients.s3, sandbox.bucket, "deployments/acp_bomb_1.tar.gz", "bomb"));
    expect(run.error?.message).toMatch(/manifest claims 2147483648 bytes \(limit \d+\); refused/);
    expect(run.error?.name).toBe("BundleError");
    expect(run.ms).toBeLessThan(2_000);
    expect(run.growthMb).toBeLessThan(64);
  });

  it("refuses an unbounded PAX header before tar-stream buffers it", async () => {
    const body = bomb(rawHeader("PaxHeaders/x", 1024 * 1024 * 1024, "x"), 16);
    await put("deployments/acp_pax_1.tar.gz", body);
    const run = await measured(() => readBundleManifest(clients.s3, sandbox.bucket, "deployments/acp_pax_1.tar.gz", "pax"));
    expect(run.error?.message).toMatch(/a PAX header of 1073741824 bytes \(limit 65536\); refused/);
    expect(run.ms).toBeLessThan(2_000);
    expect(run.growthMb).toBeLessThan(64);
  });

  it("stops reading a hand-made bundle past the decompressed-bytes cap, memory flat", async () => {
    const body = bomb(rawHeader("services/audit/zeros.bin", 2 * 1024 * 1024 * 1024, "0"), 32);
    await put("deployments/acp_handmade-bomb_1.tar.gz", body);
    const limits = { ...DEFAULT_LIMITS, decompressedBytes: 128 * 1024 * 1024 };
    const run = await measured(() => readBundleManifest(clients.s3, sandbox.bucket, "deployments/acp_handmade-bomb_1.tar.gz", "x", limits));
    expect(run.error?.message).toMatch(/more than 134217728 bytes once decompressed; refused/);
    expect(run.growthMb).toBeLessThan(64);
  });

  it("caps entries and compressed bytes read for one catalog row", async () => {
    const many = await hostileTarGz(Array.from({ length: 50 }, (_, i) => ({ name: `services/audit/f${i}`, body: "x" })));
    await put("deployments/acp_many_1.tar.gz", many);
    await expect(readBundleManifest(clients.s3, sandbox.bucket, "deployments/acp_many_1.tar.gz", "x", { ...DEFAULT_LIMITS, entries: 20 })).rejects.toThrow(/more than 20 entries; refused/);
    await expect(readBundleManifest(clients.s3, sandbox.bucket, "deployments/acp_many_1.tar.gz", "x", { ...DEFAULT_LIMITS, objectBytes: 100 })).rejects.toThrow(/more than 100 bytes; too large to inspect/);
    // Within the caps the same archive reads normally.
    const read = await readBundleManifest(clients.s3, sandbox.bucket, "deployments/acp_many_1.tar.gz", "x");
    expect(read.manifest.files).toHaveLength(50);
    expect(read.embedded).toBe(false);
  });

  it("checks an embedded manifest's shape and size", () => {
    expect(() => parseManifest("{")).toThrow(/not JSON/);
    expect(() => parseManifest(JSON.stringify({ format: 1, files: [], services: [{ $: 1 }], paths: [] }))).toThrow(/lists of short strings/);
    expect(() => parseManifest(JSON.stringify({ format: 1, files: [null], services: [], paths: [] }))).toThrow(/every file needs a path/);
    expect(() => parseManifest(JSON.stringify({ format: 1, files: Array.from({ length: 11 }, (_, i) => ({ path: `f${i}` })), services: [], paths: [] }), { manifestBytes: 1e6, entries: 10 })).toThrow(/over the 10 limit/);
    expect(() => parseManifest("x".repeat(2000), { manifestBytes: 1000, entries: 10 })).toThrow(/over the 1000-byte limit/);
  });

  it("lists S3 page by page, and refuses a listing past the cap", async () => {
    await Promise.all(Array.from({ length: 12 }, (_, i) => put(`paged/acp_p${i}_${1779860000 + i}.tar.gz`, Buffer.from("x"))));
    const pages = listBundlePages(clients.s3, sandbox.bucket, "paged/", "acp_");
    const first = await pages.next();
    expect(first.done).toBe(false);
    expect((first.value as unknown[]).length).toBe(12);
    await expect(listBundleObjects(clients.s3, sandbox.bucket, "paged/", "acp_", { listedObjects: 10 })).rejects.toThrow(/more than 10 bundles/);
    expect(await listBundleObjects(clients.s3, sandbox.bucket, "paged/", "acp_")).toHaveLength(12);
  });
});
