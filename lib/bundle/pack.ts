import { createHash } from "node:crypto";
import { execFile } from "node:child_process";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { promisify } from "node:util";
import { RefusedError } from "../errors";
import { PackWorkers, PIECE, WorkerJobError, type ChunkJob, type ChunkPart } from "./packWorkers";
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
  /** Worker threads hashing, reading and compressing (default: every core). */
  workers?: number;
  /** Bytes of tar per gzip member (default 1 MiB). */
  chunkSize?: number;
  /** Chunks in the workers or waiting to be emitted (default 2 per worker, at least 4). */
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

/** A worker's failure as the packer reports it: a changed file by name, anything else as is. */
function fromWorker(error: unknown): Error {
  if (error instanceof WorkerJobError && error.changed) return fileChanged(error.changed, error.changed.detail);
  if (error instanceof WorkerJobError && /ENOENT/.test(error.message)) return new BundleError(`a file vanished while it was being packed: ${error.message}`);
  return error instanceof Error ? error : new Error(String(error));
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

/** First pass: every file hashed in the workers, in batches of up to 4 MiB / 256 files. */
async function hashFiles(files: CollectedFile[], workers: PackWorkers): Promise<void> {
  const batches: CollectedFile[][] = [];
  let batch: CollectedFile[] = [];
  let bytes = 0;
  for (const file of files) {
    if (file.linkTarget !== undefined) continue;
    batch.push(file);
    bytes += file.size;
    if (bytes >= 4 * PIECE || batch.length >= 256) {
      batches.push(batch);
      batch = [];
      bytes = 0;
    }
  }
  if (batch.length) batches.push(batch);
  await forEachLimited(batches, workers.size * 2, async (files) => {
    const results = await workers.hash(files).catch((error) => {
      throw fromWorker(error);
    });
    results.forEach((result, i) => {
      files[i].sha256 = result.sha256;
      files[i].pieces = result.pieces;
      files[i].incompressible = result.incompressible;
    });
  });
}

/**
 * Walks the repo-relative paths and returns every file under them, sorted, with size and sha256
 * (hashed in parallel, bounded). Refuses anything that would reach outside the repo: `..` paths,
 * a parent directory whose real path is outside (`svc -> /outside` with path `svc/audit`), and
 * symlinks that escape it.
 */
export async function collectFiles(repoDir: string, relativePaths: readonly string[], tuning: PackTuning = {}): Promise<CollectedFile[]> {
  const repoReal = await fsp.realpath(repoDir);
  const files = new Map<string, WalkedFile>();

  // Up to 16 siblings of a directory are stat'ed at once (the walk is latency-bound), not every
  // entry of a big directory together; the order is fixed by sorting below.
  const WALK_CONCURRENCY = 16;
  async function visitAll(root: { relative: string; real: string }, relatives: string[]): Promise<void> {
    await forEachLimited(relatives, WALK_CONCURRENCY, (relative) => visit(root, relative));
  }

  async function visit(root: { relative: string; real: string }, relative: string): Promise<void> {
    const absolute = root.real + relative.slice(root.relative.length);
    const stat = await fsp.lstat(absolute).catch(() => null);
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
      const entries = await fsp.readdir(absolute);
      await visitAll(root, entries.map((entry) => `${relative}/${entry}`));
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
  const workers = new PackWorkers(workerCount(tuning));
  try {
    await hashFiles(sorted, workers);
  } finally {
    await workers.close();
  }
  return sorted;
}

const workerCount = (tuning: PackTuning) => Math.max(1, tuning.workers ?? os.availableParallelism());

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
  const canonical = {
    v: 1,
    services: [...input.services].sort(),
    paths: [...input.paths].sort(),
    replace: [...input.replace].sort(),
    files: [...input.files].sort(byPath).map((f) => [f.path, f.size, f.sha256, f.linkTarget ?? null, f.mode ?? null]),
  };
  return createHash("sha256").update(JSON.stringify(canonical)).digest("hex");
}

/** The manifest as JSON with one file per line: readable with `tar xzOf`, half the size of indented JSON. */
function manifestJson(manifest: BundleManifest): Buffer {
  const { files, ...rest } = manifest;
  const head = JSON.stringify({ ...rest, files: [] }, null, 2).replace(/"files": \[\]/, '"files": [');
  const close = head.lastIndexOf("[") + 1;
  const lines = files.map((file) => JSON.stringify(file));
  return Buffer.from(`${head.slice(0, close)}\n    ${lines.join(",\n    ")}\n  ]${head.slice(close)}\n`);
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

/**
 * Packs repo-relative paths into a tar.gz stream, manifest first. Files are hashed in parallel
 * ahead of the stream (the manifest needs every hash), then streamed: each file is read again,
 * checked against its hash (a file that changed in between fails the pack), cut into 1 MiB
 * chunks that every core compresses as independent gzip members, emitted in order. Memory stays
 * bounded: a few chunks in flight and the stream's own buffer.
 */
export async function packBundle(request: PackRequest, tuning: PackTuning = {}): Promise<PackedBundle> {
  const files = await collectFiles(request.repoDir, request.paths, tuning);
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
  const manifestBytes = manifestJson(manifest);

  const chunkSize = tuning.chunkSize ?? PIECE;
  const level = tuning.level ?? 6;
  const highWaterMark = 4 * 1024 * 1024;

  let settle!: { resolve: (v: { sha256: string; size: number }) => void; reject: (e: Error) => void };
  const done = new Promise<{ sha256: string; size: number }>((resolve, reject) => (settle = { resolve, reject }));
  done.catch(() => {}); // the caller may only await the upload; the error also reaches the stream

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
    const workers = new PackWorkers(workerCount(tuning));
    const maxInFlight = tuning.maxInFlight ?? Math.max(4, workers.size * 2);
    const hash = createHash("sha256");
    let size = 0;
    const inFlight: Promise<Buffer>[] = [];
    // Emits the oldest chunk's member once it is ready: output order is input order.
    const emitOldest = async () => {
      const member = await inFlight.shift()!.catch((error) => {
        throw fromWorker(error);
      });
      hash.update(member);
      size += member.length;
      if (!stream.destroyed) stream.push(member);
    };
    const submit = async (job: ChunkJob) => {
      while (inFlight.length >= maxInFlight) await emitOldest();
      await readerWants();
      const member = workers.chunk(job);
      member.catch(() => {}); // handled when emitted
      inFlight.push(member);
    };

    // The tar stream is laid out here (sizes are known) and cut into chunk jobs: headers and
    // padding travel inline, file bytes are read by the worker that compresses them.
    let inline: Buffer[] = [];
    let inlineLength = 0;
    let parts: ChunkPart[] = [];
    let length = 0;
    let store = false;
    const close = async () => {
      if (length === 0) return;
      const job: ChunkJob = { level: store ? 0 : level, length, inline: Buffer.concat(inline, inlineLength), parts };
      inline = [];
      inlineLength = 0;
      parts = [];
      length = 0;
      await submit(job);
    };
    const addInline = async (bytes: Buffer) => {
      if (bytes.length === 0) return;
      if (store && length > 0) await close();
      store = false;
      inline.push(bytes);
      parts.push({ inline: [inlineLength, inlineLength + bytes.length] });
      inlineLength += bytes.length;
      length += bytes.length;
      if (length >= chunkSize) await close();
    };
    const addFile = async (file: CollectedFile) => {
      if (file.incompressible !== store && length > 0) await close();
      store = file.incompressible;
      const pieces = file.size > PIECE ? file.pieces : null;
      if (pieces && pieces.length !== Math.ceil(file.size / PIECE)) throw new Error(`internal: ${file.path} has ${pieces.length} piece hashes`);
      for (let offset = 0, index = 0; offset < file.size; offset += PIECE, index++) {
        const piece = Math.min(PIECE, file.size - offset);
        parts.push({ absolute: file.absolute, path: file.path, fileSize: file.size, offset, length: piece, sha256: pieces ? pieces[index] : file.sha256 });
        length += piece;
        if (length >= chunkSize) await close();
      }
    };

    try {
      await addInline(entryHeader({ name: MANIFEST_PATH, type: "file", size: manifestBytes.length, mode: 0o644, mtime: Date.parse(manifest.createdAt) / 1000 }));
      await addInline(manifestBytes);
      await addInline(padding(manifestBytes.length));
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
      const failure = error instanceof Error ? error : new Error(String(error));
      settle.reject(failure);
      if (!stream.destroyed) stream.destroy(failure);
    } finally {
      await workers.close();
    }
  }

  return { manifest, contentSha256, stream, done };
}
