import { createHash, randomBytes } from "node:crypto";
import { execFileSync } from "node:child_process";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { buffer } from "node:stream/consumers";
import { pipeline } from "node:stream/promises";
import { gunzipSync } from "node:zlib";
import tarStream from "tar-stream";
import { beforeAll, describe, expect, it } from "vitest";
import { MANIFEST_PATH, parseManifest } from "./manifest";
import { BundleError, bundleContentSha256, collectFiles, packBundle } from "./pack";

let repo: string;

beforeAll(async () => {
  repo = await fs.mkdtemp(path.join(os.tmpdir(), "deckhand-pack-"));
  await fs.mkdir(path.join(repo, "services/audit/lib"), { recursive: true });
  await fs.writeFile(path.join(repo, "services/audit/app.py"), "print('audit')\n");
  await fs.writeFile(path.join(repo, "services/audit/lib/util.py"), "X = 1\n");
  await fs.mkdir(path.join(repo, "ui/dist"), { recursive: true });
  await fs.writeFile(path.join(repo, "ui/dist/index.html"), "<html></html>");
  await fs.writeFile(path.join(repo, "ui/nginx.conf"), "server {}");
  execFileSync("git", ["init", "-q", "-b", "main"], { cwd: repo });
  execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@t", "add", "-A"], { cwd: repo });
  execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init"], { cwd: repo });
});

describe("pack", () => {
  it("streams a tar.gz with the manifest first, and its sha256 matches the bytes", async () => {
    const packed = await packBundle({ repoDir: repo, label: "multi", services: ["audit", "ui"], paths: ["services/audit", "ui/dist", "ui/nginx.conf"], replace: ["ui/dist"] });
    const bytes = await buffer(packed.stream);
    const { sha256, size } = await packed.done;
    expect(size).toBe(bytes.length);
    expect(sha256).toBe(createHash("sha256").update(bytes).digest("hex"));

    const file = path.join(repo, "..", `bundle-${Date.now()}.tar.gz`);
    await fs.writeFile(file, bytes);
    const listing = execFileSync("tar", ["tzf", file], { encoding: "utf8" }).trim().split("\n");
    expect(listing[0]).toBe(MANIFEST_PATH);
    expect(listing.slice(1)).toEqual(["services/audit/app.py", "services/audit/lib/util.py", "ui/dist/index.html", "ui/nginx.conf"]);

    const manifest = parseManifest(execFileSync("tar", ["xzOf", file, MANIFEST_PATH], { encoding: "utf8" }));
    expect(manifest.services).toEqual(["audit", "ui"]);
    expect(manifest.git).toMatchObject({ branch: "main", dirty: false });
    expect(manifest.git?.sha).toMatch(/^[0-9a-f]{40}$/);
    const app = manifest.files.find((f) => f.path === "services/audit/app.py");
    expect(app).toEqual({ path: "services/audit/app.py", size: 15, sha256: createHash("sha256").update("print('audit')\n").digest("hex") });
  });

  it("refuses paths outside the repo and symlinks that escape it", async () => {
    await expect(collectFiles(repo, ["../etc"])).rejects.toThrow(BundleError);
    await expect(collectFiles(repo, ["/etc/passwd"])).rejects.toThrow(/outside the repo/);
    await fs.symlink("/etc/passwd", path.join(repo, "services/audit/passwd"));
    await expect(collectFiles(repo, ["services/audit"])).rejects.toThrow(/symlink that escapes the repo/);
    await fs.rm(path.join(repo, "services/audit/passwd"));
    await fs.symlink("app.py", path.join(repo, "services/audit/main.py"));
    const files = await collectFiles(repo, ["services/audit"]);
    expect(files.find((f) => f.path === "services/audit/main.py")?.linkTarget).toBe("app.py");
    await fs.rm(path.join(repo, "services/audit/main.py"));
  });

  it("says which path is missing", async () => {
    await expect(collectFiles(repo, ["services/billing"])).rejects.toThrow(/services\/billing does not exist/);
  });

  it("refuses a path whose parent directory is a symlink out of the repo (svc -> /outside, path svc/audit)", async () => {
    const outside = await fs.mkdtemp(path.join(os.tmpdir(), "deckhand-outside-"));
    await fs.mkdir(path.join(outside, "audit"));
    await fs.writeFile(path.join(outside, "audit/secret.txt"), "not yours\n");
    await fs.symlink(outside, path.join(repo, "svc"));
    try {
      await expect(collectFiles(repo, ["svc/audit"])).rejects.toThrow(/svc\/audit is outside the repo: svc resolves to /);
      await expect(packBundle({ repoDir: repo, label: "audit", services: ["audit"], paths: ["svc/audit/secret.txt"], replace: [] })).rejects.toThrow(BundleError);
      // a relative link that climbs out is refused the same way
      await fs.symlink("../../" + path.basename(outside), path.join(repo, "services/up"));
      await expect(collectFiles(repo, ["services/up/audit"])).rejects.toThrow(/outside the repo/);
    } finally {
      await fs.rm(path.join(repo, "svc"));
      await fs.rm(path.join(repo, "services/up"), { force: true });
      await fs.rm(outside, { recursive: true });
    }
    // a symlinked parent that stays inside the repo is fine, and the files are read from the real place
    await fs.symlink("services", path.join(repo, "svc"));
    try {
      const files = await collectFiles(repo, ["svc/audit"]);
      expect(files.map((f) => f.path)).toEqual(["svc/audit/app.py", "svc/audit/lib/util.py"]);
      expect(files[0].absolute).toBe(path.join(await fs.realpath(repo), "services/audit/app.py"));
    } finally {
      await fs.rm(path.join(repo, "svc"));
    }
  });
});

/** Entries of a tar.gz read with Node's gunzip (all gzip members) and tar-stream. */
async function readWithNode(bytes: Buffer): Promise<Map<string, { type: string; data: Buffer; linkname?: string; mode?: number }>> {
  const entries = new Map<string, { type: string; data: Buffer; linkname?: string; mode?: number }>();
  const extract = tarStream.extract();
  const finished = new Promise<void>((resolve, reject) => {
    extract.on("entry", (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on("data", (c: unknown) => void chunks.push(c as Buffer));
      stream.on("end", () => {
        entries.set(header.name, { type: header.type ?? "file", data: Buffer.concat(chunks), linkname: header.linkname ?? undefined, mode: header.mode });
        next();
      });
    });
    extract.on("finish", resolve);
    extract.on("error", reject);
  });
  extract.end(gunzipSync(bytes));
  await finished;
  return entries;
}

describe("parallel pack", () => {
  let tree: string;
  const text = (seed: number, size: number) => {
    const words = ["const", "return", "function", "deploy", "bundle", "host", "value", "=>", "{", "}", ";", "\n", "import", "export", "await"];
    let out = "";
    let x = seed;
    while (out.length < size) {
      x = (x * 1103515245 + 12345) % 2147483648;
      out += words[x % words.length] + " ";
    }
    return out.slice(0, size);
  };

  beforeAll(async () => {
    tree = await fs.mkdtemp(path.join(os.tmpdir(), "deckhand-ppack-"));
    await fs.mkdir(path.join(tree, "app/src/deep"), { recursive: true });
    await fs.mkdir(path.join(tree, "app/img"), { recursive: true });
    for (let i = 0; i < 40; i++) await fs.writeFile(path.join(tree, `app/src/m${i}.js`), text(i, 2_000 + i * 700));
    await fs.writeFile(path.join(tree, "app/src/big.js"), text(99, 3 * 1024 * 1024 + 17)); // read in pieces
    await fs.writeFile(path.join(tree, "app/img/a.jpg"), randomBytes(300_000)); // stored, not deflated
    await fs.writeFile(path.join(tree, "app/img/b.png"), randomBytes(1_500_000));
    await fs.writeFile(path.join(tree, "app/src/empty.txt"), "");
    await fs.writeFile(path.join(tree, "app/src/run.sh"), "#!/bin/sh\necho hi\n", { mode: 0o755 });
    const longDir = "app/src/deep/" + "d".repeat(90) + "/" + "e".repeat(120);
    await fs.mkdir(path.join(tree, longDir), { recursive: true });
    await fs.writeFile(path.join(tree, longDir, "ünïcode-" + "f".repeat(80) + ".txt"), "long name\n");
    await fs.symlink("m1.js", path.join(tree, "app/src/link.js"));
  });

  it("makes one valid .tar.gz of many gzip members: GNU tar and Node's gunzip read every byte back", async () => {
    const packed = await packBundle({ repoDir: tree, label: "app", services: ["app"], paths: ["app"], replace: [] }, { chunkSize: 64 * 1024, parallel: 2 });
    const bytes = await buffer(packed.stream);
    const { sha256, size } = await packed.done;
    expect(size).toBe(bytes.length);
    expect(sha256).toBe(createHash("sha256").update(bytes).digest("hex"));

    const file = path.join(tree, "..", `ppack-${Date.now()}.tar.gz`);
    await fs.writeFile(file, bytes);
    execFileSync("gzip", ["-t", file]);
    const listing = execFileSync("tar", ["tzf", file], { encoding: "utf8" }).trim().split("\n");
    expect(listing[0]).toBe(MANIFEST_PATH);
    expect(listing.slice(1)).toEqual(packed.manifest.files.map((f) => f.path));
    const out = await fs.mkdtemp(path.join(os.tmpdir(), "deckhand-ppack-out-"));
    execFileSync("tar", ["xzf", file, "-C", out]);
    for (const entry of packed.manifest.files) {
      if (entry.linkTarget) {
        expect(await fs.readlink(path.join(out, entry.path))).toBe(entry.linkTarget);
        continue;
      }
      const original = await fs.readFile(path.join(tree, entry.path));
      const extracted = await fs.readFile(path.join(out, entry.path));
      expect(extracted.equals(original), entry.path).toBe(true);
      expect(createHash("sha256").update(extracted).digest("hex")).toBe(entry.sha256);
    }
    expect((await fs.stat(path.join(out, "app/src/run.sh"))).mode & 0o777).toBe(0o755);

    const entries = await readWithNode(bytes);
    expect([...entries.keys()]).toEqual([MANIFEST_PATH, ...packed.manifest.files.map((f) => f.path)]);
    expect(parseManifest(entries.get(MANIFEST_PATH)!.data.toString("utf8")).files).toEqual(packed.manifest.files);
    expect(entries.get("app/img/b.png")!.data.equals(await fs.readFile(path.join(tree, "app/img/b.png")))).toBe(true);
    expect(entries.get("app/src/link.js")).toMatchObject({ type: "symlink", linkname: "m1.js" });
    await fs.rm(out, { recursive: true });
    await fs.rm(file);
  });

  it("stays within 1.10× the size of tar czf of the same tree", async () => {
    const packed = await packBundle({ repoDir: tree, label: "app", services: ["app"], paths: ["app"], replace: [] });
    const bytes = await buffer(packed.stream);
    const reference = execFileSync("tar", ["czf", "-", "-C", tree, "app"], { maxBuffer: 64 * 1024 * 1024 });
    expect(bytes.length / reference.length).toBeLessThanOrEqual(1.1);
    // and the incompressible images were not inflated by being stored
    expect(bytes.length).toBeLessThan(reference.length * 1.02);
  });

  it("fails the pack when a file changes between hashing and streaming (content, same size)", async () => {
    const target = path.join(tree, "app/src/m3.js");
    const original = await fs.readFile(target);
    const packed = await packBundle({ repoDir: tree, label: "app", services: ["app"], paths: ["app"], replace: [] });
    await fs.writeFile(target, Buffer.from(original.toString("utf8").replace(/^./, (c) => (c === "x" ? "y" : "x"))));
    try {
      await expect(buffer(packed.stream)).rejects.toThrow(/app\/src\/m3\.js changed while it was being packed \(its content no longer matches/);
      await expect(packed.done).rejects.toThrow(/m3\.js changed/);
    } finally {
      await fs.writeFile(target, original);
    }
  });

  it("fails the pack when a piece in the middle of a big file changes (same size)", async () => {
    const target = path.join(tree, "app/src/big.js");
    const original = await fs.readFile(target);
    const packed = await packBundle({ repoDir: tree, label: "app", services: ["app"], paths: ["app"], replace: [] }, { chunkSize: 256 * 1024 });
    const handle = await fs.open(target, "r+");
    await handle.write(Buffer.from(original[2 * 1024 * 1024 + 5] === 0x41 ? "B" : "A"), 0, 1, 2 * 1024 * 1024 + 5);
    await handle.close();
    try {
      await expect(buffer(packed.stream)).rejects.toThrow(/app\/src\/big\.js changed while it was being packed \(its content no longer matches/);
    } finally {
      await fs.writeFile(target, original);
    }
  });

  it("fails the pack when a file's size changes between hashing and streaming (small and large files)", async () => {
    for (const name of ["app/src/m5.js", "app/src/big.js"]) {
      const target = path.join(tree, name);
      const original = await fs.readFile(target);
      const packed = await packBundle({ repoDir: tree, label: "app", services: ["app"], paths: ["app"], replace: [] });
      await fs.appendFile(target, "// appended by a build still running\n");
      try {
        await expect(buffer(packed.stream)).rejects.toThrow(new RegExp(`${name.replace(/[./]/g, "\\$&")} changed while it was being packed \\((size|it grew)`));
        await expect(packed.done).rejects.toThrow(BundleError);
      } finally {
        await fs.writeFile(target, original);
      }
    }
  });

  it("splits a manifest bigger than a member across members, and holds back when the reader does", async () => {
    const many = path.join(tree, "many");
    await fs.mkdir(many, { recursive: true });
    for (let i = 0; i < 300; i++) await fs.writeFile(path.join(many, `f${i}.txt`), `file ${i}\n`.repeat(i % 7));
    try {
      const packed = await packBundle({ repoDir: tree, label: "app", services: ["app"], paths: ["app", "many"], replace: [] }, { chunkSize: 4096, parallel: 2, maxInFlight: 2 });
      // a slow reader: the stream's buffer never holds much more than its high-water mark (1 MiB) plus one member
      const chunks: Buffer[] = [];
      let mostBuffered = 0;
      await pipeline(
        packed.stream,
        new Writable({
          write(chunk: Buffer, _encoding, callback) {
            chunks.push(chunk);
            mostBuffered = Math.max(mostBuffered, packed.stream.readableLength);
            setTimeout(callback, 1);
          },
        }),
      );
      expect(mostBuffered).toBeLessThanOrEqual(1024 * 1024 + 2 * 1024 * 1024);
      const bytes = Buffer.concat(chunks);
      const file = path.join(tree, "..", `many-${Date.now()}.tar.gz`);
      await fs.writeFile(file, bytes);
      const manifest = parseManifest(execFileSync("tar", ["xzOf", file, MANIFEST_PATH], { encoding: "utf8" }));
      expect(JSON.stringify(manifest).length).toBeGreaterThan(5 * 4096); // several members for the manifest alone
      expect(manifest.files).toEqual(packed.manifest.files);
      const out = await fs.mkdtemp(path.join(os.tmpdir(), "deckhand-many-out-"));
      execFileSync("tar", ["xzf", file, "-C", out]);
      for (const i of [0, 1, 150, 299]) expect(await fs.readFile(path.join(out, `many/f${i}.txt`), "utf8")).toBe(`file ${i}\n`.repeat(i % 7));
      await fs.rm(out, { recursive: true });
      await fs.rm(file);
    } finally {
      await fs.rm(many, { recursive: true });
    }
  });

  it("hashes the content canonically (as one JSON.stringify of the sorted rows), whatever order the files come in", () => {
    const files = [
      { path: "b/x", size: 3, sha256: "b".repeat(64), mode: 0o644 },
      { path: "a/ü", size: 0, sha256: "a".repeat(64) },
      { path: "a/link", size: 0, sha256: "", linkTarget: "ü" },
    ];
    const expected = createHash("sha256")
      .update(JSON.stringify({ v: 1, services: ["s", "t"], paths: ["a", "b"], replace: [], files: [...files].sort((x, y) => (x.path < y.path ? -1 : 1)).map((f) => [f.path, f.size, f.sha256, f.linkTarget ?? null, f.mode ?? null]) }))
      .digest("hex");
    expect(bundleContentSha256({ services: ["t", "s"], paths: ["b", "a"], replace: [], files })).toBe(expected);
    expect(bundleContentSha256({ services: ["t", "s"], paths: ["b", "a"], replace: [], files: [...files].reverse() })).toBe(expected);
  });

  it("can be abandoned before streaming (e.g. when the same content is already in S3) without leaking", async () => {
    const packed = await packBundle({ repoDir: tree, label: "app", services: ["app"], paths: ["app"], replace: [] });
    packed.stream.destroy();
    await expect(packed.done).rejects.toThrow(/closed before the pack finished/);
  });

  it("gives the same content hash for the same tree, and a different one when a file or its mode changes", async () => {
    const request = { repoDir: tree, label: "app", services: ["app"], paths: ["app"], replace: [] };
    const a = await packBundle(request);
    const b = await packBundle(request);
    a.stream.destroy();
    b.stream.destroy();
    expect(b.contentSha256).toBe(a.contentSha256);
    expect(a.contentSha256).toMatch(/^[0-9a-f]{64}$/);
    await fs.chmod(path.join(tree, "app/src/m7.js"), 0o755);
    const c = await packBundle(request);
    c.stream.destroy();
    await fs.chmod(path.join(tree, "app/src/m7.js"), 0o644);
    expect(c.contentSha256).not.toBe(a.contentSha256);
    expect(bundleContentSha256({ services: ["app"], paths: ["app"], replace: [], files: a.manifest.files.slice(1) })).not.toBe(bundleContentSha256({ services: ["app"], paths: ["app"], replace: [], files: a.manifest.files }));
  });
});
