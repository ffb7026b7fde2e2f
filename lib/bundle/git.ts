// Versions from git (issue 12, seeds/002): the tag a commit carries, the next patch version as
// `make tag` suggests it, and a clean checkout of a tag or commit to pack from (a temporary worktree).
import { execFile } from "node:child_process";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { RefusedError } from "../errors";
import { isVersionLabel } from "./naming";

const run = promisify(execFile);
const git = (repoDir: string, ...args: string[]) => run("git", ["-C", repoDir, ...args], { maxBuffer: 4 * 1024 * 1024 }).then((r) => r.stdout.trim());

/** A ref the operator may name: a tag, branch or commit, never an option or a revision expression. */
const REF = /^(?!-)[A-Za-z0-9][A-Za-z0-9._\/-]{0,199}$/;

/** The tags pointing at a commit, newest version first, joined with ", "; null when none. */
export async function tagsAt(repoDir: string, sha = "HEAD"): Promise<string | null> {
  try {
    const tags = (await git(repoDir, "tag", "--points-at", sha, "--sort=-version:refname")).split("\n").filter(Boolean);
    return tags.length ? tags.join(", ") : null;
  } catch {
    return null;
  }
}

/**
 * The next version as seeds/002's `make tag SUFFIX=dev` computes it: the newest MAJOR.MINOR.PATCH[-suffix]
 * tag with its patch number plus one (0.1.29-dev → 0.1.30-dev); 0.1.0[-suffix] when there is none.
 */
export async function suggestNextVersion(repoDir: string, suffix?: string): Promise<{ latest: string | null; next: string }> {
  const tail = suffix ? `-${suffix}` : "";
  let tags: string[] = [];
  try {
    tags = (await git(repoDir, "tag", "-l", "--sort=-version:refname")).split("\n").filter(Boolean);
  } catch {
    tags = [];
  }
  const pattern = suffix ? new RegExp(`^(\\d+)\\.(\\d+)\\.(\\d+)-${suffix.replace(/[.]/g, "\\.")}$`) : /^(\d+)\.(\d+)\.(\d+)$/;
  const latest = tags.find((t) => pattern.test(t) && isVersionLabel(t)) ?? null;
  if (!latest) return { latest: null, next: `0.1.0${tail}` };
  const [, major, minor, patch] = pattern.exec(latest)!;
  return { latest, next: `${major}.${minor}.${Number(patch) + 1}${tail}` };
}

/** The full sha a ref names; refused with a clear reason when the repo does not know it. */
export async function resolveRef(repoDir: string, ref: string): Promise<string> {
  if (!REF.test(ref) || ref.includes("..") || ref.includes("@{")) throw new RefusedError(`"${ref}" is not a tag, branch or commit name Deckhand accepts.`);
  try {
    return await git(repoDir, "rev-parse", "--verify", "--quiet", "--end-of-options", `${ref}^{commit}`);
  } catch {
    throw new RefusedError(`The repo has no tag, branch or commit "${ref}" (git fetch --tags first?).`);
  }
}

/** Whether a commit is on a branch (reachable from it): the branch rule for a deploy of a tag or commit. */
export async function commitOnBranch(repoDir: string, sha: string, branch: string): Promise<boolean> {
  try {
    await run("git", ["-C", repoDir, "merge-base", "--is-ancestor", sha, `refs/heads/${branch}`]);
    return true;
  } catch {
    return false;
  }
}

export interface Checkout {
  dir: string;
  sha: string;
  remove(): Promise<void>;
}

/**
 * A clean checkout of `ref` in a temporary `git worktree add --detach`, so what is packed is exactly
 * the commit (no uncommitted changes, no untracked files). remove() takes the worktree away again.
 */
export async function checkoutRef(repoDir: string, ref: string): Promise<Checkout> {
  const sha = await resolveRef(repoDir, ref);
  const parent = await fs.mkdtemp(path.join(os.tmpdir(), "deckhand-checkout-"));
  const dir = path.join(parent, "src");
  try {
    await git(repoDir, "worktree", "add", "--detach", "--quiet", dir, sha);
  } catch (error) {
    await fs.rm(parent, { recursive: true, force: true });
    throw new RefusedError(`Could not check out ${ref} into a temporary worktree: ${(error as Error).message.split("\n")[0]}`);
  }
  let removed = false;
  return {
    dir,
    sha,
    async remove() {
      if (removed) return;
      removed = true;
      await git(repoDir, "worktree", "remove", "--force", dir).catch(() => undefined);
      await fs.rm(parent, { recursive: true, force: true });
      await git(repoDir, "worktree", "prune").catch(() => undefined);
    },
  };
}
