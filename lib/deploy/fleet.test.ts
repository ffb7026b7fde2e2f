// Many laptops, one fleet (issue 14): two panels (two contexts on two databases) on one sandbox
// bucket. Keys are never overwritten, one deploy at a time per environment across panels, an
// expired lock can be broken, a hanging host ends and frees the environment, one throttled host
// never holds the others back, and a deploy a dead panel left in "sending" is found in SSM.
import { createHash } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { SSMClient } from "@aws-sdk/client-ssm";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { SSM_RETRY } from "../aws/clients";
import { cachedPing } from "../aws/ping-cache";
import { sendScript } from "../aws/ssm";
import { whoAmI } from "../bundle/pack";
import { loadConfig, type LoadedConfig } from "../config/load";
import { ConflictError, RefusedError } from "../errors";
import { openDatabase, type Db } from "../history/db";
import { changeStatus, findActiveDeploy, getDeployDetail, insertDeploy } from "../history/deploys";
import { listDeploys } from "../history/list";
import { recentLockBreaks } from "../history/locks";
import { readLock } from "../lock/bucket-lock";
import { breakEnvironmentLock, lockPlace, whoHoldsEnvironment } from "../lock/environment";
import { bumpSampleRepo, startSandbox, type Sandbox } from "../sandbox";
import { createDeployContext, type DeployContext } from "./context";
import { cancelDeploy, startDeploy } from "./deploy";
import { jobSettled } from "./jobs";
import { resumeUnfinishedDeploys } from "./resume";
import { settledDeploy, waitFor } from "./test-sandbox";

let sandbox: Sandbox;
let config: LoadedConfig;
let dbA: Db;
let dbB: Db;
let panelA: DeployContext;
let panelB: DeployContext;
const SANDBOX_ARN = "arn:aws:iam::000000000000:user/deckhand-sandbox";

function history(): Db {
  return openDatabase(path.join(fs.mkdtempSync(path.join(os.tmpdir(), "deckhand-test-history-")), "history.db"));
}

beforeAll(async () => {
  // No host clock skew here: the throttling test compares SSM's end times (host clock) with ours.
  sandbox = await startSandbox({ clockSkewMs: {}, timing: { pendingMs: 150, invisibleMs: 300, logFlushMs: 250, healthIntervalMs: 300, slowMs: 2000 } });
  Object.assign(process.env, sandbox.env);
  config = await loadConfig(sandbox.configPath);
  // A second environment on the same bucket and prefix: its own lock, the same bundle key space.
  config.environments["sandbox-twin"] = { ...config.environments.sandbox! };
  dbA = history();
  dbB = history();
  panelA = createDeployContext(config, dbA, { pollIntervalMs: 250, liveTailGraceMs: 1000 });
  panelB = createDeployContext(config, dbB, { pollIntervalMs: 250, liveTailGraceMs: 1000 });
}, 120_000);

afterAll(async () => {
  await dbA?.$disconnect();
  await dbB?.$disconnect();
  await sandbox?.stop();
});


const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");

async function objectBytes(ctx: DeployContext, key: string): Promise<Buffer> {
  const object = await ctx.aws(sandbox.region).s3.send(new GetObjectCommand({ Bucket: sandbox.bucket, Key: key }));
  return Buffer.from(await object.Body!.transformToByteArray());
}

/**
 * A loopback stand-in in front of the sandbox's SSM endpoint: counts calls per operation and, for the
 * instance in `throttle`, answers GetCommandInvocation with AWS's ThrottlingException; forwards the rest.
 */
async function ssmGate(upstream: string) {
  const gate = { throttle: null as string | null, calls: new Map<string, number>(), throttled: 0 };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const operation = String(req.headers["x-amz-target"] ?? "").split(".")[1] ?? "?";
      gate.calls.set(operation, (gate.calls.get(operation) ?? 0) + 1);
      if (gate.throttle && operation === "GetCommandInvocation" && (JSON.parse(body.toString("utf8")) as { InstanceId?: string }).InstanceId === gate.throttle) {
        gate.throttled++;
        res.writeHead(400, { "content-type": "application/x-amz-json-1.1", "x-amzn-errortype": "ThrottlingException" });
        res.end(JSON.stringify({ __type: "ThrottlingException", message: "Rate exceeded" }));
        return;
      }
      const target = new URL(upstream);
      const forward = http.request({ hostname: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 500, answer.headers);
        answer.pipe(res);
      });
      forward.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { gate, url, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe("many laptops, one fleet", () => {
  it("two panels racing for one bundle key in the same second: both bundles intact, different keys", async () => {
    bumpSampleRepo(sandbox.repoDir, "audit", "race");
    const second = Math.floor(Date.now() / 1000) * 1000 + 500;
    const clock = vi.spyOn(Date, "now").mockReturnValue(second);
    let ids: string[];
    try {
      // Two databases: neither history knows the other's key; both pick deployments/acp_audit_<same stamp>.
      ids = await Promise.all([
        startDeploy(panelA, { environment: "sandbox", services: ["audit"], reviewScript: true }),
        startDeploy(panelB, { environment: "sandbox-twin", services: ["audit"], reviewScript: true }),
      ]);
    } finally {
      clock.mockRestore();
    }
    const [a, b] = [await settledDeploy(dbA, ids[0]!), await settledDeploy(dbB, ids[1]!)];
    expect([a.status, b.status]).toEqual(["awaiting_confirmation", "awaiting_confirmation"]);
    expect(a.bundleKey).not.toBe(b.bundleKey);
    const stamp = Math.floor(second / 1000);
    expect([a.bundleKey, b.bundleKey].sort()).toEqual([`deployments/acp_audit_${stamp}.tar.gz`, `deployments/acp_audit_${stamp + 1}.tar.gz`]);
    for (const [deploy, ctx] of [[a, panelA], [b, panelB]] as const) {
      expect(sha256(await objectBytes(ctx, deploy.bundleKey))).toBe(deploy.bundleSha256);
      const head = await ctx.aws(sandbox.region).s3.send(new HeadObjectCommand({ Bucket: sandbox.bucket, Key: deploy.bundleKey }));
      expect(head.Metadata?.["deckhand-deploy"]).toBe(deploy.id);
    }
    await cancelDeploy(panelA, a.id);
    await cancelDeploy(panelB, b.id);
  });

  it("two panels on one bucket: the second is refused naming the first, and accepted once it ends", async () => {
    for (const host of sandbox.hosts) sandbox.setFault(host.instanceId, "slow", true);
    let first: string;
    try {
      bumpSampleRepo(sandbox.repoDir, "gateway", "panel-a");
      first = await startDeploy(panelA, { environment: "sandbox", services: ["gateway"] });
      await waitFor("panel A's deploy to be running", () => getDeployDetail(dbA, first), (d) => d?.status === "running");
      const held = await whoHoldsEnvironment(panelB, "sandbox");
      expect(held?.record).toMatchObject({ deployId: first, owner: whoAmI(), identity: SANDBOX_ARN, environment: "sandbox" });

      const before = (await listDeploys(dbB)).deploys.length;
      const refusal = await startDeploy(panelB, { environment: "sandbox", services: ["gateway"] }).catch((error: unknown) => error);
      expect(refusal).toBeInstanceOf(ConflictError);
      expect(String((refusal as Error).message)).toMatch(
        new RegExp(`held by ${whoAmI().replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} \\(${SANDBOX_ARN}\\) for deploy ${first} since \\d\\d:\\d\\d UTC, expires \\d\\d:\\d\\d UTC`),
      );
      expect((await listDeploys(dbB)).deploys.length).toBe(before); // refused before anything was recorded
    } finally {
      for (const host of sandbox.hosts) sandbox.setFault(host.instanceId, "slow", false);
    }
    expect((await settledDeploy(dbA, first)).status).toBe("succeeded");
    expect(await whoHoldsEnvironment(panelB, "sandbox")).toBeNull(); // released at the end

    bumpSampleRepo(sandbox.repoDir, "gateway", "panel-b");
    const second = await startDeploy(panelB, { environment: "sandbox", services: ["gateway"] });
    expect((await settledDeploy(dbB, second)).status).toBe("succeeded");
    expect(await whoHoldsEnvironment(panelA, "sandbox")).toBeNull();
  }, 90_000);

  it("a paused deploy frees the environment; its confirm takes the lock again", async () => {
    bumpSampleRepo(sandbox.repoDir, "audit", "paused");
    const id = await startDeploy(panelA, { environment: "sandbox", services: ["audit"], reviewScript: true });
    expect((await settledDeploy(dbA, id)).status).toBe("awaiting_confirmation");
    expect(await whoHoldsEnvironment(panelA, "sandbox")).toBeNull();
    await cancelDeploy(panelA, id);
  });

  it("an expired lock left by a dead panel: refused while valid, broken once expired, recorded", async () => {
    const place = lockPlace(panelB, "sandbox");
    // What a laptop that died mid-deploy leaves behind: a lock nobody renews.
    const ghost = { environment: "sandbox", owner: "ghost@old-laptop", identity: "arn:aws:iam::000000000000:user/ghost", deployId: "20261123-000000-audit-dead", takenAt: new Date().toISOString(), expiresAt: new Date(Date.now() + 1500).toISOString() };
    await place.s3.send(new PutObjectCommand({ Bucket: place.bucket, Key: place.key, Body: JSON.stringify(ghost), IfNoneMatch: "*" }));

    await expect(breakEnvironmentLock(panelB, "sandbox")).rejects.toThrow(/only an expired lock can be broken/);
    await expect(startDeploy(panelB, { environment: "sandbox", services: ["audit"] })).rejects.toThrow(/held by ghost@old-laptop \(arn:aws:iam::000000000000:user\/ghost\) for deploy 20261123-000000-audit-dead/);
    await new Promise((r) => setTimeout(r, 1600));
    await expect(startDeploy(panelB, { environment: "sandbox", services: ["audit"] })).rejects.toThrow(/expired .*break the lock from the dashboard/);

    const broken = await breakEnvironmentLock(panelB, "sandbox");
    expect(broken.record.owner).toBe("ghost@old-laptop");
    expect(await readLock(place)).toBeNull();
    const [entry] = await recentLockBreaks(dbB, "sandbox");
    expect(entry).toMatchObject({ deployId: ghost.deployId, owner: "ghost@old-laptop", identity: ghost.identity, brokenBy: whoAmI(), expiresAt: ghost.expiresAt });
    await expect(breakEnvironmentLock(panelB, "sandbox")).rejects.toThrow(RefusedError); // nothing left to break

    // A lock held for a deploy this panel knows: the break is also an event on that deploy.
    const [local] = (await listDeploys(dbA, { limit: 1 })).deploys;
    await place.s3.send(new PutObjectCommand({ Bucket: place.bucket, Key: place.key, Body: JSON.stringify({ ...ghost, deployId: local!.id, expiresAt: new Date(Date.now() - 1000).toISOString() }), IfNoneMatch: "*" }));
    await breakEnvironmentLock(panelA, "sandbox");
    const events = (await getDeployDetail(dbA, local!.id))!.events.map((e) => e.message);
    expect(events.some((m) => m.includes("broke this deploy's expired environment lock (held by ghost@old-laptop"))).toBe(true);

    bumpSampleRepo(sandbox.repoDir, "audit", "after-break");
    expect((await settledDeploy(dbB, await startDeploy(panelB, { environment: "sandbox", services: ["audit"] }))).status).toBe("succeeded");
  }, 60_000);

  it("a hanging host ends at its execution timeout (not watched for ever) and the environment unlocks", async () => {
    const short = { ...config, environments: { ...config.environments, sandbox: { ...config.environments.sandbox!, executionTimeoutSeconds: 3 } } };
    const ctx = createDeployContext(short, dbA, { pollIntervalMs: 250, liveTailGraceMs: 500 });
    const [hung, fine] = sandbox.hosts;
    sandbox.setFault(hung!.instanceId, "hang", true);
    try {
      bumpSampleRepo(sandbox.repoDir, "audit", "hang");
      const started = Date.now();
      const id = await startDeploy(ctx, { environment: "sandbox", services: ["audit"] });
      const ended = await waitFor("the hung deploy to end", () => getDeployDetail(dbA, id), (d) => Boolean(d && ["partially_failed", "failed", "lost_contact"].includes(d.status)), 40_000);
      expect(Date.now() - started).toBeLessThan(40_000);
      const runs = new Map(ended!.hostRuns.map((r) => [r.instanceId, r.status]));
      expect(runs.get(fine!.instanceId)).toBe("Success");
      expect(["TimedOut", "Failed"]).toContain(runs.get(hung!.instanceId));
      await jobSettled(id);
      expect(await whoHoldsEnvironment(panelB, "sandbox")).toBeNull();
      expect(await findActiveDeploy(dbA, "sandbox")).toBeNull();
    } finally {
      sandbox.setFault(hung!.instanceId, "hang", false);
    }
    bumpSampleRepo(sandbox.repoDir, "audit", "after-hang");
    expect((await settledDeploy(dbB, await startDeploy(panelB, { environment: "sandbox", services: ["audit"] }))).status).toBe("succeeded");
  }, 90_000);

  it("one host's results throttled: the other host's Success shows within one cycle, and end times are SSM's", async () => {
    const gate = await ssmGate(sandbox.endpoints.ssm);
    const ctx = createDeployContext(config, dbA, { pollIntervalMs: 300, liveTailGraceMs: 500 });
    const real = ctx.aws(sandbox.region);
    // The panel's own retry policy: throttled reads retry inside that one host's read.
    const gated = new SSMClient({ region: sandbox.region, endpoint: gate.url, ...SSM_RETRY });
    ctx.aws = () => ({ ...real, ssm: gated });
    const [throttled, other] = sandbox.hosts;
    gate.gate.throttle = throttled!.instanceId;
    // The other host runs slow, so the throttled host finishes first and its reads are refused
    // before the other's Success is due (without this the order of the two finishes is a coin toss).
    sandbox.setFault(other!.instanceId, "slow", true);
    try {
      bumpSampleRepo(sandbox.repoDir, "gateway", "throttled");
      const id = await startDeploy(ctx, { environment: "sandbox", services: ["gateway"] });
      await waitFor("a throttled GetCommandInvocation for the first host", async () => gate.gate.throttled, (n) => n > 0);
      const seen = await waitFor(
        "the unthrottled host's Success while the other is throttled",
        () => getDeployDetail(dbA, id),
        (d) => d?.hostRuns.find((r) => r.instanceId === other!.instanceId)?.status === "Success",
      );
      const seenAt = Date.now();
      const run = seen!.hostRuns.find((r) => r.instanceId === other!.instanceId)!;
      expect(run.finishedAt).toBeInstanceOf(Date);
      // SSM's ExecutionEndDateTime, not when it was read; and read within one poll cycle (+ request time).
      expect(seenAt - run.finishedAt!.getTime()).toBeLessThan(1500);
      expect(seen!.hostRuns.find((r) => r.instanceId === throttled!.instanceId)!.status).not.toBe("Success");
      expect(gate.gate.throttled).toBeGreaterThan(0);

      gate.gate.throttle = null;
      const done = await settledDeploy(dbA, id);
      expect(done.status).toBe("succeeded");
      for (const r of done.hostRuns) expect(r.finishedAt!.getTime()).toBeLessThanOrEqual(Date.now());
    } finally {
      gate.gate.throttle = null;
      sandbox.setFault(other!.instanceId, "slow", false);
      await gate.close();
    }
  }, 90_000);

  it("the dashboard's ping is one DescribeInstanceInformation per environment per interval, whoever asks", async () => {
    const gate = await ssmGate(sandbox.endpoints.ssm);
    try {
      const ssm = new SSMClient({ region: sandbox.region, endpoint: gate.url });
      const ids = sandbox.hosts.map((h) => h.instanceId);
      const key = `test-${Date.now()}`;
      const t0 = Date.now();
      // Five pages open at once, then two more within the interval: one call.
      const answers = await Promise.all(Array.from({ length: 5 }, () => cachedPing(ssm, key, ids, t0, 10_000)));
      await cachedPing(ssm, key, [...ids].reverse(), t0 + 4000, 10_000);
      await cachedPing(ssm, key, ids, t0 + 9000, 10_000);
      expect(gate.gate.calls.get("DescribeInstanceInformation")).toBe(1);
      expect(answers[0]!.get(ids[0]!)?.pingStatus).toBe("Online");
      await cachedPing(ssm, key, ids, t0 + 10_001, 10_000); // the interval passed: asked again
      expect(gate.gate.calls.get("DescribeInstanceInformation")).toBe(2);
      await cachedPing(ssm, `${key}-other`, ids, t0 + 10_002, 10_000); // another environment has its own
      expect(gate.gate.calls.get("DescribeInstanceInformation")).toBe(3);
    } finally {
      await gate.close();
    }
  });

  it("a panel killed between SendCommand and recording it: on restart the deploy is found in SSM and watched, not declared unsent", async () => {
    const id = `20261123-170000-audit-${Math.random().toString(16).slice(2, 6)}`;
    const environment = config.environments.sandbox!;
    await insertDeploy(dbA, { id, environment: "sandbox", kind: "deploy", services: ["audit"], label: "audit", bundleKey: `deployments/acp_audit_${id}.tar.gz`, bundleBucket: sandbox.bucket, createdBy: whoAmI(), script: "#!/bin/bash\necho '==> done: resumed'\n" });
    await changeStatus(dbA, id, { from: "queued", to: "sending", message: "sending the script" });
    // What the dead process did before it could write anything: the command went out with the deploy's comment.
    const commandId = await sendScript(panelA.aws(sandbox.region).ssm, {
      instanceIds: environment.hosts.map((h) => h.instanceId),
      script: "#!/bin/bash\necho '==> done: resumed'\n",
      executionTimeoutSeconds: 60,
      deliveryTimeoutSeconds: 60,
      comment: `Deckhand ${id}`,
    });
    await resumeUnfinishedDeploys(panelA, [{ id, status: "sending", commandId: null }]);
    const resumed = await getDeployDetail(dbA, id);
    expect(resumed?.commandId).toBe(commandId);
    expect(resumed?.events.some((e) => e.message.includes(`SSM has command ${commandId} for this deploy, so it was sent`))).toBe(true);
    const done = await settledDeploy(dbA, id);
    expect(done.status).toBe("succeeded");
    expect(done.error).toBeNull();
    expect(done.events.some((e) => /nothing was sent/.test(e.message))).toBe(false);
    expect(done.hostRuns.map((r) => [r.commandId, r.status])).toEqual([[commandId, "Success"], [commandId, "Success"]]);
  }, 60_000);
});
