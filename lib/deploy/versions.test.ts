// Versions from git against the sandbox (issue 12): a version label in the bundle's name, a deploy of a
// tag packed from a clean checkout (not the working tree), and a warning for a dirty working tree.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseManifest } from "../bundle/manifest";
import { parseBundleKey } from "../bundle/naming";
import { InvalidInputError } from "../errors";
import { listDeploys } from "../history/list";
import { bumpSampleRepo, type Sandbox } from "../sandbox";
import { bundlesPage } from "./bundles";
import type { DeployContext } from "./context";
import { startDeploy } from "./deploy";
import { repoOnHost, settledDeploy, startDeployTestbed, type DeployTestbed } from "./test-sandbox";

let testbed: DeployTestbed;
let sandbox: Sandbox;
let ctx: DeployContext;

beforeAll(async () => {
  testbed = await startDeployTestbed({ timing: { pendingMs: 150, invisibleMs: 300, logFlushMs: 250, healthIntervalMs: 300 } });
  ({ sandbox, ctx } = testbed);
}, 120_000);

afterAll(async () => {
  await testbed?.stop();
});

const git = (...args: string[]) => execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@t.invalid", "-C", sandbox.repoDir, ...args], { encoding: "utf8" }).trim();
const auditOn = (host: Sandbox["hosts"][number]) => fs.readFileSync(path.join(repoOnHost(sandbox, host), "services/audit/VERSION"), "utf8").trim();

describe("versions from git", () => {
  it("deploys a tag from a clean checkout even with uncommitted changes, named and recorded by version", async () => {
    git("tag", "1.2.3");
    bumpSampleRepo(sandbox.repoDir, "audit", "UNCOMMITTED-9"); // the working tree differs from the tag
    const deploy = await settledDeploy(testbed.db, await startDeploy(ctx, { environment: "sandbox", services: ["audit"], ref: "1.2.3", version: "1.2.3" }));
    expect(deploy.status, deploy.error ?? "").toBe("succeeded");
    expect(parseBundleKey(deploy.bundleKey, "acp_")).toMatchObject({ label: "audit", version: "1.2.3" });
    for (const host of sandbox.hosts) expect(auditOn(host)).toBe("1.0.0"); // the tag's file, not the working tree's
    const manifest = parseManifest(deploy.manifest!);
    expect(manifest.version).toBe("1.2.3");
    expect(manifest.git).toMatchObject({ sha: git("rev-parse", "1.2.3^{commit}"), tag: "1.2.3", ref: "1.2.3", dirty: false });
    expect(deploy.events.some((e) => e.phase === "source" && /clean checkout of 1\.2\.3/.test(e.message))).toBe(true);
    expect(deploy.events.some((e) => e.phase === "warning")).toBe(false);
    // the temporary worktree is gone, the working tree untouched
    expect(git("worktree", "list").split("\n")).toHaveLength(1);
    expect(fs.readFileSync(path.join(sandbox.repoDir, "services/audit/VERSION"), "utf8").trim()).toBe("UNCOMMITTED-9");

    const row = (await bundlesPage(ctx, "sandbox", 1, 50, true)).rows.find((r) => r.key === deploy.bundleKey);
    expect(row?.version).toBe("1.2.3");
  }, 90_000);

  it("warns when the working tree is dirty, and deploys what it holds", async () => {
    await new Promise((r) => setTimeout(r, 1100));
    const deploy = await settledDeploy(testbed.db, await startDeploy(ctx, { environment: "sandbox", services: ["audit"] }));
    expect(deploy.status).toBe("succeeded");
    const warning = deploy.events.find((e) => e.phase === "warning");
    expect(warning?.message).toMatch(/uncommitted changes/);
    expect(parseManifest(deploy.manifest!).git?.dirty).toBe(true);
    for (const host of sandbox.hosts) expect(auditOn(host)).toBe("UNCOMMITTED-9");
  }, 60_000);

  it("refuses a bad version label or an unknown ref before recording anything", async () => {
    const before = (await listDeploys(testbed.db, { filters: { environment: "sandbox" } })).deploys.length;
    await expect(startDeploy(ctx, { environment: "sandbox", services: ["audit"], version: "1.2" })).rejects.toThrow(InvalidInputError);
    await expect(startDeploy(ctx, { environment: "sandbox", services: ["audit"], ref: "no-such-tag" })).rejects.toThrow(/has no tag, branch or commit "no-such-tag"/);
    expect((await listDeploys(testbed.db, { filters: { environment: "sandbox" } })).deploys.length).toBe(before);
    expect(git("worktree", "list").split("\n")).toHaveLength(1);
  });
});
