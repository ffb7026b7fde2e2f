import { createHash } from "node:crypto";
import { execFile } from "node:child_process";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { promisify } from "node:util";
import { ParallelGzip } from "./gzipPool";
import { MANIFEST_PATH, type BundleManifest, type GitInfo, type ManifestFile } from "./manifest";
import { END_OF_ARCHIVE, entryHeader, padding } from "./tar";

export class BundleError extends Error {
  name = "BundleError";
}

export const DECKHAND_VERSION = "0.1.0";

export interface CollectedFile extends ManifestFile {
  /** The file's real location (its parents resolved), read in both passes. */
  absolute: string;
  mode: number;
  mtime: Date;
  /** Already compressed (high-entropy sample): stored in the gzip stream without deflating. */
  incompressible: boolean;
}

export interface PackTuning {
  /** Files hashed at once in the first pass (default 8). */
  hashConcurrency?: number;
  /** gzip worker threads (default: every core). */
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

/** Files up to this size are read whole; bigger ones in pieces of this size (bounded memory per file). */
const PIECE = 1024 * 1024;
/** Files this big or more are sampled to see whether deflating them is worth anything. */
const SAMPLE_FROM = 64 * 1024;

/**
 * Shannon entropy of a few 4 KiB samples, in bits per byte. Already-compressed data (JPEG, PNG,
 * woff2, zip) is ~8; text and code ~4.5–6. Deflating ≥7.6 saves nothing but costs the most CPU.
 */
function looksIncompressible(data: Buffer): boolean {
  if (data.length < SAMPLE_FROM) return false;
  const counts = new Uint32Array(256);
  const SAMPLE = 4096;
  let total = 0;
  for (const start of [1024, Math.floor(data.length / 2), data.length - SAMPLE - 1]) {
    for (let i = start; i < start + SAMPLE; i++) counts[data[i]]++;
    total += SAMPLE;
  }
  let entropy = 0;
  for (const count of counts) if (count) entropy -= (count / total) * Math.log2(count / total);
  return entropy >= 7.6;
}

function fileChanged(file: { path: string }, detail: string): BundleError {
  return new BundleError(`${file.path} changed while it was being packed (${detail}); nothing was uploaded from a half-changed tree — run the deploy again once the build has finished writing`);
}

/** Reads a whole file in pieces, calling `onPiece` for each; checks it still has `expectedSize` bytes. */
async function readPieces(file: CollectedFile, expectedSize: number, onPiece: (piece: Buffer) => void | Promise<void>): Promise<void> {
  const handle = await fsp.open(file.absolute, "r");
  try {
    let read = 0;
    for (;;) {
      const buffer = Buffer.allocUnsafe(Math.min(PIECE, Math.max(1, expectedSize - read + 1)));
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, read);
      if (bytesRead === 0) break;
      read += bytesRead;
      if (read > expectedSize) throw fileChanged(file, `it grew past ${expectedSize} bytes`);
      await onPiece(buffer.subarray(0, bytesRead));
    }
    if (read !== expectedSize) throw fileChanged(file, `size ${expectedSize} → ${read} bytes`);
  } finally {
    await handle.close();
  }
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

async function hashFile(file: CollectedFile): Promise<void> {
  if (file.linkTarget !== undefined) return;
  const hash = createHash("sha256");
  if (file.size <= PIECE) {
    const data = await fsp.readFile(file.absolute);
    if (data.length !== file.size) throw fileChanged(file, `size ${file.size} → ${data.length} bytes`);
    hash.update(data);
    file.incompressible = looksIncompressible(data);
  } else {
    let first = true;
    await readPieces(file, file.size, (piece) => {
      if (first) file.incompressible = looksIncompressible(piece);
      first = false;
      hash.update(piece);
    });
  }
  file.sha256 = hash.digest("hex");
}

/**
 * Walks the repo-relative paths and returns every file under them, sorted, with size and sha256
 * (hashed in parallel, bounded). Refuses anything that would reach outside the repo: `..` paths,
 * a parent directory whose real path is outside (`svc -> /outside` with path `svc/audit`), and
 * symlinks that escape it.
 */
export async function collectFiles(repoDir: string, relativePaths: readonly string[], tuning: PackTuning = {}): Promise<CollectedFile[]> {
  const repoReal = await fsp.realpath(repoDir);
  const files = new Map<string, CollectedFile>();

  async function visit(relative: string, absolute: string): Promise<void> {
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
      files.set(relative, { path: relative, absolute, size: 0, sha256: "", linkTarget: target, mode: 0o777, mtime: stat.mtime, incompressible: false });
      return;
    }
    if (stat.isDirectory()) {
      const entries = await fsp.readdir(absolute);
      for (const entry of entries.sort()) await visit(path.posix.join(relative, entry), path.join(absolute, entry));
      return;
    }
    if (!stat.isFile()) throw new BundleError(`${relative} is not a regular file, directory or symlink`);
    files.set(relative, { path: relative, absolute, size: stat.size, sha256: "", mode: stat.mode & 0o777, mtime: stat.mtime, incompressible: false });
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
    await visit(relative, path.join(parentReal, path.basename(relative)));
  }
  const sorted = [...files.values()].sort(byPath);
  await forEachLimited(sorted, tuning.hashConcurrency ?? 8, hashFile);
  return sorted;
}

const run = promisify(execFile);

export async function readGitInfo(repoDir: string): Promise<GitInfo | null> {
  try {
    const git = (...args: string[]) => run("git", ["-C", repoDir, ...args]).then((r) => r.stdout.trim());
    const [sha, branch, status] = await Promise.all([git("rev-parse", "HEAD"), git("rev-parse", "--abbrev-ref", "HEAD"), git("status", "--porcelain")]);
    return { sha, branch, dirty: status.length > 0 };
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

export interface PackRequest {
  repoDir: string;
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
    git: await readGitInfo(request.repoDir),
    createdAt: new Date().toISOString(),
    createdBy: whoAmI(),
    deckhandVersion: DECKHAND_VERSION,
  };
  const contentSha256 = bundleContentSha256({ ...request, files });
  const manifestBytes = Buffer.from(JSON.stringify(manifest, null, 2) + "\n");

  const workers = Math.max(1, tuning.workers ?? os.availableParallelism());
  const chunkSize = tuning.chunkSize ?? 1024 * 1024;
  const level = tuning.level ?? 6;
  const maxInFlight = tuning.maxInFlight ?? Math.max(4, workers * 2);
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
    const hash = createHash("sha256");
    let size = 0;
    const gzip = new ParallelGzip({
      workers,
      maxInFlight,
      onMember: (member) => {
        hash.update(member);
        size += member.length;
        if (!stream.destroyed) stream.push(member);
      },
    });
    let chunk = gzip.buffer(chunkSize);
    let used = 0;
    let store = false; // the current chunk holds already-compressed file bytes
    const flush = async () => {
      if (used === 0) return;
      await readerWants();
      await gzip.write(chunk, used, store ? 0 : level);
      chunk = gzip.buffer(chunkSize);
      used = 0;
    };
    const append = async (bytes: Buffer, incompressible: boolean) => {
      if (incompressible !== store && used > 0) await flush();
      store = incompressible;
      for (let offset = 0; offset < bytes.length; ) {
        const n = Math.min(bytes.length - offset, chunkSize - used);
        bytes.copy(chunk, used, offset, offset + n);
        used += n;
        offset += n;
        if (used === chunkSize) await flush();
      }
    };

    // Small files are read a few ahead of the tar writer so the disk and the hashing overlap.
    const AHEAD_FILES = 16;
    const AHEAD_BYTES = 8 * 1024 * 1024;
    const reads = new Map<number, Promise<Buffer>>();
    let ahead = 0;
    let aheadBytes = 0;
    const readAhead = (from: number) => {
      for (ahead = Math.max(ahead, from); ahead < files.length && ahead - from < AHEAD_FILES && aheadBytes < AHEAD_BYTES; ahead++) {
        const file = files[ahead];
        if (file.linkTarget !== undefined || file.size > PIECE) continue;
        const reading = fsp.readFile(file.absolute);
        reading.catch(() => {});
        reads.set(ahead, reading);
        aheadBytes += file.size;
      }
    };

    try {
      await append(entryHeader({ name: MANIFEST_PATH, type: "file", size: manifestBytes.length, mode: 0o644, mtime: Date.parse(manifest.createdAt) / 1000 }), false);
      await append(manifestBytes, false);
      await append(padding(manifestBytes.length), false);
      for (let index = 0; index < files.length; index++) {
        const file = files[index];
        readAhead(index);
        const mtime = file.mtime.getTime() / 1000;
        if (file.linkTarget !== undefined) {
          await append(entryHeader({ name: file.path, type: "symlink", size: 0, mode: 0o777, mtime, linkname: file.linkTarget }), false);
          continue;
        }
        await append(entryHeader({ name: file.path, type: "file", size: file.size, mode: file.mode, mtime }), false);
        const check = createHash("sha256");
        const pending = reads.get(index);
        if (pending) {
          reads.delete(index);
          aheadBytes -= file.size;
          const data = await pending.catch((error: Error) => {
            throw fileChanged(file, error.message);
          });
          if (data.length !== file.size) throw fileChanged(file, `size ${file.size} → ${data.length} bytes`);
          check.update(data);
          await append(data, file.incompressible);
        } else {
          await readPieces(file, file.size, async (piece) => {
            check.update(piece);
            await append(piece, file.incompressible);
          });
        }
        if (check.digest("hex") !== file.sha256) throw fileChanged(file, "its content no longer matches the sha256 taken for the manifest");
        await append(padding(file.size), file.incompressible);
      }
      await append(END_OF_ARCHIVE, false);
      await flush();
      await gzip.flush();
      const result = { sha256: hash.digest("hex"), size };
      stream.push(null);
      settle.resolve(result);
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error));
      settle.reject(failure);
      if (!stream.destroyed) stream.destroy(failure);
    } finally {
      await gzip.close();
    }
  }

  return { manifest, contentSha256, stream, done };
}
