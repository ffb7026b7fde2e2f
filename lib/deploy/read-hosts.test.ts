// "Read from hosts" against a fresh sandbox whose hosts were provisioned from a bundle made by hand.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bumpSampleRepo, type Sandbox } from "../sandbox";
import type { DeployContext } from "./context";
import { startDeploy } from "./deploy";
import { readLiveFromHosts } from "./read-hosts";
import { settledDeploy, startDeployTestbed, type DeployTestbed } from "./test-sandbox";

let testbed: DeployTestbed;
let sandbox: Sandbox;
let ctx: DeployContext;

beforeAll(async () => {
  testbed = await startDeployTestbed({ seedBundle: true, timing: { pendingMs: 150, invisibleMs: 300, logFlushMs: 250, healthIntervalMs: 300, ingestionDelayMs: 300 } });
  ({ sandbox, ctx } = testbed);
}, 120_000);

afterAll(async () => {
  await testbed?.stop();
});

describe("read from hosts", () => {
  it("fills every cell from the hosts themselves: the hand-made bundle they run, then what Deckhand deployed, never a bare unknown", async () => {
    const fresh = await readLiveFromHosts(ctx, "sandbox");
    expect(fresh.map((h) => h.name)).toEqual(["EC2 a", "EC2 b"]);
    for (const host of fresh) {
      expect(host.problem).toBeNull();
      for (const cell of host.services) {
        expect(cell.bundleKey).toBe(sandbox.seededBundleKey);
        expect(cell.text).not.toMatch(/^unknown$/);
      }
    }

    bumpSampleRepo(sandbox.repoDir, "audit", "read-1");
    const deploy = await settledDeploy(testbed.db, await startDeploy(ctx, { environment: "sandbox", services: ["audit"] }));
    expect(deploy.status).toBe("succeeded");
    const after = await readLiveFromHosts(ctx, "sandbox");
    for (const host of after) {
      expect(host.services.find((s) => s.service === "audit")?.bundleKey).toBe(deploy.bundleKey);
      expect(host.services.find((s) => s.service === "gateway")?.bundleKey).toBe(sandbox.seededBundleKey);
    }

    // A host that cannot be read says so, and shows what history says instead.
    sandbox.setFault(sandbox.hosts[1].instanceId, "offline", true);
    try {
      const offline = await readLiveFromHosts(ctx, "sandbox");
      const b = offline.find((h) => h.name === "EC2 b")!;
      expect(b.problem).toMatch(/ConnectionLost/);
      expect(b.services.find((s) => s.service === "audit")?.text).toMatch(/could not be read .*history says .*acp_audit_/);
    } finally {
      sandbox.setFault(sandbox.hosts[1].instanceId, "offline", false);
    }
  });
});
