// Several environments on one config (issue 12): production needs its name typed in, and a branch rule
// refuses a deploy made from another branch — server-side, against the sandbox.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../config/load";
import { InvalidInputError, RefusedError } from "../errors";
import { listDeploys } from "../history/list";
import { bumpSampleRepo, type Sandbox } from "../sandbox";
import { createDeployContext, type DeployContext } from "./context";
import { startDeploy } from "./deploy";
import { previewRedeploy, startRedeploy } from "./redeploy";
import { settledDeploy, startDeployTestbed, type DeployTestbed } from "./test-sandbox";

let testbed: DeployTestbed;
let sandbox: Sandbox;
let ctx: DeployContext;

beforeAll(async () => {
  testbed = await startDeployTestbed({ timing: { pendingMs: 150, invisibleMs: 300, logFlushMs: 250, healthIntervalMs: 300 } });
  sandbox = testbed.sandbox;
  // seeds/002: the dev environment deploys only from the dev branch.
  const config = JSON.parse(fs.readFileSync(sandbox.configPath, "utf8"));
  config.environments.dev = { ...config.environments.sandbox, prefix: "dev-deployments/", branch: "dev", checks: [], actions: {} };
  const file = path.join(sandbox.root, "environments.config.json");
  fs.writeFileSync(file, JSON.stringify(config, null, 2));
  ctx = createDeployContext(await loadConfig(file), testbed.db, { pollIntervalMs: 250, liveTailGraceMs: 1500 });
}, 120_000);

afterAll(async () => {
  await testbed?.stop();
});

const git = (...args: string[]) => execFileSync("git", ["-C", sandbox.repoDir, ...args], { encoding: "utf8" }).trim();

describe("environments", () => {
  it("the sandbox config has a production environment on the same hosts, with its own prefix", () => {
    expect(ctx.config.environments.production).toMatchObject({ production: true, prefix: "prod-deployments/", hosts: ctx.config.environments.sandbox.hosts });
    expect(ctx.config.environments.sandbox.production).toBe(false);
  });

  it("refuses a production deploy or rollback without its name typed in, and runs it with the name", async () => {
    const before = (await listDeploys(testbed.db, { filters: { environment: "production" } })).deploys.length;
    await expect(startDeploy(ctx, { environment: "production", services: ["audit"] })).rejects.toThrow(InvalidInputError);
    await expect(startDeploy(ctx, { environment: "production", services: ["audit"], confirmEnvironment: "sandbox" })).rejects.toThrow(/not the environment's name/);
    expect((await listDeploys(testbed.db, { filters: { environment: "production" } })).deploys.length).toBe(before); // nothing recorded, nothing sent

    bumpSampleRepo(sandbox.repoDir, "audit", "P-1");
    const first = await settledDeploy(testbed.db, await startDeploy(ctx, { environment: "production", services: ["audit"], confirmEnvironment: "production" }));
    expect(first.status).toBe("succeeded");
    expect(first.bundleKey).toMatch(/^prod-deployments\/acp_audit_/);
    await new Promise((r) => setTimeout(r, 1100));
    bumpSampleRepo(sandbox.repoDir, "audit", "P-2");
    expect((await settledDeploy(testbed.db, await startDeploy(ctx, { environment: "production", services: ["audit"], confirmEnvironment: "production" }))).status).toBe("succeeded");

    const rollback = { environment: "production", bundleKey: first.bundleKey, services: ["audit"], kind: "rollback" as const };
    const preview = await previewRedeploy(ctx, rollback);
    await expect(startRedeploy(ctx, { ...rollback, planSha256: preview.planSha256 })).rejects.toThrow(/type its name/);
    const done = await settledDeploy(testbed.db, await startRedeploy(ctx, { ...rollback, planSha256: preview.planSha256, confirmEnvironment: "production" }));
    expect(done.status).toBe("succeeded");
    // the sandbox environment needs no name
    expect(ctx.config.environments.sandbox.production).toBe(false);
  }, 90_000);

  it("refuses a deploy from the wrong branch with that reason, and deploys from the right one", async () => {
    expect(git("rev-parse", "--abbrev-ref", "HEAD")).toBe("main");
    const before = (await listDeploys(testbed.db, { filters: { environment: "dev" } })).deploys.length;
    const refused = startDeploy(ctx, { environment: "dev", services: ["gateway"] });
    await expect(refused).rejects.toThrow(RefusedError);
    await expect(startDeploy(ctx, { environment: "dev", services: ["gateway"] })).rejects.toThrow(/dev deploys only from the "dev" branch; the repo is on branch "main"/);
    expect((await listDeploys(testbed.db, { filters: { environment: "dev" } })).deploys.length).toBe(before);

    git("checkout", "-q", "-b", "dev");
    try {
      const deploy = await settledDeploy(testbed.db, await startDeploy(ctx, { environment: "dev", services: ["gateway"] }));
      expect(deploy.status).toBe("succeeded");
      expect(JSON.parse(deploy.manifest ?? "{}").git.branch).toBe("dev");
    } finally {
      git("checkout", "-q", "main");
    }
  }, 90_000);
});
