import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { checkoutRef, commitOnBranch, resolveRef, suggestNextVersion, tagsAt } from "./git";
import { readGitInfo } from "./pack";

let repo: string;
const git = (...args: string[]) => execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@t.invalid", "-c", "init.defaultBranch=main", "-C", repo, ...args], { encoding: "utf8" }).trim();

beforeAll(() => {
  repo = fs.mkdtempSync(path.join(os.tmpdir(), "deckhand-git-"));
  git("init", "-q");
  fs.writeFileSync(path.join(repo, "VERSION"), "one\n");
  git("add", "-A");
  git("commit", "-q", "-m", "one");
  for (const tag of ["0.1.3-dev", "0.1.29-dev", "0.1.30", "1.0.0-rc"]) git("tag", tag);
});

describe("versions from git", () => {
  it("suggests the next patch as seeds/002's make tag does, per suffix", async () => {
    expect(await suggestNextVersion(repo, "dev")).toEqual({ latest: "0.1.29-dev", next: "0.1.30-dev" });
    expect(await suggestNextVersion(repo)).toEqual({ latest: "0.1.30", next: "0.1.31" });
    expect(await suggestNextVersion(repo, "staging")).toEqual({ latest: null, next: "0.1.0-staging" });
  });

  it("records the tags on the commit in the git info", async () => {
    expect(await tagsAt(repo)).toBe("1.0.0-rc, 0.1.30, 0.1.29-dev, 0.1.3-dev");
    expect((await readGitInfo(repo))?.tag).toBe("1.0.0-rc, 0.1.30, 0.1.29-dev, 0.1.3-dev");
  });

  it("checks out a tag cleanly in a temporary worktree and removes it", async () => {
    fs.writeFileSync(path.join(repo, "VERSION"), "two\n");
    git("commit", "-qam", "two");
    fs.writeFileSync(path.join(repo, "VERSION"), "uncommitted\n");
    const checkout = await checkoutRef(repo, "0.1.30");
    expect(fs.readFileSync(path.join(checkout.dir, "VERSION"), "utf8")).toBe("one\n");
    expect((await readGitInfo(checkout.dir))).toMatchObject({ branch: "HEAD", dirty: false, tag: expect.stringContaining("0.1.30") });
    expect(git("worktree", "list").split("\n")).toHaveLength(2);
    await checkout.remove();
    expect(fs.existsSync(checkout.dir)).toBe(false);
    expect(git("worktree", "list").split("\n")).toHaveLength(1);
    expect(fs.readFileSync(path.join(repo, "VERSION"), "utf8")).toBe("uncommitted\n"); // the working tree is untouched
  });

  it("refuses refs it does not know or that look like options or expressions", async () => {
    await expect(resolveRef(repo, "no-such-tag")).rejects.toThrow(/has no tag, branch or commit "no-such-tag"/);
    for (const bad of ["--output=/tmp/x", "HEAD@{1}", "a..b", "x y", ""]) await expect(resolveRef(repo, bad)).rejects.toThrow(/not a tag, branch or commit name/);
  });

  it("tells whether a commit is on a branch", async () => {
    const sha = await resolveRef(repo, "0.1.30");
    expect(await commitOnBranch(repo, sha, "main")).toBe(true);
    git("checkout", "-q", "--orphan", "other");
    git("commit", "-q", "-m", "orphan");
    const orphan = git("rev-parse", "HEAD");
    git("checkout", "-q", "-f", "main");
    expect(await commitOnBranch(repo, orphan, "main")).toBe(false);
    expect(await commitOnBranch(repo, sha, "nope")).toBe(false);
  });
});
