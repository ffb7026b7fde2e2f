// Worker threads that do the packer's heavy lifting on every core: hashing files (first pass) and
// reading + checking + gzip-compressing chunks of the tar stream (second pass). Each chunk comes
// back as an independent gzip member; members concatenated in order are one valid .gz
// (RFC 1952 §2.2), read as one stream by GNU gzip/tar and by Node's gunzip.
import { Worker } from "node:worker_threads";

/** Files are hashed in pieces of this size; a big file is streamed and checked piece by piece. */
export const PIECE = 1024 * 1024;

/** A file to hash: the worker answers with its sha256, the sha256 of each PIECE, and whether it looks already compressed. */
export interface HashJobFile {
  absolute: string;
  path: string;
  size: number;
}
export interface HashResult {
  sha256: string;
  /** Only for files bigger than PIECE. */
  pieces: string[] | null;
  incompressible: boolean;
}

/** One part of a chunk: bytes from `inline` (headers, padding, manifest) or a range of a file, checked against its hash. */
export type ChunkPart =
  | { inline: [number, number] }
  | { absolute: string; path: string; fileSize: number; offset: number; length: number; sha256: string };
export interface ChunkJob {
  level: number;
  length: number;
  inline: Buffer;
  parts: ChunkPart[];
}

/** Raised in a worker for a file that no longer is what the first pass saw. */
export interface ChangedFile {
  changed: { path: string; detail: string };
}

// Plain CommonJS evaluated in each worker: no file to locate, so it runs the same under tsx,
// vitest and the Next server bundle. Sync I/O is fine here: it blocks only this worker.
const WORKER_SOURCE = String.raw`
const { parentPort } = require("node:worker_threads");
const fs = require("node:fs");
const crypto = require("node:crypto");
const zlib = require("node:zlib");
const PIECE = ${PIECE};

class Changed extends Error {
  constructor(path, detail) { super(path + " changed: " + detail); this.changed = { path, detail }; }
}

// Shannon entropy of three 4 KiB samples, bits per byte: already-compressed data (JPEG, PNG,
// woff2, zip) is ~8, text and code 4.5-6. Deflating >= 7.6 saves nothing and costs the most CPU.
function incompressible(data) {
  if (data.length < 64 * 1024) return false;
  const counts = new Uint32Array(256);
  const SAMPLE = 4096;
  for (const start of [1024, data.length >> 1, data.length - SAMPLE - 1])
    for (let i = start; i < start + SAMPLE; i++) counts[data[i]]++;
  const total = 3 * SAMPLE;
  let entropy = 0;
  for (const c of counts) if (c) entropy -= (c / total) * Math.log2(c / total);
  return entropy >= 7.6;
}

function readRange(fd, buffer, at, offset, length) {
  let got = 0;
  while (got < length) {
    const n = fs.readSync(fd, buffer, at + got, length - got, offset + got);
    if (n === 0) break;
    got += n;
  }
  return got;
}

function hashFile(file, scratch) {
  const fd = fs.openSync(file.absolute, "r");
  try {
    const size = fs.fstatSync(fd).size;
    if (size !== file.size) throw new Changed(file.path, "size " + file.size + " → " + size + " bytes");
    const whole = crypto.createHash("sha256");
    const pieces = size > PIECE ? [] : null;
    let flag = false;
    for (let offset = 0; offset < size || offset === 0; offset += PIECE) {
      const length = Math.min(PIECE, size - offset);
      const got = readRange(fd, scratch, 0, offset, length);
      if (got !== length) throw new Changed(file.path, "size " + file.size + " → " + (offset + got) + " bytes");
      const piece = scratch.subarray(0, length);
      if (offset === 0) flag = incompressible(piece);
      whole.update(piece);
      if (pieces) pieces.push(crypto.createHash("sha256").update(piece).digest("hex"));
      if (size === 0) break;
    }
    return { sha256: whole.digest("hex"), pieces, incompressible: flag };
  } finally {
    fs.closeSync(fd);
  }
}

// Memory stays flat only if garbage does not pile up: one reused input buffer per worker, and a
// collection every few MiB (a worker's heap is tiny, so it costs ~1 ms; V8 would otherwise wait for
// ~64 MB of dead buffers per thread before collecting).
let chunkScratch = Buffer.alloc(0);
// (The flag is process-wide, so it is set only long enough to make one context and take its gc.)
let collect = null;
try {
  const v8 = require("node:v8");
  v8.setFlagsFromString("--expose-gc");
  try {
    collect = require("node:vm").runInNewContext("gc");
  } finally {
    v8.setFlagsFromString("--no-expose-gc");
  }
} catch {}
let sinceCollect = 0;

function packChunk(job) {
  const inline = Buffer.from(job.inline.buffer, job.inline.byteOffset, job.inline.byteLength);
  if (chunkScratch.length < job.length) chunkScratch = Buffer.allocUnsafe(Math.max(job.length, 2 * PIECE));
  const buffer = chunkScratch.subarray(0, job.length);
  let at = 0;
  for (const part of job.parts) {
    if (part.inline) {
      inline.copy(buffer, at, part.inline[0], part.inline[1]);
      at += part.inline[1] - part.inline[0];
      continue;
    }
    const fd = fs.openSync(part.absolute, "r");
    try {
      const size = fs.fstatSync(fd).size;
      if (size !== part.fileSize) throw new Changed(part.path, "size " + part.fileSize + " → " + size + " bytes");
      const got = readRange(fd, buffer, at, part.offset, part.length);
      if (got !== part.length) throw new Changed(part.path, "size " + part.fileSize + " → " + (part.offset + got) + " bytes");
    } finally {
      fs.closeSync(fd);
    }
    const sha = crypto.createHash("sha256").update(buffer.subarray(at, at + part.length)).digest("hex");
    if (sha !== part.sha256) throw new Changed(part.path, "its content no longer matches the sha256 taken for the manifest");
    at += part.length;
  }
  if (at !== job.length) throw new Error("chunk length mismatch: planned " + job.length + ", filled " + at);
  const out = zlib.gzipSync(buffer, { level: job.level, chunkSize: 64 * 1024 });
  sinceCollect += job.length;
  if (collect && sinceCollect >= 8 * PIECE) {
    sinceCollect = 0;
    collect();
  }
  // transfer only a buffer that is wholly ours (small results may sit in Node's shared pool)
  return out.byteOffset === 0 && out.byteLength === out.buffer.byteLength ? out.buffer : out.buffer.slice(out.byteOffset, out.byteOffset + out.byteLength);
}

let scratch = null;
parentPort.on("message", (message) => {
  try {
    if (message.kind === "hash") {
      scratch = scratch || Buffer.allocUnsafe(PIECE);
      parentPort.postMessage({ id: message.id, result: message.files.map((f) => hashFile(f, scratch)) });
    } else {
      const out = packChunk(message.job);
      parentPort.postMessage({ id: message.id, result: out }, [out]);
    }
  } catch (error) {
    parentPort.postMessage({ id: message.id, error: { message: String((error && error.message) || error), changed: error && error.changed } });
  }
});
`;

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

/** A failure reported by a worker; `changed` is set when a file no longer matches the first pass. */
export class WorkerJobError extends Error {
  constructor(
    message: string,
    readonly changed?: { path: string; detail: string },
  ) {
    super(message);
  }
}

export class PackWorkers {
  private readonly slots: { worker: Worker; busy: number }[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private closed = false;

  constructor(count: number) {
    for (let i = 0; i < Math.max(1, count); i++) {
      const worker = new Worker(WORKER_SOURCE, { eval: true });
      worker.unref(); // an abandoned pack never keeps the process alive
      const slot = { worker, busy: 0 };
      worker.on("message", (message: { id: number; result?: unknown; error?: { message: string; changed?: { path: string; detail: string } } }) => {
        slot.busy--;
        const pending = this.pending.get(message.id);
        this.pending.delete(message.id);
        if (!pending) return;
        if (message.error) pending.reject(new WorkerJobError(message.error.message, message.error.changed));
        else pending.resolve(message.result);
      });
      worker.on("error", (error) => this.failAll(error));
      worker.on("exit", (code) => {
        if (!this.closed) this.failAll(new Error(`a pack worker exited with code ${code}`));
      });
      this.slots.push(slot);
    }
  }

  get size(): number {
    return this.slots.length;
  }

  hash(files: HashJobFile[]): Promise<HashResult[]> {
    return this.post({ kind: "hash", files: files.map(({ absolute, path, size }) => ({ absolute, path, size })) }, []) as Promise<HashResult[]>;
  }

  /** The chunk's gzip member. */
  chunk(job: ChunkJob): Promise<Buffer> {
    return (this.post({ kind: "chunk", job }, []) as Promise<ArrayBuffer>).then((out) => Buffer.from(out));
  }

  private post(message: Record<string, unknown>, transfer: ArrayBuffer[]): Promise<unknown> {
    if (this.closed) return Promise.reject(new Error("the pack workers are closed"));
    const slot = this.slots.reduce((a, b) => (b.busy < a.busy ? b : a));
    slot.busy++;
    const id = this.nextId++;
    const promise = new Promise((resolve, reject) => this.pending.set(id, { resolve, reject }));
    slot.worker.postMessage({ ...message, id }, transfer);
    return promise;
  }

  private failAll(error: Error): void {
    for (const pending of this.pending.values()) pending.reject(error);
    this.pending.clear();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.failAll(new Error("the pack workers were closed"));
    await Promise.all(this.slots.map((slot) => slot.worker.terminate()));
  }
}
