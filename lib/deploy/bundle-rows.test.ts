// Bundle rows and rollback direction, read from history as the engine writes it, against the sandbox S3.
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Db } from "../history/db";
import { bundlesPage, liveView } from "./bundles";
import type { DeployContext } from "./context";
import { startDeployTestbed, type DeployTestbed } from "./test-sandbox";

let testbed: DeployTestbed;
let ctx: DeployContext;
let db: Db;
const stamp = 1_763_900_000;
const key = (label: string, n: number) => `deployments/acp_${label}_${stamp + n}.tar.gz`;
const manifest = (services: string[]) => JSON.stringify({ format: 1, label: services.length > 1 ? "multi" : services[0], services, paths: [], replace: [], files: [], git: null, createdAt: "", createdBy: "t", deckhandVersion: "t" });
const hosts = [
  { instanceId: "", name: "" },
  { instanceId: "", name: "" },
];
let seq = 0;

/** A deploy row as the engine leaves it; `sent` adds one host run per host with the given status. */
async function recordDeploy(bundleKey: string, services: string[], options: { kind?: string; status: string; sent?: string; manifest?: boolean; minutesAgo: number }) {
  const id = `test-${++seq}`;
  const at = new Date(Date.now() - options.minutesAgo * 60_000);
  await db.deploy.create({
    data: {
      id,
      environment: "sandbox",
      kind: options.kind ?? "deploy",
      services: JSON.stringify(services),
      label: "x",
      bundleKey,
      bundleBucket: testbed.sandbox.bucket,
      manifest: options.manifest === false ? null : manifest(services),
      script: "",
      status: options.status,
      createdBy: "tester",
      createdAt: at,
      finishedAt: at,
    },
  });
  if (options.sent) {
    for (const host of hosts) {
      await db.hostRun.create({ data: { id: `${id}-${host.instanceId}`, deployId: id, attempt: 1, instanceId: host.instanceId, hostName: host.name, status: options.sent, startedAt: at, finishedAt: at } });
    }
  }
  return id;
}

beforeAll(async () => {
  testbed = await startDeployTestbed();
  ({ ctx, db } = testbed);
  testbed.sandbox.hosts.forEach((h, i) => (hosts[i] = { instanceId: h.instanceId, name: h.name }));
  const s3 = ctx.aws(testbed.sandbox.region).s3;
  for (const k of [key("audit", 1), key("multi", 2), key("gateway", 3), key("audit", 4)]) {
    await s3.send(new PutObjectCommand({ Bucket: testbed.sandbox.bucket, Key: k, Body: k }));
  }
  // audit_1 live; then audit+gateway (multi_2) deployed; then audit rolled back to audit_1; then multi_2 redeployed for audit only.
  await recordDeploy(key("audit", 1), ["audit"], { status: "succeeded", sent: "Success", minutesAgo: 50 });
  await recordDeploy(key("multi", 2), ["audit", "gateway"], { status: "succeeded", sent: "Success", minutesAgo: 40 });
  await recordDeploy(key("audit", 1), ["audit"], { kind: "rollback", status: "succeeded", sent: "Success", minutesAgo: 30 });
  // A deploy cancelled while waiting for script review, and one that failed before sending.
  await recordDeploy(key("gateway", 3), ["gateway"], { status: "cancelled", minutesAgo: 20 });
  await recordDeploy(key("audit", 4), ["audit"], { status: "failed", minutesAgo: 10 });
}, 120_000);

afterAll(async () => {
  await testbed?.stop();
});

describe("bundle rows", () => {
  it("a multi-service bundle lists every service it carries, with first and last deploy apart", async () => {
    await recordDeploy(key("multi", 2), ["audit"], { kind: "redeploy", status: "succeeded", sent: "Success", minutesAgo: 5 });
    const page = await bundlesPage(ctx, "sandbox", 1, 50, true);
    const multi = page.rows.find((r) => r.key === key("multi", 2))!;
    expect(multi.services).toEqual(["audit", "gateway"]);
    expect(multi.servicesFrom).toBe("history");
    expect(multi.firstDeploy).toMatchObject({ kind: "deploy", services: ["audit", "gateway"], sent: true });
    expect(multi.lastDeploy).toMatchObject({ kind: "redeploy", services: ["audit"], sent: true });
    expect(multi.deployCount).toBe(2);
    expect(multi.neverSent).toBe(false);
    expect(multi.liveOn.map((h) => h.services.sort())).toEqual([
      ["audit", "gateway"],
      ["audit", "gateway"],
    ]);
  });

  it("bundles whose deploys never reached a host say so", async () => {
    const page = await bundlesPage(ctx, "sandbox", 1, 50, true);
    expect(page.rows.find((r) => r.key === key("gateway", 3))).toMatchObject({ neverSent: true, deployCount: 1, liveOn: [] });
    expect(page.rows.find((r) => r.key === key("audit", 4))).toMatchObject({ neverSent: true });
    expect(page.rows.find((r) => r.key === key("audit", 1))).toMatchObject({ neverSent: false });
  });
});

describe("rollback direction", () => {
  it("after a rollback, going to the newer bundle is forward; a plain rollback is back", async () => {
    // Before the redeploy above: audit live = audit_1 (rolled back), previous = multi_2, which is newer.
    const fresh = await startDeployTestbed();
    try {
      const saved = { ctx, db };
      ({ ctx, db } = fresh);
      await recordDeploy(key("audit", 1), ["audit"], { status: "succeeded", sent: "Success", minutesAgo: 50 });
      await recordDeploy(key("multi", 2), ["audit", "gateway"], { status: "succeeded", sent: "Success", minutesAgo: 40 });
      let view = await liveView(ctx, "sandbox");
      expect(view.rollback.find((r) => r.service === "audit")).toMatchObject({ previous: { bundleKey: key("audit", 1) }, direction: "back" });
      await recordDeploy(key("audit", 1), ["audit"], { kind: "rollback", status: "succeeded", sent: "Success", minutesAgo: 30 });
      view = await liveView(ctx, "sandbox");
      expect(view.rollback.find((r) => r.service === "audit")).toMatchObject({ current: { bundleKey: key("audit", 1) }, previous: { bundleKey: key("multi", 2) }, direction: "forward" });
      ({ ctx, db } = saved);
    } finally {
      await fresh.stop();
    }
  }, 60_000);
});
