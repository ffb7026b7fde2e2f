// No half-applied host, on sandbox hosts through the engine: a build that fails after extraction and
// a cancel after extraction both leave the host's files exactly as they were before the deploy.
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cancelDeploy, startDeploy } from "../deploy/deploy";
import { repoOnHost, settledDeploy, startDeployTestbed, type DeployTestbed, waitFor } from "../deploy/test-sandbox";
import { getDeployDetail } from "../history/deploys";
import { bumpSampleRepo } from "../sandbox";

let testbed: DeployTestbed;

beforeAll(async () => {
  testbed = await startDeployTestbed({ timing: { pendingMs: 150, invisibleMs: 300, logFlushMs: 250, healthIntervalMs: 300, slowMs: 1500 } });
}, 120_000);

afterAll(async () => {
  await testbed?.stop();
});

/** sha256 of every file under a host's repo path, by relative name: what "as it was" means. */
function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (at: string) => {
    for (const entry of fs.readdirSync(at, { withFileTypes: true })) {
      const full = path.join(at, entry.name);
      if (entry.isDirectory()) walk(full);
      else out[path.relative(dir, full)] = createHash("sha256").update(fs.readFileSync(full)).digest("hex");
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return out;
}


describe("the host script puts back what it replaced", () => {
  it("fail-next during the build: the failed host's files are back as they were, and its output says restored", async () => {
    const { sandbox, db, ctx } = testbed;
    const [failing, healthy] = sandbox.hosts;
    const dirOf = (host: typeof failing) => path.join(repoOnHost(sandbox, host!), "services/audit");
    const before = tree(dirOf(failing));
    const beforeHealthy = tree(dirOf(healthy));
    sandbox.setFault(failing!.instanceId, "fail-next", true);
    bumpSampleRepo(sandbox.repoDir, "audit", "restore-1");
    const deploy = await settledDeploy(db, await startDeploy(ctx, { environment: "sandbox", services: ["audit"] }));
    expect(deploy.status).toBe("partially_failed");
    const run = deploy.hostRuns.find((r) => r.instanceId === failing!.instanceId)!;
    expect(run.status).toBe("Failed");
    expect(run.stderr).toMatch(/failed to solve/); // it failed in the build, after extraction
    expect(run.stdout).toMatch(/==> restored services\/audit as they were before this deploy \(a step failed; last step reached: docker compose build --no-cache audit\)/);
    expect(tree(dirOf(failing))).toEqual(before);
    // The deploy says so in its own words, not only in the host's output.
    expect(deploy.events.map((e) => e.message)).toContainEqual(expect.stringMatching(/^EC2 a: restored services\/audit as they were before this deploy \(a step failed; last step reached: docker compose build/));
    // The healthy host applied it: the comparison can tell a change from none.
    expect(tree(dirOf(healthy))).not.toEqual(beforeHealthy);
  }, 90_000);

  it("cancel after extraction: the host's files are put back (the guard outlives SSM's kill of the script)", async () => {
    const { sandbox, db, ctx } = testbed;
    const host = sandbox.hosts[0]!;
    const repo = repoOnHost(sandbox, host);
    const dir = path.join(repo, "services/gateway");
    const before = tree(dir);
    for (const h of sandbox.hosts) sandbox.setFault(h.instanceId, "slow", true);
    let id = "";
    try {
      bumpSampleRepo(sandbox.repoDir, "gateway", "restore-cancel");
      id = await startDeploy(ctx, { environment: "sandbox", services: ["gateway"] });
      await waitFor("the new gateway files extracted on the host", () => tree(dir), (now) => JSON.stringify(now) !== JSON.stringify(before));
      await cancelDeploy(ctx, id);
    } finally {
      for (const h of sandbox.hosts) sandbox.setFault(h.instanceId, "slow", false);
    }
    const deploy = await settledDeploy(db, id);
    expect(deploy.status).toBe("cancelled");
    await waitFor("the gateway files put back", () => tree(dir), (now) => JSON.stringify(now) === JSON.stringify(before), 10_000);
    const previous = path.join(repo, ".deckhand/previous");
    const logs = fs.readdirSync(previous).map((entry) => path.join(previous, entry, "restored.log")).filter((file) => fs.existsSync(file));
    expect(logs.length).toBeGreaterThan(0);
    expect(fs.readFileSync(logs.at(-1)!, "utf8")).toMatch(/==> restored services\/gateway as they were before this deploy \(the script was killed \(SSM cancel or timeout\); last step reached: /);

    // The next deploy tells the operator, prunes old entries (keeps 3 + its own) and applies.
    bumpSampleRepo(sandbox.repoDir, "gateway", "after-cancel");
    const next = await settledDeploy(db, await startDeploy(ctx, { environment: "sandbox", services: ["gateway"] }));
    expect(next.status).toBe("succeeded");
    expect(next.hostRuns.find((r) => r.instanceId === host.instanceId)!.stdout).toMatch(/==> note: an earlier deploy was put back after it was killed/);
    expect(tree(dir)).not.toEqual(before);
    expect(fs.readdirSync(previous).length).toBeLessThanOrEqual(4);
    expect((await getDeployDetail(db, id))?.status).toBe("cancelled");
  }, 90_000);
});
