// Deckhand against the sandbox's AWS-strict behaviours: denied Logs, skewed host clocks, byte
// truncation of multibyte output, offline hosts, a host without the AWS CLI, pre-signed URL mode.
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Db } from "../history/db";
import { getDeployDetail } from "../history/deploys";
import { bumpSampleRepo, type Sandbox } from "../sandbox";
import { createDeployContext, type DeployContext } from "./context";
import { cancelDeploy, newDeployId, startDeploy } from "./deploy";
import { jobSettled } from "./jobs";
import { storedScriptJob } from "./plans";
import { launch } from "./runner";
import { repoOnHost, settledDeploy, startDeployTestbed, type DeployTestbed, waitFor } from "./test-sandbox";

let testbed: DeployTestbed;
let sandbox: Sandbox;
let db: Db;
let ctx: DeployContext;

beforeAll(async () => {
  testbed = await startDeployTestbed({ timing: { pendingMs: 150, invisibleMs: 300, logFlushMs: 250, healthIntervalMs: 300, slowMs: 1500, ingestionDelayMs: 600, timeScale: 0.002 } });
  ({ sandbox, db, ctx } = testbed);
}, 120_000);

afterAll(async () => {
  await testbed?.stop();
});

const [hostA, hostB] = [0, 1].map((i) => () => sandbox.hosts[i]);
const versionOn = (host: Sandbox["hosts"][number], service: string) => fs.readFileSync(path.join(repoOnHost(sandbox, host), `services/${service}/VERSION`), "utf8").trim();

async function withFault<T>(instanceIds: string[], fault: string, work: () => Promise<T>): Promise<T> {
  for (const id of instanceIds) sandbox.setFault(id, fault as never, true);
  try {
    return await work();
  } finally {
    for (const id of instanceIds) sandbox.setFault(id, fault as never, false);
  }
}


const liveLines = (run: { chunks: { stream: string; text: string }[] }, stream = "stdout") => run.chunks.filter((c) => c.stream === stream).map((c) => c.text);
const finalLines = (text: string) => text.replace(/\n$/, "").split("\n");

// Earlier tests here leave the latest checks red on purpose (offline EC2 b never answered).
const RED_FROM_EARLIER = "an earlier test left the checks red";

describe("Deckhand on AWS-strict behaviour", () => {
  it("with the laptop denied CloudWatch Logs, a deploy still ends with its true status and says live output is off", async () => {
    const deploy = await withFault([hostA().instanceId], "logs-denied", async () => {
      bumpSampleRepo(sandbox.repoDir, "audit", "logs-denied-1");
      return settledDeploy(db, await startDeploy(ctx, { environment: "sandbox", services: ["audit"] }));
    });
    expect(deploy.status).toBe("succeeded");
    const notes = deploy.events.filter((e) => e.phase === "watch").map((e) => e.message);
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatch(/AWS denied access.*Live output is off for this deploy/);
    for (const run of deploy.hostRuns) expect(run.stdout).toContain("==> done");
  });

  it("loses no line of a host whose clock is skewed: the live view matches the final output", async () => {
    expect(sandbox.hosts.length).toBe(2);
    const deploy = await withFault(
      sandbox.hosts.map((h) => h.instanceId),
      "slow",
      async () => {
        bumpSampleRepo(sandbox.repoDir, "gateway", "skew-1");
        return settledDeploy(db, await startDeploy(ctx, { environment: "sandbox", services: ["gateway"] }));
      },
    );
    expect(deploy.status).toBe("succeeded");
    for (const run of deploy.hostRuns) {
      expect(liveLines(run).length).toBeGreaterThan(3);
      expect(liveLines(run)).toEqual(finalLines(run.stdout));
    }
  });

  it("detects byte truncation of multibyte output and reads the full output from S3", async () => {
    const id = newDeployId("multibyte");
    const script = ["#!/bin/bash", "set -euo pipefail", "for i in $(seq 1 400); do printf 'é%.0s' $(seq 1 50); echo; done", 'echo "==> done"', ""].join("\n");
    await launch(ctx, storedScriptJob(ctx.config, id, "sandbox"), {
      insert: { id, environment: "sandbox", kind: "redeploy", services: ["audit"], label: "multibyte", bundleKey: "deployments/none.tar.gz", bundleBucket: sandbox.bucket, createdBy: "test", script },
    });
    const deploy = await settledDeploy(db, id);
    expect(deploy.status).toBe("succeeded");
    for (const run of deploy.hostRuns) {
      // 400 lines of 50 two-byte characters: 20,000 characters but 40,000 bytes, over SSM's 24,000-byte cap
      expect(run.stdout.split("\n").filter((l) => l === "é".repeat(50))).toHaveLength(400);
      expect(run.stdout).not.toContain("--output truncated--");
      expect(run.stdoutTruncated).toBe(false);
    }
  });

  it("reuses a bundle with the same content already in the bucket instead of uploading it again", async () => {
    const reusing = createDeployContext({ ...ctx.config, environments: { sandbox: { ...ctx.config.environments.sandbox, reuseBundles: true } } }, db, { pollIntervalMs: 250, liveTailGraceMs: 1500 });
    bumpSampleRepo(sandbox.repoDir, "gateway", "reuse-1");
    const first = await settledDeploy(db, await startDeploy(reusing, { environment: "sandbox", services: ["gateway"] }));
    expect(first.status).toBe("succeeded");
    const second = await settledDeploy(db, await startDeploy(reusing, { environment: "sandbox", services: ["gateway"] }));
    expect(second.status).toBe("succeeded");
    expect(second.bundleKey).toBe(first.bundleKey);
    expect(second.bundleSha256).toBe(first.bundleSha256);
    expect(second.events.some((e) => e.message.includes(`reused, nothing uploaded`) && e.message.includes(first.id))).toBe(true);
    expect(second.events.some((e) => e.phase === "upload" && /bytes sent/.test(e.message))).toBe(false);
    // A changed tree is a new bundle again.
    bumpSampleRepo(sandbox.repoDir, "gateway", "reuse-2");
    const third = await settledDeploy(db, await startDeploy(reusing, { environment: "sandbox", services: ["gateway"] }));
    expect(third.bundleKey).not.toBe(first.bundleKey);
  });

  it("refuses to send while a host is offline, or skips it when the operator chooses", async () => {
    await withFault([hostB().instanceId], "offline", async () => {
      bumpSampleRepo(sandbox.repoDir, "audit", "offline-1");
      // The pre-deploy checklist sees the host offline: without a typed reason the server refuses to start at all.
      const before = await db.deploy.count();
      await expect(startDeploy(ctx, { environment: "sandbox", services: ["audit"] })).rejects.toThrow(/checklist is not green \(.*hosts online: EC2 b \(ConnectionLost\).*Type why you go ahead/);
      await expect(startDeploy(ctx, { environment: "sandbox", services: ["audit"], goAheadReason: "ok" })).rejects.toThrow(/at least 3 characters/);
      expect(await db.deploy.count()).toBe(before);
      // With a reason it starts, and the send still refuses while the host is offline (nothing is sent).
      const refused = await settledDeploy(db, await startDeploy(ctx, { environment: "sandbox", services: ["audit"], goAheadReason: "testing the offline refusal" }));
      expect(refused.status).toBe("failed");
      expect(refused.error).toMatch(/EC2 b \(ConnectionLost\) is not online in SSM: nothing was sent/);
      expect(refused.hostRuns).toHaveLength(0);
      expect(refused.commandId).toBeNull();

      const skipped = await settledDeploy(db, await startDeploy(ctx, { environment: "sandbox", services: ["audit"], skipOfflineHosts: true, goAheadReason: "EC2 b is being replaced" }));
      // Sent to EC2 a only; the checks behind the ALB then say EC2 b (still offline) never answered.
      expect(skipped.status).toBe("checks_failed");
      expect(skipped.error).toMatch(/EC2 b \(i-[0-9a-f]+\) never answered/);
      expect(skipped.hostRuns.map((r) => r.hostName)).toEqual(["EC2 a"]);
      expect(skipped.events.some((e) => /skipping EC2 b \(ConnectionLost\)/.test(e.message))).toBe(true);
      expect(skipped.events.some((e) => e.phase === "checklist" && e.message.includes("hosts online ✗") && e.message.endsWith("went ahead: EC2 b is being replaced"))).toBe(true);
      expect(versionOn(hostA(), "audit")).toBe("offline-1");
      expect(versionOn(hostB(), "audit")).not.toBe("offline-1");
    });
  });

  it("a host that drops mid-way keeps its last state, and a cancel is accepted", async () => {
    const [a, b] = sandbox.hosts.map((h) => h.instanceId);
    await withFault([a, b], "slow", async () => {
      bumpSampleRepo(sandbox.repoDir, "gateway", "drop-1");
      const id = await startDeploy(ctx, { environment: "sandbox", services: ["gateway"], goAheadReason: RED_FROM_EARLIER });
      await waitFor("both hosts InProgress", () => getDeployDetail(db, id), (d) => d?.hostRuns.length === 2 && d.hostRuns.every((r) => r.status === "InProgress"));
      sandbox.setFault(b, "offline", true);
      try {
        await waitFor("EC2 a to end", () => getDeployDetail(db, id), (d) => d?.hostRuns.find((r) => r.instanceId === a)?.status === "Success");
        const during = (await getDeployDetail(db, id))!;
        expect(during.status).toBe("running");
        expect(during.hostRuns.find((r) => r.instanceId === b)?.status).toBe("InProgress");
        await cancelDeploy(ctx, id);
      } finally {
        sandbox.setFault(b, "offline", false);
      }
      await jobSettled(id);
      const ended = (await getDeployDetail(db, id))!;
      expect(["partially_failed", "succeeded", "checks_failed"]).toContain(ended.status);
      expect(ended.events.some((e) => e.message.includes("cancel requested for EC2 b"))).toBe(true);
    });
  });

  it("fails a host without the AWS CLI at pre-flight with the reason, extracting nothing; the pre-signed URL mode deploys it", async () => {
    const before = versionOn(hostA(), "audit");
    const failed = await withFault([hostA().instanceId], "no-aws-cli", async () => {
      bumpSampleRepo(sandbox.repoDir, "audit", "cli-1");
      return settledDeploy(db, await startDeploy(ctx, { environment: "sandbox", services: ["audit"], goAheadReason: RED_FROM_EARLIER }));
    });
    expect(failed.status).toBe("partially_failed");
    const runA = failed.hostRuns.find((r) => r.instanceId === hostA().instanceId)!;
    expect(runA.status).toBe("Failed");
    expect(runA.stderr).toMatch(/PREFLIGHT: the AWS CLI \(aws\) is not installed/);
    expect(runA.stdout).not.toContain("==> extract");
    expect(failed.events.some((e) => e.message.startsWith("EC2 a: the AWS CLI is not installed — see README › Hosts"))).toBe(true);
    expect(versionOn(hostA(), "audit")).toBe(before);
    expect(versionOn(hostB(), "audit")).toBe("cli-1");

    const presigned = createDeployContext({ ...ctx.config, environments: { sandbox: { ...ctx.config.environments.sandbox, download: "presigned-url" } } }, db, { pollIntervalMs: 250, liveTailGraceMs: 1500 });
    const deployed = await withFault([hostA().instanceId], "no-aws-cli", async () => {
      bumpSampleRepo(sandbox.repoDir, "audit", "cli-2");
      return settledDeploy(db, await startDeploy(presigned, { environment: "sandbox", services: ["audit"], goAheadReason: RED_FROM_EARLIER }));
    });
    expect(deployed.status).toBe("succeeded");
    expect(versionOn(hostA(), "audit")).toBe("cli-2");
    // The stored script keeps no signature once the deploy has ended.
    expect(deployed.script).toContain("curl -fsS --retry 3");
    expect(deployed.script).toContain("<pre-signed query removed>");
    expect(deployed.script).not.toMatch(/X-Amz-Signature/i);
  });
});
