// The engine's guarantees against the sandbox: what the operator confirmed is what runs, a cancel
// that lands first wins, and a watcher that cannot reach SSM gives up honestly and can resume.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { ListCommandsCommand, SSMClient } from "@aws-sdk/client-ssm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConflictError, PlanChangedError } from "../errors";
import type { Db } from "../history/db";
import { getDeployDetail } from "../history/deploys";
import { bumpSampleRepo, type Sandbox } from "../sandbox";
import { createDeployContext, type DeployContext } from "./context";
import { cancelDeploy, confirmDeploy, resumeWatching, startDeploy } from "./deploy";
import { jobSettled } from "./jobs";
import { sha256Hex } from "./phases/script";
import { previewRedeploy, startRedeploy } from "./redeploy";
import { settledDeploy, startDeployTestbed, type DeployTestbed, waitFor } from "./test-sandbox";

let testbed: DeployTestbed;
let sandbox: Sandbox;
let db: Db;
let ctx: DeployContext;

beforeAll(async () => {
  testbed = await startDeployTestbed({ timing: { pendingMs: 150, invisibleMs: 300, logFlushMs: 250, healthIntervalMs: 300, slowMs: 2500 } });
  ({ sandbox, db, ctx } = testbed);
}, 120_000);

afterAll(async () => {
  await testbed?.stop();
});


/** SSM commands whose comment names this deploy: what actually reached SSM. */
async function commandsFor(deployId: string) {
  const page = await ctx.aws(sandbox.region).ssm.send(new ListCommandsCommand({ MaxResults: 50 }));
  return (page.Commands ?? []).filter((c) => c.Comment?.startsWith(`Deckhand ${deployId}`));
}

async function reviewedDeploy(service: "audit" | "gateway", version: string) {
  bumpSampleRepo(sandbox.repoDir, service, version);
  const id = await startDeploy(ctx, { environment: "sandbox", services: [service], reviewScript: true });
  await jobSettled(id);
  const deploy = (await getDeployDetail(db, id))!;
  expect(deploy.status).toBe("awaiting_confirmation");
  return deploy;
}

/**
 * A loopback stand-in in front of the sandbox's SSM endpoint that, while `deny` is set, answers every
 * call with AWS's own AccessDeniedException over the JSON protocol (what a laptop without
 * ssm:ListCommandInvocations gets); otherwise it forwards the request untouched.
 */
async function ssmGate(upstream: string) {
  const gate = { deny: null as null | { type: string; status: number }, calls: 0 };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      gate.calls++;
      if (gate.deny) {
        res.writeHead(gate.deny.status, { "content-type": "application/x-amz-json-1.1", "x-amzn-errortype": gate.deny.type });
        res.end(JSON.stringify({ __type: gate.deny.type, message: "User: arn:aws:iam::000000000000:user/test is not authorized to perform this action" }));
        return;
      }
      const target = new URL(upstream);
      const forward = http.request({ hostname: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 500, answer.headers);
        answer.pipe(res);
      });
      forward.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { gate, url, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** A context whose SSM calls go through the gate (its other clients are the sandbox's own). */
async function gatedContext(options: Parameters<typeof createDeployContext>[2]) {
  const gate = await ssmGate(sandbox.endpoints.ssm);
  const gatedCtx = createDeployContext(ctx.config, db, options);
  const real = gatedCtx.aws(sandbox.region);
  const gatedSsm = new SSMClient({ region: sandbox.region, endpoint: gate.url, maxAttempts: 1 });
  gatedCtx.aws = () => ({ ...real, ssm: gatedSsm });
  return { gate, gatedCtx };
}

describe("the deploy engine", () => {
  it("refuses to send a reviewed script once a cancel has landed: nothing reaches SSM", async () => {
    const deploy = await reviewedDeploy("audit", "cancel-first");
    const shown = sha256Hex(deploy.script); // what the operator's page holds
    await cancelDeploy(ctx, deploy.id);
    await expect(confirmDeploy(ctx, deploy.id, shown)).rejects.toThrow(ConflictError);
    await jobSettled(deploy.id);
    const after = (await getDeployDetail(db, deploy.id))!;
    expect(after.status).toBe("cancelled");
    expect(after.hostRuns).toHaveLength(0);
    expect(await commandsFor(deploy.id)).toHaveLength(0);
  });

  it("when confirm and cancel race, the loser changes nothing: cancelled means nothing was sent", async () => {
    const deploy = await reviewedDeploy("gateway", "race");
    const [confirm, cancel] = await Promise.allSettled([confirmDeploy(ctx, deploy.id, sha256Hex(deploy.script)), cancelDeploy(ctx, deploy.id)]);
    await jobSettled(deploy.id);
    const after = (await getDeployDetail(db, deploy.id))!;
    if (confirm.status === "rejected") {
      expect(cancel.status).toBe("fulfilled");
      expect(after.status).toBe("cancelled");
      expect(await commandsFor(deploy.id)).toHaveLength(0);
    } else {
      // confirm won: the cancel was refused while sending, or cancelled the command on the hosts
      expect(await commandsFor(deploy.id)).toHaveLength(1);
      expect(["succeeded", "cancelled"]).toContain(after.status);
      if (cancel.status === "rejected") expect(String(cancel.reason)).toMatch(/being sent to the hosts right now/);
    }
  });

  it("refuses a confirm whose script is not the one stored", async () => {
    const deploy = await reviewedDeploy("audit", "tampered");
    await expect(confirmDeploy(ctx, deploy.id, sha256Hex(deploy.script + "\n# edited"))).rejects.toThrow(PlanChangedError);
    expect((await getDeployDetail(db, deploy.id))?.status).toBe("awaiting_confirmation");
    await cancelDeploy(ctx, deploy.id);
  });

  it("refuses a rollback whose plan changed between preview and start (live state moved)", async () => {
    bumpSampleRepo(sandbox.repoDir, "audit", "plan-A");
    const a = await settledDeploy(db, await startDeploy(ctx, { environment: "sandbox", services: ["audit"] }));
    await new Promise((r) => setTimeout(r, 1100)); // bundle keys carry a one-second stamp
    bumpSampleRepo(sandbox.repoDir, "audit", "plan-B");
    const b = await settledDeploy(db, await startDeploy(ctx, { environment: "sandbox", services: ["audit"] }));
    expect([a.status, b.status]).toEqual(["succeeded", "succeeded"]);

    const preview = await previewRedeploy(ctx, { environment: "sandbox", bundleKey: a.bundleKey, services: ["audit"], kind: "rollback" });
    expect(preview.changes.every((c) => c.from === b.bundleKey)).toBe(true);
    // Someone deploys while the operator reads the confirmation.
    await new Promise((r) => setTimeout(r, 1100));
    bumpSampleRepo(sandbox.repoDir, "audit", "plan-C");
    const c = await settledDeploy(db, await startDeploy(ctx, { environment: "sandbox", services: ["audit"] }));
    expect(c.status).toBe("succeeded");

    await expect(startRedeploy(ctx, { environment: "sandbox", bundleKey: a.bundleKey, services: ["audit"], kind: "rollback", planSha256: preview.planSha256 })).rejects.toThrow(
      /plan changed since you looked/,
    );
    const fresh = await previewRedeploy(ctx, { environment: "sandbox", bundleKey: a.bundleKey, services: ["audit"], kind: "rollback" });
    expect(fresh.planSha256).not.toBe(preview.planSha256);
    const rollback = await settledDeploy(db, await startRedeploy(ctx, { ...fresh, planSha256: fresh.planSha256 }));
    expect(rollback.status).toBe("succeeded");
  });

  it("stops at once on AccessDenied, shows lost contact without looping, and resumes when asked", async () => {
    const { gate, gatedCtx } = await gatedContext({ pollIntervalMs: 200, liveTailGraceMs: 1500 });
    for (const host of sandbox.hosts) sandbox.setFault(host.instanceId, "slow", true);
    try {
      bumpSampleRepo(sandbox.repoDir, "gateway", "denied-1");
      const id = await startDeploy(gatedCtx, { environment: "sandbox", services: ["gateway"] });
      await waitFor("the deploy to be running on SSM", () => getDeployDetail(db, id), (d) => d?.status === "running");
      gate.gate.deny = { type: "AccessDeniedException", status: 400 };
      await jobSettled(id);
      const lost = (await getDeployDetail(db, id))!;
      expect(lost.status).toBe("lost_contact");
      expect(lost.error).toMatch(/AWS denied access/);
      expect(lost.hostRuns.length).toBe(2); // last known host states are kept
      const callsAtGiveUp = gate.gate.calls;
      const watchEvents = lost.events.filter((e) => e.phase === "watch").length;
      expect(watchEvents).toBe(1);
      await new Promise((r) => setTimeout(r, 1000)); // nothing keeps polling behind the operator's back
      expect(gate.gate.calls).toBe(callsAtGiveUp);
      expect((await getDeployDetail(db, id))!.events.length).toBe(lost.events.length);

      gate.gate.deny = null;
      await resumeWatching(gatedCtx, id);
      expect((await getDeployDetail(db, id))?.status).toBe("running");
      await jobSettled(id);
      const resumed = (await getDeployDetail(db, id))!;
      expect(resumed.status).toBe("succeeded");
      expect(resumed.hostRuns.map((r) => r.status)).toEqual(["Success", "Success"]);
    } finally {
      for (const host of sandbox.hosts) sandbox.setFault(host.instanceId, "slow", false);
      await gate.close();
    }
  });

  it("gives up on a passing error only after the bounded time, recording it once with a count", async () => {
    const { gate, gatedCtx } = await gatedContext({ pollIntervalMs: 150, giveUpAfterMs: 2000, liveTailGraceMs: 1500 });
    for (const host of sandbox.hosts) sandbox.setFault(host.instanceId, "slow", true);
    try {
      bumpSampleRepo(sandbox.repoDir, "audit", "flaky-1");
      const id = await startDeploy(gatedCtx, { environment: "sandbox", services: ["audit"] });
      await waitFor("the deploy to be running on SSM", () => getDeployDetail(db, id), (d) => d?.status === "running");
      const startedFailing = Date.now();
      gate.gate.deny = { type: "InvalidCommandId", status: 400 };
      await jobSettled(id);
      expect(Date.now() - startedFailing).toBeGreaterThanOrEqual(2000);
      const lost = (await getDeployDetail(db, id))!;
      expect(lost.status).toBe("lost_contact");
      expect(lost.error).toMatch(/still failing after 2 s/);
      const watchEvents = lost.events.filter((e) => e.phase === "watch");
      expect(watchEvents).toHaveLength(1);
      expect(watchEvents[0].message).toMatch(/\(×\d+\)$/);
      // A cancel after lost contact reaches the hosts and is watched to its end.
      gate.gate.deny = null;
      await cancelDeploy(gatedCtx, id);
      await jobSettled(id);
      expect((await getDeployDetail(db, id))?.status).toMatch(/cancelled|succeeded/);
    } finally {
      for (const host of sandbox.hosts) sandbox.setFault(host.instanceId, "slow", false);
      await gate.close();
    }
  });
});
