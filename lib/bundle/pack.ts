import { createHash } from "node:crypto";
import { execFile } from "node:child_process";
import fs from "node:fs";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import v8 from "node:v8";
import vm from "node:vm";
import zlib from "node:zlib";
import { promisify } from "node:util";
import { RefusedError } from "../errors";
import { MANIFEST_PATH, type BundleManifest, type GitInfo, type ManifestFile } from "./manifest";
import { END_OF_ARCHIVE, entryHeader, padding } from "./tar";

export class BundleError extends RefusedError {}

export const DECKHAND_VERSION = "0.1.0";

export interface CollectedFile extends ManifestFile {
  /** The file's real location (its parents resolved), read in both passes. */
  readonly absolute: string;
  mode: number;
  /** Milliseconds since the epoch. */
  mtimeMs: number;
  /** Already compressed (high-entropy sample): stored in the gzip stream without deflating. */
  incompressible: boolean;
  /** sha256 of each PIECE of a file bigger than one, to check a big file piece by piece when streaming. */
  pieces: string[] | null;
}

/**
 * One walked file. A class with fixed fields and a computed `absolute` (the real directory of the
 * requested path + the rest): a 2 GB tree has tens of thousands of these, held until the stream ends.
 */
class WalkedFile implements CollectedFile {
  sha256 = "";
  incompressible = false;
  pieces: string[] | null = null;
  constructor(
    readonly path: string,
    readonly size: number,
    readonly mode: number,
    readonly mtimeMs: number,
    private readonly root: { relative: string; real: string },
    readonly linkTarget?: string,
  ) {}
  get absolute(): string {
    return this.root.real + this.path.slice(this.root.relative.length);
  }
}

export interface PackTuning {
  /** gzip members compressed at once on libuv's threadpool (default: every core). */
  parallel?: number;
  /** Bytes of tar per gzip member (default 1 MiB). */
  chunkSize?: number;
  /** Members being read, compressed or waiting to be emitted (default parallel + 1). */
  maxInFlight?: number;
  /** gzip level for compressible data (default 6, as `tar czf`). */
  level?: number;
}

function isInside(root: string, candidate: string): boolean {
  const relative = path.relative(root, candidate);
  return relative === "" || (!relative.startsWith("..") && !path.isAbsolute(relative));
}

const byPath = (a: { path: string }, b: { path: string }) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);

function fileChanged(file: { path: string }, detail: string): BundleError {
  return new BundleError(`${file.path} changed while it was being packed (${detail}); nothing was uploaded from a half-changed tree — run the deploy again once the build has finished writing`);
}

/** A read that failed: a vanished file by name, anything else as is. */
function readFailure(error: unknown): Error {
  if (error instanceof BundleError) return error;
  if (error && typeof error === "object" && (error as NodeJS.ErrnoException).code === "ENOENT") {
    return new BundleError(`a file vanished while it was being packed: ${(error as Error).message}`);
  }
  return error instanceof Error ? error : new Error(String(error));
}

/** Files are hashed in pieces of this size; a big file is streamed and checked piece by piece. */
export const PIECE = 1024 * 1024;

/**
 * Shannon entropy of three 4 KiB samples, bits per byte: already-compressed data (JPEG, PNG, woff2,
 * zip) is ~8, text and code 4.5-6. Deflating >= 7.6 saves nothing and costs the most CPU.
 */
function looksCompressed(data: Buffer): boolean {
  if (data.length < 64 * 1024) return false;
  const counts = new Uint32Array(256);
  const SAMPLE = 4096;
  for (const start of [1024, data.length >> 1, data.length - SAMPLE - 1]) for (let i = start; i < start + SAMPLE; i++) counts[data[i]]++;
  const total = 3 * SAMPLE;
  let entropy = 0;
  for (const c of counts) if (c) entropy -= (c / total) * Math.log2(c / total);
  return entropy >= 7.6;
}

/** Reads `length` bytes at `position` into `buffer` at `at`; fewer only at the end of the file. */
async function readFully(handle: fsp.FileHandle, buffer: Buffer, at: number, length: number, position: number): Promise<number> {
  let got = 0;
  while (got < length) {
    const { bytesRead } = await handle.read(buffer, at + got, length - got, position + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got;
}

const sha256Hex = (data: Buffer) => createHash("sha256").update(data).digest("hex");

/**
 * First pass: every file's sha256 (and each PIECE's, for big files) and whether it looks already
 * compressed. A few files are read at once (the reads wait on the threadpool, the hashing is
 * SHA-NI fast on this thread), each lane with one reused PIECE buffer: memory is lanes × 1 MiB.
 */
async function hashFiles(files: CollectedFile[], lanes: number): Promise<void> {
  let next = 0;
  let failed = false;
  const lane = async () => {
    const scratch = Buffer.allocUnsafeSlow(PIECE);
    while (!failed && next < files.length) {
      const file = files[next++];
      if (file.linkTarget !== undefined) continue;
      try {
        await hashFile(file, scratch);
      } catch (error) {
        failed = true;
        throw readFailure(error);
      }
    }
  };
  await Promise.all(Array.from({ length: lanes }, lane));
}

async function hashFile(file: CollectedFile, scratch: Buffer): Promise<void> {
  if (file.size <= SMALL_FILE) return hashSmallFile(file, scratch);
  const handle = await fsp.open(file.absolute, "r");
  try {
    const whole = createHash("sha256");
    const pieces: string[] | null = file.size > PIECE ? [] : null;
    for (let offset = 0; offset < file.size; offset += PIECE) {
      const length = Math.min(PIECE, file.size - offset);
      const got = await readFully(handle, scratch, 0, length, offset);
      if (got !== length) throw fileChanged(file, `size ${file.size} → ${offset + got} bytes`);
      const piece = scratch.subarray(0, length);
      if (offset === 0) file.incompressible = looksCompressed(piece);
      whole.update(piece);
      pieces?.push(sha256Hex(piece));
    }
    file.sha256 = whole.digest("hex");
    file.pieces = pieces;
  } finally {
    await handle.close();
  }
}

/**
 * Files up to this size are read synchronously, in both passes: one open/fstat/read/close from the
 * page cache costs a few µs, where their round trips through the threadpool cost ~100 µs (and in
 * the stream pass queue behind gzip jobs). Halved the hash pass on a tree of 8,766 files.
 */
const SMALL_FILE = 64 * 1024;
let smallReads = 0;

/**
 * Reads a small file whole into `buffer` at `at`; returns its size now and the bytes read (the caller
 * compares them with what was recorded). Yields to the event loop every 128 files: the panel serves
 * pages meanwhile.
 */
async function readSmallFile(file: CollectedFile, buffer: Buffer, at: number): Promise<{ size: number; got: number }> {
  if (++smallReads % 128 === 0) await new Promise((resolve) => setImmediate(resolve));
  const fd = fs.openSync(file.absolute, "r");
  try {
    const size = fs.fstatSync(fd).size;
    let got = 0;
    while (got < file.size) {
      const n = fs.readSync(fd, buffer, at + got, file.size - got, got);
      if (n === 0) break;
      got += n;
    }
    return { size, got };
  } finally {
    fs.closeSync(fd);
  }
}

async function hashSmallFile(file: CollectedFile, scratch: Buffer): Promise<void> {
  const { size, got } = await readSmallFile(file, scratch, 0);
  if (size !== file.size || got !== file.size) throw fileChanged(file, `size ${file.size} → ${size} bytes`);
  const bytes = scratch.subarray(0, got);
  file.incompressible = looksCompressed(bytes);
  file.sha256 = sha256Hex(bytes);
  file.pieces = null;
}

/** Runs `task` over `items` with at most `limit` at once, stopping at the first error. */
async function forEachLimited<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const lane = async () => {
    while (!failed && next < items.length) {
      const item = items[next++];
      try {
        await task(item);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

/**
 * Walks the repo-relative paths and returns every file under them, sorted, with size and sha256
 * (hashed in parallel, bounded). Refuses anything that would reach outside the repo: `..` paths,
 * a parent directory whose real path is outside (`svc -> /outside` with path `svc/audit`), and
 * symlinks that escape it.
 */
export async function collectFiles(repoDir: string, relativePaths: readonly string[]): Promise<CollectedFile[]> {
  const repoReal = await fsp.realpath(repoDir);
  const files = new Map<string, WalkedFile>();

  // lstat and readdir run synchronously (a few µs each from the page cache), yielding to the event
  // loop every 256 entries: tens of thousands of promises in flight made V8 grow its young
  // generation to the maximum and cost ~25 MB of RSS on a 60,000-file tree.
  let visited = 0;

  async function visit(root: { relative: string; real: string }, relative: string): Promise<void> {
    const absolute = root.real + relative.slice(root.relative.length);
    if (++visited % 256 === 0) await new Promise((resolve) => setImmediate(resolve));
    let stat: fs.Stats | undefined;
    try {
      stat = fs.lstatSync(absolute, { throwIfNoEntry: false });
    } catch {
      stat = undefined; // ENOTDIR and the like: there is no such path either
    }
    if (!stat) throw new BundleError(`${relative} does not exist in ${repoReal}`);
    if (stat.isSymbolicLink()) {
      const target = await fsp.readlink(absolute);
      // As the host will read it (relative to the link's directory in the repo) and as it resolves here.
      const lexical = path.resolve(path.join(repoReal, path.dirname(relative)), target);
      const real = await fsp.realpath(absolute).catch(() => null);
      if (!isInside(repoReal, lexical) || (real !== null && !isInside(repoReal, real))) {
        throw new BundleError(`${relative} is a symlink that escapes the repo (→ ${target})`);
      }
      files.set(relative, new WalkedFile(relative, 0, 0o777, stat.mtimeMs, root, target));
      return;
    }
    if (stat.isDirectory()) {
      const entries = fs.readdirSync(absolute);
      for (const entry of entries) await visit(root, `${relative}/${entry}`);
      return;
    }
    if (!stat.isFile()) throw new BundleError(`${relative} is not a regular file, directory or symlink`);
    files.set(relative, new WalkedFile(relative, stat.size, stat.mode & 0o777, stat.mtimeMs, root));
  }

  for (const requested of relativePaths) {
    if (path.isAbsolute(requested) || requested.split("/").includes("..")) throw new BundleError(`${requested} is outside the repo`);
    const relative = requested.replace(/\/+$/, "").replace(/^(\.\/)+/, "");
    if (!relative || relative === ".") throw new BundleError(`"${requested}" names the whole repo; list the paths a service owns`);
    // Resolve every parent directory: a symlinked parent must not carry the walk out of the repo.
    const parent = path.dirname(path.join(repoReal, relative));
    const parentReal = await fsp.realpath(parent).catch(() => null);
    if (parentReal === null) throw new BundleError(`${relative} does not exist in ${repoReal}`);
    if (!isInside(repoReal, parentReal)) {
      throw new BundleError(`${relative} is outside the repo: ${path.relative(repoReal, parent)} resolves to ${parentReal}`);
    }
    await visit({ relative, real: path.join(parentReal, path.basename(relative)) }, relative);
  }
  const sorted: CollectedFile[] = [...files.values()].sort(byPath);
  files.clear();
  await hashFiles(sorted, HASH_LANES);
  return sorted;
}

/** Files read at once in the hash pass and per member in the stream pass (reads are latency-bound). */
const HASH_LANES = 4;
const parallelism = (tuning: PackTuning) => Math.max(1, tuning.parallel ?? os.availableParallelism());

const run = promisify(execFile);

export async function readGitInfo(repoDir: string): Promise<GitInfo | null> {
  try {
    const git = (...args: string[]) => run("git", ["-C", repoDir, ...args]).then((r) => r.stdout.trim());
    const [sha, branch, status, tags] = await Promise.all([
      git("rev-parse", "HEAD"),
      git("rev-parse", "--abbrev-ref", "HEAD"),
      git("status", "--porcelain"),
      git("tag", "--points-at", "HEAD", "--sort=-version:refname").catch(() => ""),
    ]);
    const tag = tags.split("\n").filter(Boolean).join(", ");
    return { sha, branch, dirty: status.length > 0, tag: tag || null };
  } catch {
    return null; // not a git repo, or git missing: the manifest says so with null
  }
}

export function whoAmI(): string {
  return `${os.userInfo().username}@${os.hostname()}`;
}

/**
 * What a bundle puts on a host, independent of when, where or by whom it was packed: services,
 * paths, replaced dirs, and every file's path, size, sha256, mode and link target. Two bundles
 * with the same content hash extract to the same tree, so the second need not be uploaded.
 */
export function bundleContentSha256(input: {
  services: readonly string[];
  paths: readonly string[];
  replace: readonly string[];
  files: readonly { path: string; size: number; sha256: string; linkTarget?: string; mode?: number }[];
}): string {
  // JSON.stringify of {v, services, paths, replace, files: [[path, size, sha256, link, mode], …]},
  // hashed row by row: the same bytes without one string the size of the whole file list.
  const hash = createHash("sha256");
  const sorted = (list: readonly string[]) => JSON.stringify([...list].sort());
  hash.update(`{"v":1,"services":${sorted(input.services)},"paths":${sorted(input.paths)},"replace":${sorted(input.replace)},"files":[`);
  const files = input.files.every((f, i) => i === 0 || byPath(input.files[i - 1], f) <= 0) ? input.files : [...input.files].sort(byPath);
  files.forEach((f, i) => hash.update((i ? "," : "") + JSON.stringify([f.path, f.size, f.sha256, f.linkTarget ?? null, f.mode ?? null])));
  return hash.update("]}").digest("hex");
}

/**
 * The manifest as JSON with one file per line: readable with `tar xzOf`, half the size of indented
 * JSON. Written straight into one buffer of the exact size (a 60,000-file manifest is ~9 MB; one
 * joined string and its copy would double that at the moment memory matters).
 */
function manifestJson(manifest: BundleManifest): Buffer {
  const { files, ...rest } = manifest;
  const head = JSON.stringify({ ...rest, files: [] }, null, 2).replace(/"files": \[\]/, '"files": [');
  const close = head.lastIndexOf("[") + 1;
  const prefix = `${head.slice(0, close)}\n    `;
  const separator = ",\n    ";
  const suffix = `\n  ]${head.slice(close)}\n`;
  let size = Buffer.byteLength(prefix) + Buffer.byteLength(suffix) + Math.max(0, files.length - 1) * separator.length;
  for (const file of files) size += Buffer.byteLength(JSON.stringify(file));
  const out = Buffer.allocUnsafeSlow(size);
  let at = out.write(prefix, 0);
  files.forEach((file, i) => {
    if (i) at += out.write(separator, at);
    at += out.write(JSON.stringify(file), at);
  });
  at += out.write(suffix, at);
  if (at !== size) throw new Error(`internal: manifest is ${at} bytes, planned ${size}`);
  return out;
}

export interface PackRequest {
  repoDir: string;
  /** The version label given at deploy time, recorded in the manifest. */
  version?: string | null;
  /** The tag or commit packed (repoDir is then a clean checkout of it). */
  ref?: string;
  label: string;
  services: string[];
  paths: string[];
  replace: string[];
}

export interface PackedBundle {
  manifest: BundleManifest;
  /** See bundleContentSha256: known before a byte is compressed, to look for the same bundle in S3. */
  contentSha256: string;
  /**
   * The gzip'd tar, produced as it is read (nothing is read or compressed until the first read):
   * pipe it straight into the upload, or destroy it to abandon the pack.
   */
  stream: Readable;
  /** Resolves once every byte has been produced, with the tarball's sha256 and size; rejects when the pack fails. */
  done: Promise<{ sha256: string; size: number }>;
}

const gzip = promisify(zlib.gzip);

/**
 * The compressed members and upload parts are big short-lived buffers whose JS handles are tiny:
 * V8 would let ~64 MB of them pile up before it looks. A young-generation collection (~1 ms, a
 * scavenge) every few MiB frees them at once. `gc` is taken from a fresh context made while the
 * flag is on, then the flag is switched off again: nothing else in the process sees a change.
 */
type GcFunction = (options?: { type?: "minor" | "major"; execution?: "sync" | "async"; flavor?: "regular" | "last-resort" }) => void;
let gcFunction: GcFunction | null | undefined;
function exposedGc(): GcFunction | null {
  if (gcFunction === undefined) {
    gcFunction = null;
    try {
      v8.setFlagsFromString("--expose-gc");
      try {
        gcFunction = vm.runInNewContext("gc") as GcFunction;
      } finally {
        v8.setFlagsFromString("--no-expose-gc");
      }
    } catch {
      // without it memory is still bounded, only by V8's own (later) collections
    }
  }
  return gcFunction;
}
function collectYoungGarbage(): void {
  exposedGc()?.({ type: "minor" });
}
function collectOldGarbage(): void {
  exposedGc()?.({ type: "major", execution: "async" });
}
/**
 * Walking and hashing tens of thousands of files keeps most of what it allocates, and V8 answers
 * a high survival rate by doubling its young generation up to 2 × 16 MB, which it then keeps for
 * the stream (whose garbage is short-lived). V8 reads the growth factor each time it would grow,
 * so holding it at 1 while a pack runs keeps the young generation at its initial size: ~27 MiB
 * less RSS on a 60,000-file tree, for a few more (small, cheap) scavenges. The flag is the whole
 * process's (a server packing shares it meanwhile); it is set back to V8's default (2) when the
 * last pack running settles (`done`), so a pack whose stream is neither read nor destroyed keeps
 * it. `--max-semi-space-size` would be read only at startup.
 */
let packsRunning = 0;
function holdYoungGeneration(): () => void {
  if (packsRunning++ === 0) v8.setFlagsFromString("--semi-space-growth-factor=1");
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--packsRunning === 0) v8.setFlagsFromString("--semi-space-growth-factor=2");
  };
}

/** One gzip member being laid out: its tar bytes, and the file ranges still to be read into it. */
interface Member {
  buffer: Buffer;
  length: number;
  level: number;
  reads: { file: CollectedFile; at: number; offset: number; length: number; sha256: string }[];
}

/**
 * Reads a member's file ranges into its buffer (a few at once) and checks each against the hash
 * the manifest recorded: a file that changed since the first pass fails the pack.
 */
async function readMember(member: Member): Promise<void> {
  await forEachLimited(member.reads, HASH_LANES, async (read) => {
    if (read.file.size <= SMALL_FILE) {
      const { size, got } = await readSmallFile(read.file, member.buffer, read.at);
      if (size !== read.file.size || got !== read.length) throw fileChanged(read.file, `size ${read.file.size} → ${size} bytes`);
    } else {
      await readRange(read, member);
    }
    if (sha256Hex(member.buffer.subarray(read.at, read.at + read.length)) !== read.sha256) {
      throw fileChanged(read.file, "its content no longer matches the sha256 taken for the manifest");
    }
  });
}

/** One range of a big file into the member's buffer, through the threadpool. */
async function readRange(read: Member["reads"][number], member: Member): Promise<void> {
  const handle = await fsp.open(read.file.absolute, "r");
  try {
    const { size } = await handle.stat();
    if (size !== read.file.size) throw fileChanged(read.file, `size ${read.file.size} → ${size} bytes`);
    const got = await readFully(handle, member.buffer, read.at, read.length, read.offset);
    if (got !== read.length) throw fileChanged(read.file, `size ${read.file.size} → ${read.offset + got} bytes`);
  } finally {
    await handle.close();
  }
}

/** At most `limit` tasks at once (zlib's async work runs on libuv's threadpool, shared with file reads). */
class Limiter {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly limit: number) {}
  async run<T>(task: () => Promise<T>): Promise<T> {
    while (this.running >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.running++;
    try {
      return await task();
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }
}

/**
 * Packs repo-relative paths into a tar.gz stream, manifest first. Files are hashed ahead of the
 * stream (the manifest needs every hash), then streamed: each file is read again, checked against
 * its hash (a file that changed in between fails the pack), cut into ~1 MiB members that Node's
 * async zlib compresses on the threadpool, one per core at once, each an independent gzip member,
 * emitted in order. No worker threads (each costs an isolate's tens of MB). Memory stays bounded:
 * maxInFlight + 1 reused ≤ 2 MiB input buffers, their compressed output, and the stream's 1 MiB.
 */
export async function packBundle(request: PackRequest, tuning: PackTuning = {}): Promise<PackedBundle> {
  const release = holdYoungGeneration();
  let files: CollectedFile[];
  try {
    files = await collectFiles(request.repoDir, request.paths);
  } catch (error) {
    release();
    throw error;
  }
  const manifest: BundleManifest = {
    format: 1,
    label: request.label,
    services: request.services,
    paths: request.paths,
    replace: request.replace,
    files: files.map(({ path: p, size, sha256, linkTarget }) => (linkTarget !== undefined ? { path: p, size, sha256, linkTarget } : { path: p, size, sha256 })),
    git: await readGitInfo(request.repoDir).then((git) => (git && request.ref ? { ...git, ref: request.ref } : git)),
    ...(request.version ? { version: request.version } : {}),
    createdAt: new Date().toISOString(),
    createdBy: whoAmI(),
    deckhandVersion: DECKHAND_VERSION,
  };
  const contentSha256 = bundleContentSha256({ ...request, files });

  let manifestBytes: Buffer | null = manifestJson(manifest);

  const parallel = parallelism(tuning);
  const chunkSize = Math.max(4096, tuning.chunkSize ?? PIECE);
  const level = tuning.level ?? 6;
  const maxInFlight = Math.max(2, tuning.maxInFlight ?? parallel + 1);
  // A member is cut once it holds chunkSize bytes; the part that crosses that line (a file piece,
  // ≤ PIECE, or inline bytes cut to fit) makes it at most `capacity`.
  const capacity = chunkSize + PIECE;
  const highWaterMark = 1024 * 1024;

  let settle!: { resolve: (v: { sha256: string; size: number }) => void; reject: (e: Error) => void };
  const done = new Promise<{ sha256: string; size: number }>((resolve, reject) => (settle = { resolve, reject }));
  done.then(release, release); // the caller may only await the upload; the error also reaches the stream

  let wakeReader: (() => void) | null = null;
  let started = false;
  const stream = new Readable({
    highWaterMark,
    read() {
      if (!started) {
        started = true;
        void produce();
      }
      wakeReader?.();
    },
    destroy(error, callback) {
      wakeReader?.();
      settle.reject(error ?? new BundleError("the bundle stream was closed before the pack finished"));
      callback(error);
    },
  });

  /** Waits until the reader wants more, so at most ~highWaterMark of output waits in the stream. */
  const readerWants = async () => {
    while (stream.readableLength >= highWaterMark && !stream.destroyed) await new Promise<void>((resolve) => (wakeReader = resolve));
    if (stream.destroyed) throw new BundleError("the bundle stream was closed before the pack finished");
  };

  async function produce(): Promise<void> {
    // Input buffers are reused: at most maxInFlight members hold one while being read or
    // compressed, plus the one being laid out.
    const free: Buffer[] = [];
    const compressing = new Limiter(parallel);
    const hash = createHash("sha256");
    let size = 0;
    let sinceCollect = 0;
    let collections = 0;
    const inFlight: Promise<Buffer>[] = [];
    // Emits the oldest member once it is ready: output order is input order.
    const emitOldest = async () => {
      const member = await inFlight.shift()!;
      hash.update(member);
      size += member.length;
      sinceCollect += member.length;
      if (sinceCollect >= 2 * PIECE) {
        sinceCollect = 0;
        collectYoungGarbage();
        // With the young generation held small, some member handles are promoted before they die,
        // and their MiBs wait for a full collection: start one (incremental) every 32 MiB.
        if (++collections % 16 === 0) collectOldGarbage();
      }
      if (!stream.destroyed) stream.push(member);
    };

    // The tar stream is laid out here (sizes are known) into member buffers: headers, padding and
    // the manifest are copied in at once, file ranges are read (and checked) when the member is sent.
    let job: Member | null = null;
    let store = false;
    const open = (): Member => (job ??= { buffer: free.pop() ?? Buffer.allocUnsafeSlow(capacity), length: 0, level: store ? 0 : level, reads: [] });
    const close = async () => {
      if (!job || job.length === 0) return;
      const closing = job;
      job = null;
      while (inFlight.length >= maxInFlight) await emitOldest();
      await readerWants();
      const member = (async () => {
        try {
          await readMember(closing);
          return await compressing.run(() => gzip(closing.buffer.subarray(0, closing.length), { level: closing.level, chunkSize: 64 * 1024 }));
        } finally {
          free.push(closing.buffer);
        }
      })();
      member.catch(() => {}); // handled when emitted
      inFlight.push(member);
    };
    const addInline = async (bytes: Buffer) => {
      if (store && job) await close();
      store = false;
      for (let at = 0; at < bytes.length; ) {
        const member = open();
        const take = Math.min(bytes.length - at, capacity - member.length);
        bytes.copy(member.buffer, member.length, at, at + take);
        member.length += take;
        at += take;
        if (member.length >= chunkSize) await close();
      }
    };
    const addFile = async (file: CollectedFile) => {
      if (file.incompressible !== store && job) await close();
      store = file.incompressible;
      const pieces = file.size > PIECE ? file.pieces : null;
      if (pieces && pieces.length !== Math.ceil(file.size / PIECE)) throw new Error(`internal: ${file.path} has ${pieces.length} piece hashes`);
      for (let offset = 0, index = 0; offset < file.size; offset += PIECE, index++) {
        const length = Math.min(PIECE, file.size - offset);
        const member = open();
        member.reads.push({ file, at: member.length, offset, length, sha256: pieces ? pieces[index] : file.sha256 });
        member.length += length;
        if (member.length >= chunkSize) await close();
      }
    };

    try {
      await addInline(entryHeader({ name: MANIFEST_PATH, type: "file", size: manifestBytes!.length, mode: 0o644, mtime: Date.parse(manifest.createdAt) / 1000 }));
      const manifestLength = manifestBytes!.length;
      await addInline(manifestBytes!);
      manifestBytes = null; // copied into members; the manifest object stays for the caller
      await addInline(padding(manifestLength));
      for (const file of files) {
        const mtime = file.mtimeMs / 1000;
        if (file.linkTarget !== undefined) {
          await addInline(entryHeader({ name: file.path, type: "symlink", size: 0, mode: 0o777, mtime, linkname: file.linkTarget }));
          continue;
        }
        await addInline(entryHeader({ name: file.path, type: "file", size: file.size, mode: file.mode, mtime }));
        await addFile(file);
        await addInline(padding(file.size));
      }
      await addInline(END_OF_ARCHIVE);
      await close();
      while (inFlight.length) await emitOldest();
      const result = { sha256: hash.digest("hex"), size };
      stream.push(null);
      settle.resolve(result);
    } catch (error) {
      const failure = readFailure(error);
      settle.reject(failure);
      if (!stream.destroyed) stream.destroy(failure);
    }
  }

  return { manifest, contentSha256, stream, done };
}
