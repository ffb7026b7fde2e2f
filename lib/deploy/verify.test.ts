// Verified, not just sent: the verify phase after every deploy, against the sandbox's app and hosts.
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { listCheckRuns } from "../history/checks";
import type { Db } from "../history/db";
import { getDeployDetail } from "../history/deploys";
import { bumpSampleRepo, type Sandbox } from "../sandbox";
import type { DeployContext } from "./context";
import { rerunChecks, startDeploy } from "./deploy";
import { startRunbookAction } from "./runbook";
import { deploySummaryText } from "./summary";
import { settledDeploy, startDeployTestbed, type DeployTestbed } from "./test-sandbox";
import { toDeployView } from "./views";

let testbed: DeployTestbed;
let sandbox: Sandbox;
let db: Db;
let ctx: DeployContext;
const logged: string[] = [];

beforeAll(async () => {
  // Everything the server would log during these deploys, to look for the probe password in it.
  for (const method of ["log", "error", "warn", "info"] as const) {
    const original = console[method].bind(console);
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      logged.push(args.map((a) => (a instanceof Error ? `${a.message}\n${a.stack}` : typeof a === "string" ? a : JSON.stringify(a))).join(" "));
      original(...args);
    });
  }
  testbed = await startDeployTestbed({ timing: { pendingMs: 150, invisibleMs: 300, logFlushMs: 250, healthIntervalMs: 300, ingestionDelayMs: 300 } });
  ({ sandbox, db, ctx } = testbed);
}, 120_000);

afterAll(async () => {
  vi.restoreAllMocks();
  await testbed?.stop();
});

// Each test leaves the latest checks red on purpose, so the next deploy goes ahead with a reason, as an operator would.
const deployAndWait = async (services: string[]) => settledDeploy(db, await startDeploy(ctx, { environment: "sandbox", services, goAheadReason: "the previous test left the checks red" }));
const checksOf = async (id: string) => (await listCheckRuns(db, id)).map((run) => ({ ok: run.ok, checks: JSON.parse(run.checks) as { name: string; ok: boolean }[], wrongHosts: JSON.parse(run.wrongHosts) as { name: string }[] }));

async function withFault<T>(instanceId: string, fault: "stale" | "dns", work: () => Promise<T>): Promise<T> {
  sandbox.setFault(instanceId, fault, true);
  try {
    return await work();
  } finally {
    sandbox.setFault(instanceId, fault, false);
  }
}

describe("the verify phase", () => {
  it("a healthy deploy has every check green and every host holding the bundle", async () => {
    bumpSampleRepo(sandbox.repoDir, "audit", "verified-1");
    const deploy = await deployAndWait(["audit"]);
    expect(deploy.status).toBe("succeeded");
    const [run] = await checksOf(deploy.id);
    expect(run.ok).toBe(true);
    expect(run.checks.map((c) => [c.name, c.ok])).toEqual([
      ["bundle hash", true],
      ["login", true],
      ["system health", true],
      ["audit chain", true],
    ]);
    expect(run.wrongHosts).toEqual([]);
    expect(deploy.events.some((e) => e.phase === "state" && e.message.startsWith("running the smoke checks"))).toBe(true);
  });

  it("with stale on EC2 b a ui deploy ends 'deployed, checks failed' and names EC2 b as serving the old bundle", async () => {
    const b = sandbox.hosts[1];
    const deploy = await withFault(b.instanceId, "stale", async () => {
      bumpSampleRepo(sandbox.repoDir, "ui", "stale-1");
      return deployAndWait(["ui"]);
    });
    expect(deploy.hostRuns.map((r) => r.status)).toEqual(["Success", "Success"]); // SSM says both worked
    expect(deploy.status).toBe("checks_failed");
    expect(deploy.error).toMatch(/bundle hash: .*EC2 b/);
    expect(deploy.error).toMatch(/EC2 b does not serve the deployed bundle/);
    const [run] = await checksOf(deploy.id);
    expect(run.wrongHosts.map((h) => h.name)).toEqual(["EC2 b"]);
    // Deployed again without the fault, EC2 b catches up and the checks go green.
    const healed = await deployAndWait(["ui"]);
    expect(healed.status).toBe("succeeded");
  });

  it("with dns on EC2 a, system health goes red; the DNS fix on EC2 a clears it and the re-run goes green", async () => {
    const a = sandbox.hosts[0];
    sandbox.setFault(a.instanceId, "dns", true);
    bumpSampleRepo(sandbox.repoDir, "audit", "dns-1");
    const deploy = await deployAndWait(["audit"]);
    expect(deploy.status).toBe("checks_failed");
    expect(deploy.error).toMatch(/system health/);

    const fix = await settledDeploy(db, await startRunbookAction(ctx, { environment: "sandbox", action: "docker-dns-fix", instanceId: a.instanceId }));
    expect(fix.kind).toBe("action");
    expect(fix.status).toBe("succeeded");
    expect(fix.hostRuns.map((r) => r.hostName)).toEqual(["EC2 a"]);
    expect(fix.script).toContain("docker compose up -d --force-recreate");

    await rerunChecks(ctx, deploy.id);
    const rerun = await settledDeploy(db, deploy.id);
    expect(rerun.error ?? "").toBe(""); expect(rerun.status).toBe("succeeded");
    const runs = await checksOf(deploy.id);
    expect(runs.map((r) => r.ok)).toEqual([false, true]);
  });

  it("posts the summary to the webhook, and the probe password appears in no table, log or exported history", async () => {
    const received: string[] = [];
    const server = http.createServer((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        received.push(body);
        res.end("ok");
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    process.env.DECKHAND_NOTIFY_WEBHOOK_URL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    try {
      bumpSampleRepo(sandbox.repoDir, "gateway", "notify-1");
      const deploy = await deployAndWait(["gateway"]);
      expect(deploy.status).toBe("succeeded");
      expect(received).toHaveLength(1);
      const text = (JSON.parse(received[0]) as { text: string }).text;
      expect(text).toContain("🚀 Deployment: gateway → sandbox (succeeded)");
      expect(text).toMatch(/EC2 a \(i-[0-9a-f]+\): .* → acp_gateway_\d+\.tar\.gz \(Success\)/);
      expect(text).toContain("Health: ✅ 4/4 checks green");
      expect(text).toBe(await deploySummaryText(db, deploy.id));
      expect(deploy.events.some((e) => e.phase === "notify" && e.message.includes("HTTP 200"))).toBe(true);
    } finally {
      delete process.env.DECKHAND_NOTIFY_WEBHOOK_URL;
      server.close();
    }

    const password = process.env.AEGIS_PROBE_PASSWORD ?? "";
    expect(password.length).toBeGreaterThan(8);
    // the history database on disk (WAL included), every deploy exported as the API serves it, and the logs
    const files = fs.readdirSync(testbed.dbDir).map((name) => fs.readFileSync(`${testbed.dbDir}/${name}`).toString("latin1"));
    expect(files.length).toBeGreaterThan(0);
    for (const bytes of files) expect(bytes.includes(password)).toBe(false);
    const exported = JSON.stringify(await Promise.all((await db.deploy.findMany({ select: { id: true } })).map(async (d) => toDeployView((await getDeployDetail(db, d.id))!))));
    expect(exported.length).toBeGreaterThan(1000);
    expect(exported.includes(password)).toBe(false);
    expect(logged.join("\n").includes(password)).toBe(false);
  });
});
