// Rollback, redeploy of any bundle (also hand-made ones), retry of failed hosts: against the sandbox.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { DeleteObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Db } from "../history/db";
import { getDeployDetail } from "../history/deploys";
import { bumpSampleRepo, type Sandbox } from "../sandbox";
import { bundlesPage, liveView } from "./bundles";
import type { DeployContext } from "./context";
import { startDeploy } from "./deploy";
import { previewRedeploy, retryFailedHosts, startRedeploy } from "./redeploy";
import { repoOnHost, settledDeploy, startDeployTestbed, type DeployTestbed } from "./test-sandbox";

let testbed: DeployTestbed;
let sandbox: Sandbox;
let db: Db;
let ctx: DeployContext;

beforeAll(async () => {
  testbed = await startDeployTestbed({ timing: { pendingMs: 150, invisibleMs: 300, logFlushMs: 250, healthIntervalMs: 300 } });
  ({ sandbox, db, ctx } = testbed);
}, 120_000);

afterAll(async () => {
  await testbed?.stop();
});

const auditVersionOn = (host: Sandbox["hosts"][number]) => fs.readFileSync(path.join(repoOnHost(sandbox, host), "services/audit/VERSION"), "utf8").trim();
const healthVersion = async (host: Sandbox["hosts"][number], service: string) =>
  ((await (await fetch(`http://127.0.0.1:${host.port}/api/${service}/health`)).json()) as { version: string }).version;
const settled = (id: string) => settledDeploy(db, id);

async function deployVersion(service: "audit" | "gateway", version: string) {
  bumpSampleRepo(sandbox.repoDir, service, version);
  const deploy = await settled(await startDeploy(ctx, { environment: "sandbox", services: [service] }));
  expect(deploy.status).toBe("succeeded");
  return deploy;
}

describe("rollback and redeploy against the sandbox", () => {
  it("rolls audit back from B to A on both hosts, linked in history to the deploy it reverts", async () => {
    const a = await deployVersion("audit", "A-1.0");
    await new Promise((r) => setTimeout(r, 1100)); // bundle keys carry a one-second stamp
    const b = await deployVersion("audit", "B-2.0");

    const live = await liveView(ctx, "sandbox");
    const target = live.rollback.find((r) => r.service === "audit");
    expect(target?.current.bundleKey).toBe(b.bundleKey);
    expect(target?.previous?.bundleKey).toBe(a.bundleKey);

    const preview = await previewRedeploy(ctx, { environment: "sandbox", bundleKey: a.bundleKey, services: ["audit"], kind: "rollback" });
    expect(preview.changes.map((c) => [c.hostName, c.from, c.to])).toEqual([
      ["EC2 a", b.bundleKey, a.bundleKey],
      ["EC2 b", b.bundleKey, a.bundleKey],
    ]);
    expect(preview.diff).toEqual([{ path: "services/audit/VERSION", change: "changed", sizeBefore: 6, sizeAfter: 6 }]);
    expect(preview.revertsDeployId).toBe(b.id);
    expect(preview.script).toContain(`-- 'services/audit'`);

    const rollback = await settled(await startRedeploy(ctx, { environment: "sandbox", bundleKey: a.bundleKey, services: ["audit"], kind: "rollback", planSha256: preview.planSha256 }));
    expect(rollback.status).toBe("succeeded");
    expect(rollback.kind).toBe("rollback");
    expect(rollback.revertsDeployId).toBe(b.id);
    expect(rollback.bundleKey).toBe(a.bundleKey);
    expect(rollback.script).toBe(preview.script);
    for (const host of sandbox.hosts) {
      expect(auditVersionOn(host)).toBe("A-1.0");
      expect(await healthVersion(host, "audit")).toBe("A-1.0");
    }
    const after = await liveView(ctx, "sandbox");
    for (const host of sandbox.hosts) expect(after.hosts[host.instanceId].audit?.bundleKey).toBe(a.bundleKey);
    // rolling back again goes to B (the bundle live before the current one)
    expect(after.rollback.find((r) => r.service === "audit")?.previous?.bundleKey).toBe(b.bundleKey);

    await expect(previewRedeploy(ctx, { environment: "sandbox", bundleKey: a.bundleKey, services: ["audit"], kind: "rollback" })).rejects.toThrow(/already live/);
    await expect(previewRedeploy(ctx, { environment: "sandbox", bundleKey: b.bundleKey, services: ["gateway"], kind: "redeploy" })).rejects.toThrow(/does not carry service "gateway"/);
  });

  it("lists and deploys a bundle uploaded by hand with tar czf and an S3 put", async () => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "deckhand-hand-bundle-"));
    fs.cpSync(path.join(sandbox.repoDir, "services"), path.join(work, "services"), { recursive: true });
    fs.writeFileSync(path.join(work, "services/audit/VERSION"), "hand-made\n");
    const stamp = Math.floor(Date.now() / 1000) + 5;
    const key = `deployments/acp_audit_${stamp}.tar.gz`;
    execFileSync("tar", ["czf", path.join(work, "bundle.tar.gz"), "services/audit/"], { cwd: work });
    await ctx.aws(sandbox.region).s3.send(new PutObjectCommand({ Bucket: sandbox.bucket, Key: key, Body: fs.readFileSync(path.join(work, "bundle.tar.gz")) }));

    const page = await bundlesPage(ctx, "sandbox", 1, 50, true);
    const row = page.rows.find((r) => r.key === key);
    expect(row).toMatchObject({ services: ["audit"], servicesFrom: "key name", outsideDeckhand: true, deployId: null });

    const preview = await previewRedeploy(ctx, { environment: "sandbox", bundleKey: key, services: ["audit"], kind: "redeploy" });
    expect(preview.madeOutsideDeckhand).toBe(true);
    expect(preview.sha256).toMatch(/^[0-9a-f]{64}$/);
    const deploy = await settled(await startRedeploy(ctx, { environment: "sandbox", bundleKey: key, services: ["audit"], kind: "redeploy", planSha256: preview.planSha256 }));
    expect(deploy.status).toBe("succeeded");
    for (const host of sandbox.hosts) expect(auditVersionOn(host)).toBe("hand-made");

    const listed = (await bundlesPage(ctx, "sandbox", 1, 50, true)).rows.find((r) => r.key === key);
    expect(listed?.liveOn.map((l) => l.hostName).sort()).toEqual(["EC2 a", "EC2 b"]);
  });

  it("refuses a bundle that has expired from the bucket", async () => {
    const deploy = await deployVersion("gateway", "gone-1");
    await ctx.aws(sandbox.region).s3.send(new DeleteObjectCommand({ Bucket: sandbox.bucket, Key: deploy.bundleKey }));
    await expect(previewRedeploy(ctx, { environment: "sandbox", bundleKey: deploy.bundleKey, services: ["gateway"], kind: "redeploy" })).rejects.toThrow(/no longer in s3.*expired/);
  });

  it("retries only the failed host, as a new attempt of the same deploy", async () => {
    const [a, b] = sandbox.hosts;
    sandbox.setFault(a.instanceId, "fail-next", true);
    bumpSampleRepo(sandbox.repoDir, "gateway", "retry-1");
    const first = await settled(await startDeploy(ctx, { environment: "sandbox", services: ["gateway"] }));
    expect(first.status).toBe("partially_failed");
    const composeOnB = (await sandbox.composeLog(b.instanceId)).length;

    expect(await retryFailedHosts(ctx, first.id)).toEqual([a.instanceId]);
    expect((await getDeployDetail(db, first.id))?.status).toBe("sending"); // active again before the call returns
    const retried = await settled(first.id);
    expect(retried.status).toBe("succeeded");
    expect(retried.attempt).toBe(2);
    expect(retried.hostRuns.map((r) => [r.attempt, r.hostName, r.status])).toEqual([
      [1, "EC2 a", "Failed"],
      [1, "EC2 b", "Success"],
      [2, "EC2 a", "Success"],
    ]);
    expect((await sandbox.composeLog(b.instanceId)).length).toBe(composeOnB); // b was not touched again
    expect(await healthVersion(a, "gateway")).toBe("retry-1");
    await expect(retryFailedHosts(ctx, first.id)).rejects.toThrow(/only a deploy that reached its hosts and ended with failures|nothing to retry/);
  });
});
