import { createHash } from "node:crypto";
import { execFile } from "node:child_process";
import fs from "node:fs";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Transform, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import { promisify } from "node:util";
import tarStream from "tar-stream";
import { RefusedError } from "../errors";
import { MANIFEST_PATH, type BundleManifest, type GitInfo, type ManifestFile } from "./manifest";

export class BundleError extends RefusedError {}

export const DECKHAND_VERSION = "0.1.0";

interface CollectedFile extends ManifestFile {
  absolute: string;
  mode: number;
  mtime: Date;
}

function isInside(root: string, candidate: string): boolean {
  const relative = path.relative(root, candidate);
  return relative === "" || (!relative.startsWith("..") && !path.isAbsolute(relative));
}

async function sha256File(file: string): Promise<string> {
  const hash = createHash("sha256");
  await pipeline(fs.createReadStream(file), hash);
  return hash.digest("hex");
}

/**
 * Walks the repo-relative paths and returns every file under them, sorted, with size and sha256.
 * Refuses anything that would reach outside the repo: `..` paths and symlinks that escape it.
 */
export async function collectFiles(repoDir: string, relativePaths: readonly string[]): Promise<CollectedFile[]> {
  const repoReal = await fsp.realpath(repoDir);
  const files = new Map<string, CollectedFile>();

  async function visit(relative: string): Promise<void> {
    const absolute = path.join(repoReal, relative);
    if (!isInside(repoReal, absolute)) throw new BundleError(`${relative} is outside the repo`);
    const stat = await fsp.lstat(absolute).catch(() => null);
    if (!stat) throw new BundleError(`${relative} does not exist in ${repoReal}`);
    if (stat.isSymbolicLink()) {
      const target = await fsp.readlink(absolute);
      const resolved = path.resolve(path.dirname(absolute), target);
      if (!isInside(repoReal, resolved)) throw new BundleError(`${relative} is a symlink that escapes the repo (→ ${target})`);
      files.set(relative, { path: relative, absolute, size: 0, sha256: "", linkTarget: target, mode: 0o777, mtime: stat.mtime });
      return;
    }
    if (stat.isDirectory()) {
      const entries = await fsp.readdir(absolute);
      for (const entry of entries.sort()) await visit(path.posix.join(relative, entry));
      return;
    }
    if (!stat.isFile()) throw new BundleError(`${relative} is not a regular file, directory or symlink`);
    files.set(relative, { path: relative, absolute, size: stat.size, sha256: await sha256File(absolute), mode: stat.mode & 0o777, mtime: stat.mtime });
  }

  for (const relative of relativePaths) {
    if (path.isAbsolute(relative) || relative.split("/").includes("..")) throw new BundleError(`${relative} is outside the repo`);
    await visit(relative.replace(/\/+$/, ""));
  }
  return [...files.values()].sort((a, b) => a.path.localeCompare(b.path));
}

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
  /** The gzip'd tar, produced as it is read: pipe it straight into the upload. */
  stream: Readable;
  /** Resolves once the stream has been fully read, with the tarball's sha256 and size. */
  done: Promise<{ sha256: string; size: number }>;
}

/**
 * Packs repo-relative paths into a tar.gz stream, manifest first. Files are hashed in a first pass
 * (the manifest needs them) and streamed in a second, so the bundle never sits in memory.
 */
export async function packBundle(request: PackRequest): Promise<PackedBundle> {
  const files = await collectFiles(request.repoDir, request.paths);
  const manifest: BundleManifest = {
    format: 1,
    label: request.label,
    services: request.services,
    paths: request.paths,
    replace: request.replace,
    files: files.map(({ path: p, size, sha256, linkTarget }) => (linkTarget ? { path: p, size, sha256, linkTarget } : { path: p, size, sha256 })),
    git: await readGitInfo(request.repoDir).then((git) => (git && request.ref ? { ...git, ref: request.ref } : git)),
    ...(request.version ? { version: request.version } : {}),
    createdAt: new Date().toISOString(),
    createdBy: whoAmI(),
    deckhandVersion: DECKHAND_VERSION,
  };

  const pack = tarStream.pack();
  const hash = createHash("sha256");
  let size = 0;
  // Hashes the compressed bytes on their way out, so the sha256 costs no second read.
  const output = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      size += chunk.length;
      callback(null, chunk);
    },
  });

  const done = (async () => {
    const writing = pipeline(pack, createGzip(), output);
    const manifestBytes = Buffer.from(JSON.stringify(manifest, null, 2) + "\n");
    pack.entry({ name: MANIFEST_PATH, size: manifestBytes.length, mode: 0o644, mtime: new Date(manifest.createdAt) }, manifestBytes);
    for (const file of files) {
      if (file.linkTarget) {
        pack.entry({ name: file.path, type: "symlink", linkname: file.linkTarget, mtime: file.mtime });
        continue;
      }
      await new Promise<void>((resolve, reject) => {
        const entry = pack.entry({ name: file.path, size: file.size, mode: file.mode, mtime: file.mtime }, (error) => (error ? reject(error) : resolve()));
        fs.createReadStream(file.absolute).on("error", reject).pipe(entry);
      });
    }
    pack.finalize();
    await writing;
    return { sha256: hash.digest("hex"), size };
  })();
  done.catch((error) => output.destroy(error));
  return { manifest, stream: output, done };
}
