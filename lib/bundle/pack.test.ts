import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { buffer } from "node:stream/consumers";
import { beforeAll, describe, expect, it } from "vitest";
import { MANIFEST_PATH, parseManifest } from "./manifest";
import { BundleError, collectFiles, packBundle } from "./pack";

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
});
