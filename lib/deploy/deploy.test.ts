// The deploy path end to end against the sandbox: real SDK clients over HTTP, real bash on two hosts.
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { sendScript } from "../aws/ssm";
import type { Db } from "../history/db";
import { changeStatus, createHostRuns, getDeployDetail, insertDeploy, listUnfinishedDeploys } from "../history/deploys";
import { listDeploys } from "../history/list";
import { bumpSampleRepo, type Sandbox } from "../sandbox";
import { createDeployContext, type DeployContext } from "./context";
import { cancelDeploy, freshBundleKey, startDeploy } from "./deploy";
import { resumeUnfinishedDeploys } from "./resume";
import { jobSettled } from "./jobs";
import { repoOnHost, settledDeploy, startDeployTestbed, type DeployTestbed } from "./test-sandbox";

let testbed: DeployTestbed;
let sandbox: Sandbox;
let db: Db;
let ctx: DeployContext;

beforeAll(async () => {
  testbed = await startDeployTestbed({ timing: { pendingMs: 150, invisibleMs: 300, logFlushMs: 250, healthIntervalMs: 300, slowMs: 1500 } });
  ({ sandbox, db, ctx } = testbed);
}, 120_000);

afterAll(async () => {
  await testbed?.stop();
});

async function deployAndWait(services: string[]) {
  return settledDeploy(db, await startDeploy(ctx, { environment: "sandbox", services }));
}

const remoteFile = (host: Sandbox["hosts"][number], relative: string) => fs.readFileSync(path.join(repoOnHost(sandbox, host), relative), "utf8");

async function composeCallsSince(before: Map<string, number>) {
  const calls = new Map<string, string[]>();
  for (const host of sandbox.hosts) calls.set(host.instanceId, (await sandbox.composeLog(host.instanceId)).slice(before.get(host.instanceId) ?? 0));
  return calls;
}

async function composeMarks() {
  return new Map(await Promise.all(sandbox.hosts.map(async (h) => [h.instanceId, (await sandbox.composeLog(h.instanceId)).length] as const)));
}

async function hostHealth(host: Sandbox["hosts"][number], service: string) {
  const response = await fetch(`http://127.0.0.1:${host.port}/api/${service}/health`);
  return (await response.json()) as { version: string };
}

async function albHashes(count: number) {
  // A recreated ui container can miss a health check or two: read once the ALB has both hosts again.
  for (let i = 0; i < 100; i++) {
    const state = (await (await fetch(`${sandbox.endpoints.control}/state`)).json()) as { hosts: { albHealthy: boolean }[] };
    if (state.hosts.every((h) => h.albHealthy)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const seen: { host: string; hash: string }[] = [];
  for (let i = 0; i < count; i++) {
    const response = await fetch(sandbox.endpoints.alb + "/");
    const html = await response.text();
    seen.push({ host: response.headers.get("x-deckhand-host") ?? "", hash: /index-[A-Za-z0-9_-]+\.js/.exec(html)?.[0] ?? "" });
  }
  return seen;
}

describe("deploy path against the sandbox", () => {
  it("deploys one service: both hosts Success, files extracted, only audit rebuilt, all recorded", async () => {
    bumpSampleRepo(sandbox.repoDir, "audit", "2.0.0");
    const before = await composeMarks();
    const deploy = await deployAndWait(["audit"]);

    expect(deploy.status).toBe("succeeded");
    expect(deploy.bundleKey).toMatch(/^deployments\/acp_audit_\d{10}\.tar\.gz$/);
    expect(deploy.bundleSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(deploy.script).toContain("sudo docker compose build --no-cache 'audit'");
    expect(JSON.parse(deploy.manifest ?? "{}").services).toEqual(["audit"]);
    expect(deploy.hostRuns.map((r) => [r.hostName, r.status, r.responseCode])).toEqual([
      ["EC2 a", "Success", 0],
      ["EC2 b", "Success", 0],
    ]);
    for (const run of deploy.hostRuns) {
      expect(run.stdout).toContain("==> verify sha256");
      expect(run.stdout).toContain("==> done");
    }
    const calls = await composeCallsSince(before);
    for (const host of sandbox.hosts) {
      expect(remoteFile(host, "services/audit/VERSION").trim()).toBe("2.0.0");
      expect(calls.get(host.instanceId)).toEqual(["build --no-cache audit", "up -d --no-deps --force-recreate audit"]);
      expect((await hostHealth(host, "audit")).version).toBe("2.0.0");
    }
  });

  it("deploys the UI-only shape: local build first, ui/dist replaced, the ALB serves the new hash from both hosts", async () => {
    bumpSampleRepo(sandbox.repoDir, "ui", "2.0.0");
    const before = await composeMarks();
    const deploy = await deployAndWait(["ui"]);
    expect(deploy.status).toBe("succeeded");
    expect(deploy.label).toBe("ui");
    expect(deploy.events.some((e) => e.phase === "build" && e.message.includes("npm run build"))).toBe(true);
    expect(deploy.script).toContain("sudo rm -rf -- 'ui/dist'");

    const newHash = /index-[A-Za-z0-9_-]+\.js/.exec(fs.readFileSync(path.join(sandbox.repoDir, "ui/dist/index.html"), "utf8"))?.[0];
    expect(newHash).toBeTruthy();
    const calls = await composeCallsSince(before);
    for (const host of sandbox.hosts) {
      expect(calls.get(host.instanceId)).toEqual(["build --no-cache ui", "up -d --no-deps --force-recreate ui"]);
      // replaced whole: exactly one index-*.js left on the host
      const assets = fs.readdirSync(path.join(repoOnHost(sandbox, host), "ui/dist/assets"));
      expect(assets).toEqual([newHash]);
    }
    const answers = await albHashes(6);
    expect(new Set(answers.map((a) => a.host)).size).toBe(2);
    expect(answers.every((a) => a.hash === newHash)).toBe(true);
  });

  it("deploys several services: both rebuilt, nothing else", async () => {
    bumpSampleRepo(sandbox.repoDir, "audit", "3.0.0");
    bumpSampleRepo(sandbox.repoDir, "gateway", "3.0.0");
    const before = await composeMarks();
    const deploy = await deployAndWait(["gateway", "audit"]);
    expect(deploy.status).toBe("succeeded");
    expect(deploy.bundleKey).toMatch(/acp_multi_\d+\.tar\.gz$/);
    const calls = await composeCallsSince(before);
    for (const host of sandbox.hosts) {
      expect(calls.get(host.instanceId)).toEqual([
        "build --no-cache audit",
        "up -d --no-deps --force-recreate audit",
        "build --no-cache gateway",
        "up -d --no-deps --force-recreate gateway",
      ]);
      expect((await hostHealth(host, "gateway")).version).toBe("3.0.0");
      expect((await hostHealth(host, "audit")).version).toBe("3.0.0");
    }
  });

  it("records a host failure with its exit code and stderr while the other host succeeds", async () => {
    const [a, b] = sandbox.hosts;
    sandbox.setFault(a.instanceId, "fail-next", true);
    bumpSampleRepo(sandbox.repoDir, "audit", "4.0.0");
    const deploy = await deployAndWait(["audit"]);
    expect(deploy.status).toBe("partially_failed");
    const runA = deploy.hostRuns.find((r) => r.instanceId === a.instanceId)!;
    const runB = deploy.hostRuns.find((r) => r.instanceId === b.instanceId)!;
    expect(runA.status).toBe("Failed");
    expect(runA.responseCode).not.toBe(0);
    expect(runA.responseCode).not.toBeNull();
    expect(runA.stderr.length).toBeGreaterThan(0);
    expect(runB.status).toBe("Success");
    expect(remoteFile(b, "services/audit/VERSION").trim()).toBe("4.0.0");
  });

  it("streams output live from CloudWatch Logs while hosts are still InProgress", async () => {
    for (const host of sandbox.hosts) sandbox.setFault(host.instanceId, "slow", true);
    try {
      bumpSampleRepo(sandbox.repoDir, "gateway", "5.0.0");
      const id = await startDeploy(ctx, { environment: "sandbox", services: ["gateway"] });
      let sawLiveWhileRunning = false;
      for (let i = 0; i < 200 && !sawLiveWhileRunning; i++) {
        const detail = await getDeployDetail(db, id);
        sawLiveWhileRunning = Boolean(detail?.hostRuns.some((run) => run.status === "InProgress" && run.chunks.some((c) => c.stream === "stdout" && c.text.includes("==>"))));
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(sawLiveWhileRunning).toBe(true);
      await jobSettled(id);
      expect((await getDeployDetail(db, id))?.status).toBe("succeeded");
    } finally {
      for (const host of sandbox.hosts) sandbox.setFault(host.instanceId, "slow", false);
    }
  });

  it("cancels a slow deploy: both hosts end Cancelled and the deploy is recorded cancelled", async () => {
    for (const host of sandbox.hosts) sandbox.setFault(host.instanceId, "slow", true);
    try {
      bumpSampleRepo(sandbox.repoDir, "audit", "6.0.0");
      const id = await startDeploy(ctx, { environment: "sandbox", services: ["audit"] });
      for (let i = 0; i < 200; i++) {
        const detail = await getDeployDetail(db, id);
        if (detail?.hostRuns.length && detail.hostRuns.every((r) => r.status === "InProgress")) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      await cancelDeploy(ctx, id);
      await jobSettled(id);
      const detail = await getDeployDetail(db, id);
      expect(detail?.status).toBe("cancelled");
      expect(detail?.hostRuns.map((r) => [r.status, r.responseCode])).toEqual([
        ["Cancelled", 137],
        ["Cancelled", 137],
      ]);
    } finally {
      for (const host of sandbox.hosts) sandbox.setFault(host.instanceId, "slow", false);
    }
  });

  it("runs one deploy at a time per environment, and never reuses a bundle key", async () => {
    // two clicks at the same moment: exactly one deploy starts
    const results = await Promise.allSettled([
      startDeploy(ctx, { environment: "sandbox", services: ["gateway"] }),
      startDeploy(ctx, { environment: "sandbox", services: ["audit"] }),
    ]);
    const started = results.filter((r): r is PromiseFulfilledResult<string> => r.status === "fulfilled");
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    expect(started).toHaveLength(1);
    expect(String(refused[0]?.reason)).toMatch(/still .* on sandbox: wait for it to end or cancel it/);
    const first = started[0].value;
    await jobSettled(first);
    const taken = (await getDeployDetail(db, first))!.bundleKey;
    const stamp = Number(/_(\d+)\.tar\.gz$/.exec(taken)![1]);
    vi.spyOn(Date, "now").mockReturnValue(stamp * 1000); // the same second as the first bundle
    try {
      expect(await freshBundleKey(ctx, ctx.config.environments.sandbox, "gateway")).toBe(taken.replace(`_${stamp}.`, `_${stamp + 1}.`));
    } finally {
      vi.restoreAllMocks();
    }
  });

  it("records AWS errors in plain words: a missing bucket and an unknown instance", async () => {
    const environment = ctx.config.environments.sandbox;
    const broken = (patch: Partial<typeof environment>) =>
      createDeployContext({ ...ctx.config, environments: { sandbox: { ...environment, ...patch } } }, db, { pollIntervalMs: 250, liveTailGraceMs: 1500 });

    // The environment lock lives in the bucket: a missing bucket is refused before anything is recorded.
    const noBucket = broken({ bucket: "no-such-deckhand-bucket" });
    const before = (await listDeploys(db)).deploys.length;
    await expect(startDeploy(noBucket, { environment: "sandbox", services: ["audit"] })).rejects.toThrow(/Could not take the environment lock s3:\/\/no-such-deckhand-bucket\/.*bucket does not exist/);
    expect((await listDeploys(db)).deploys.length).toBe(before);

    const unknownHost = broken({ hosts: [{ instanceId: "i-0000000000000dead", name: "ghost" }] });
    const second = await startDeploy(unknownHost, { environment: "sandbox", services: ["audit"], goAheadReason: "the ghost host is expected to be refused" });
    await jobSettled(second);
    const failedSend = await getDeployDetail(db, second);
    expect(failedSend?.status).toBe("failed");
    expect(failedSend?.error).toMatch(/ghost \(not registered with SSM\) is not online in SSM: nothing was sent/);
    expect(failedSend?.script).toContain("#!/bin/bash"); // what would have been sent is kept
  });

  it("resumes watching a command a previous server process sent, and fails a deploy it left mid-upload", async () => {
    bumpSampleRepo(sandbox.repoDir, "audit", "resume-1");
    const id = await startDeploy(ctx, { environment: "sandbox", services: ["audit"], reviewScript: true });
    await jobSettled(id);
    const stopped = (await getDeployDetail(db, id))!;
    expect(stopped.status).toBe("awaiting_confirmation");
    // What the previous process had done when it died: the command sent and recorded, nobody watching.
    const environment = ctx.config.environments.sandbox;
    const commandId = await sendScript(ctx.aws(environment.region).ssm, {
      instanceIds: environment.hosts.map((h) => h.instanceId),
      script: stopped.script,
      executionTimeoutSeconds: 600,
      deliveryTimeoutSeconds: 120,
      comment: `Deckhand ${id}`,
    });
    await createHostRuns(db, id, 1, commandId, environment.hosts);
    await changeStatus(db, id, { from: "awaiting_confirmation", to: "sending", message: "test: confirmed by a process that then died" });
    await changeStatus(db, id, { from: "sending", to: "running", message: "test: sent", data: { commandId } });
    await insertDeploy(db, { id: "left-mid-upload", environment: "sandbox", kind: "deploy", services: ["gateway"], label: "gateway", bundleKey: "deployments/acp_gateway_1.tar.gz", bundleBucket: sandbox.bucket, createdBy: "test" });
    await changeStatus(db, "left-mid-upload", { from: "queued", to: "uploading", message: "test: packing" });

    const restarted = createDeployContext(ctx.config, db, { pollIntervalMs: 250, liveTailGraceMs: 1500 });
    await resumeUnfinishedDeploys(restarted, await listUnfinishedDeploys(db));
    await jobSettled(id);
    const resumed = (await getDeployDetail(db, id))!;
    expect(resumed.status).toBe("succeeded");
    expect(resumed.hostRuns.map((r) => r.status)).toEqual(["Success", "Success"]);
    expect(resumed.events.some((e) => e.message.includes("resuming the watch"))).toBe(true);
    const abandoned = (await getDeployDetail(db, "left-mid-upload"))!;
    expect(abandoned.status).toBe("failed");
    expect(abandoned.error).toMatch(/stopped while this deploy was uploading; nothing was sent/);
  });
});
