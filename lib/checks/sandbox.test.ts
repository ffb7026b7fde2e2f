// Issue 8 against the real sandbox: checks through its ALB, host truth and runbook actions through its SSM,
// target health through its ELBv2 Query endpoint, the summary to a loopback webhook.
import { ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeElbClient } from "../aws/clients";
import { targetHealth } from "../aws/elb";
import { uploadBundle } from "../aws/s3";
import { SSMClient } from "@aws-sdk/client-ssm";
import { awaitInvocations, describeHosts, getInvocation, sendScript } from "../aws/ssm";
import { readBundleManifest } from "../bundle/catalog";
import { packBundle } from "../bundle/pack";
import { loadConfig, type LoadedConfig } from "../config/load";
import type { EnvironmentConfig } from "../config/schema";
import { summaryText } from "../notify/summary";
import { postSummary, WEBHOOK_ENV } from "../notify/webhook";
import { actionScript } from "../remote/action-script";
import { composeScript } from "../remote/compose-script";
import { hostTruthScript } from "../remote/host-truth-script";
import { bumpSampleRepo, buildSampleUi, startSandbox, type Sandbox } from "../sandbox";
import { FAST_TIMING, sandboxClients, sleep, waitForInvocation } from "../sandbox/testClients";
import { decideHost, parseHostTruth, type CandidateBundle } from "./host-truth";
import { readHosts as readHostsViaSsm } from "./read-hosts";
import { verifySummary } from "../deploy/phases/verify";
import { verifyDeploy } from "./verify";
import { runChecks, type CheckResult } from "./run";

let sandbox: Sandbox;
let clients: ReturnType<typeof sandboxClients>;
let config: LoadedConfig;
let env: EnvironmentConfig;
let password: string;
let A: string;
let B: string;
const everyOutput: string[] = []; // every result and host output, to grep for the password at the end

beforeAll(async () => {
  sandbox = await startSandbox({ timing: FAST_TIMING });
  clients = sandboxClients(sandbox);
  config = await loadConfig(sandbox.configPath);
  const generated = config.environments.sandbox!;
  // The generated config's checks, made quick for a test (the shipped defaults: 5 tries from 1 s).
  env = { ...generated, checks: generated.checks.map((c) => ({ ...c, tries: 5, backoffMs: 40, timeoutMs: 3000 })) };
  password = sandbox.env.AEGIS_PROBE_PASSWORD!;
  [A, B] = sandbox.hosts.map((h) => h.instanceId) as [string, string];
}, 60_000);
afterAll(async () => {
  await sandbox?.stop();
});

async function checks(options: Parameters<typeof runChecks>[1] = {}): Promise<Record<string, CheckResult>> {
  const results = await runChecks(env, { env: sandbox.env, ...options });
  everyOutput.push(JSON.stringify(results));
  return Object.fromEntries(results.map((r) => [r.name, r]));
}

async function runOnHosts(script: string, instanceIds: string[]) {
  const commandId = await sendScript(clients.ssm, { instanceIds, script, executionTimeoutSeconds: 120, deliveryTimeoutSeconds: 60, comment: "sandbox test" });
  const results = await Promise.all(instanceIds.map((id) => waitForInvocation(clients.ssm, commandId, id)));
  const full = await Promise.all(instanceIds.map((id) => getInvocation(clients.ssm, commandId, id)));
  for (const r of full) everyOutput.push(`${r.StandardOutputContent}\n${r.StandardErrorContent}`);
  return results;
}

async function waitFor<T>(what: string, read: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${JSON.stringify(value)}`);
    await sleep(100);
  }
}

const albState = async () => (await (await fetch(`${sandbox.endpoints.control}/state`)).json()) as { hosts: { instanceId: string; albHealthy: boolean }[] };
const albHealthy = (id: string, healthy: boolean) => waitFor(`ALB ${id} healthy=${healthy}`, albState, (s) => s.hosts.find((h) => h.instanceId === id)?.albHealthy === healthy);

/** Packs and uploads a bundle of the configured services the way lib/deploy does; returns its key, sha256 and manifest. */
async function uploadServices(services: string[], label: string) {
  const paths = services.flatMap((s) => config.services[s]!.paths);
  const replace = services.flatMap((s) => config.services[s]!.replace);
  const packed = await packBundle({ repoDir: sandbox.repoDir, label, services, paths, replace });
  const key = `deployments/acp_${label}_${Date.now()}.tar.gz`;
  await Promise.all([uploadBundle(clients.s3, { bucket: sandbox.bucket, key, body: packed.stream, metadata: {} }), packed.done]);
  const { sha256 } = await packed.done;
  // The candidate as the panel knows it: the manifest read back from the bucket.
  const read = await readBundleManifest(clients.s3, sandbox.bucket, key, null);
  const candidate: CandidateBundle = { key, manifest: read.manifest, manifestSha256: read.manifestSha256 ?? undefined };
  expect(read.manifestSha256).toMatch(/^[0-9a-f]{64}$/);
  return { key, sha256, manifest: packed.manifest, candidate, paths, replace };
}

const SERVICES = () => Object.entries(config.services).map(([name, s]) => ({ name, paths: s.paths }));
const ALL_PATHS = () => SERVICES().flatMap((s) => s.paths);

async function readHosts() {
  const script = hostTruthScript({ repoPath: env.repoPath, paths: ALL_PATHS() });
  const [a, b] = await runOnHosts(script, [A, B]);
  return { [A]: parseHostTruth(a!.StandardOutputContent ?? "", ALL_PATHS()), [B]: parseHostTruth(b!.StandardOutputContent ?? "", ALL_PATHS()) };
}

describe("reading a fresh sandbox's hosts", () => {
  it("names the bundle made by hand that the hosts run, for every service (never a bare unknown)", async () => {
    const fresh = await startSandbox({ timing: FAST_TIMING, seedBundle: true });
    try {
      const freshClients = sandboxClients(fresh);
      const freshConfig = await loadConfig(fresh.configPath);
      const services = Object.entries(freshConfig.services).map(([name, svc]) => ({ name, paths: svc.paths }));
      const ids = fresh.hosts.map((h) => h.instanceId);
      const read = await readHostsViaSsm(freshClients.ssm, { instanceIds: ids, repoPath: fresh.remoteRepoPath, paths: services.flatMap((x) => x.paths), pollMs: 100 });
      const seeded = await readBundleManifest(freshClients.s3, fresh.bucket, fresh.seededBundleKey!, null);
      expect(seeded.embedded).toBe(false); // made with tar czf, no Deckhand manifest
      for (const id of ids) {
        const verdict = decideHost(read.readings[id]!, services, [{ key: fresh.seededBundleKey!, manifest: seeded.manifest }]);
        expect(verdict.services).toEqual(services.map((x) => ({ service: x.name, state: "matches", bundleKey: fresh.seededBundleKey })));
        expect(verdict.lastManifestKey).toBeNull();
      }
    } finally {
      await fresh.stop();
    }
  }, 60_000);
});

describe("waiting for a read-only command on several hosts", () => {
  it("asks SSM once per cycle for all hosts and reads each host's result once, when it has ended", async () => {
    const watched = new SSMClient({ region: sandbox.region, endpoint: sandbox.endpoints.ssm, credentials: sandbox.credentials });
    const calls: string[] = [];
    watched.middlewareStack.add((next, context) => async (args) => {
      calls.push(context.commandName ?? "?");
      return next(args);
    }, { step: "initialize", name: "recordCalls" });
    // Both hosts take a second: many cycles pass while they run, and none of them reads a result.
    const commandId = await sendScript(watched, { instanceIds: [A, B], script: "#!/bin/bash\nsleep 1\necho done", executionTimeoutSeconds: 60, deliveryTimeoutSeconds: 30, comment: "awaitInvocations test" });
    calls.length = 0;
    const ended: string[] = [];
    const left = await awaitInvocations(watched, commandId, [A, B], { pollMs: 50, timeoutMs: 20_000 }, ({ instanceId, result }) => {
      expect(result?.Status).toBe("Success");
      ended.push(instanceId);
    });
    expect(left).toEqual([]);
    expect(new Set(ended)).toEqual(new Set([A, B]));
    const gets = calls.filter((c) => c === "GetCommandInvocationCommand").length;
    const lists = calls.filter((c) => c === "ListCommandInvocationsCommand").length;
    expect(calls.every((c) => c === "GetCommandInvocationCommand" || c === "ListCommandInvocationsCommand")).toBe(true);
    expect(lists).toBeGreaterThanOrEqual(5); // a second of 50 ms cycles
    // Each host's result is read once it is listed as ended (a retry only when it is not readable yet).
    expect(gets).toBeLessThanOrEqual(2 + (lists - 1));
    expect(gets).toBeGreaterThanOrEqual(2);
  }, 40_000);
});

describe("issue 8 against the sandbox", () => {
  let v1: Awaited<ReturnType<typeof uploadServices>>;

  it("the generated config uses the aegis-smoke preset, a password by env var name, the DNS-fix action and the target group", () => {
    const generated = config.environments.sandbox!;
    expect(generated.checks.map((c) => c.name)).toEqual(["bundle hash", "login", "system health", "audit chain"]);
    expect(generated.checks[1]).toMatchObject({ passwordEnv: "AEGIS_PROBE_PASSWORD", preset: "aegis-smoke" });
    expect(generated.actions["docker-dns-fix"]).toMatchObject({ command: "docker compose up -d --force-recreate gateway ui", dir: "infra", hosts: "one" });
    expect(generated.targetGroupArn).toBe(sandbox.targetGroupArn);
    expect(fs.readFileSync(sandbox.configPath, "utf8")).not.toContain(password);
  });

  it("a healthy sandbox: every check green on both hosts, and host truth names the bundle in the bucket", async () => {
    v1 = await uploadServices(["ui", "audit", "gateway"], "multi");
    const results = await checks({ bundleManifest: v1.manifest });
    for (const r of Object.values(results)) {
      expect(r, `${r.name}: ${r.problem}`).toMatchObject({ ok: true, failingHosts: [] });
      expect(new Set(r.hosts.map((h) => h.instanceId))).toEqual(new Set([A, B]));
    }
    const readings = await readHosts();
    for (const id of [A, B]) {
      const verdict = decideHost(readings[id]!, SERVICES(), [v1.candidate], { indexJs: results["bundle hash"]!.expectedIndexJs });
      expect(verdict.services).toEqual(SERVICES().map((s) => ({ service: s.name, state: "matches", bundleKey: v1.key })));
      expect(verdict.front.ok).toBe(true);
    }
  });

  it("stale on EC2 b: the deploy 'succeeds' everywhere, the bundle-hash check and host truth name EC2 b", async () => {
    sandbox.setFault(B, "stale", true);
    try {
      bumpSampleRepo(sandbox.repoDir, "ui", "2.0.0");
      buildSampleUi(sandbox.repoDir);
      const v2 = await uploadServices(["ui"], "ui");
      const script = composeScript({
        deployLabel: "ui-v2", repoPath: env.repoPath, region: sandbox.region, bucket: sandbox.bucket, key: v2.key, sha256: v2.sha256,
        replace: v2.replace, paths: v2.paths, owner: env.fileOwner, composeDir: env.composeDir, composeServices: ["ui"],
      });
      const deployed = await runOnHosts(script, [A, B]);
      expect(deployed.map((r) => r.Status)).toEqual(["Success", "Success"]);
      await albHealthy(A, true);

      const results = await checks({ bundleManifest: v2.manifest });
      const hash = results["bundle hash"]!;
      expect(hash).toMatchObject({ ok: false, failingHosts: [B] });
      const served = Object.fromEntries(hash.hosts.map((h) => [h.instanceId, h.servedIndexJs]));
      expect(served[A]).toBe(hash.expectedIndexJs);
      expect(served[B]).not.toBe(hash.expectedIndexJs);
      expect(hash.problem).toBe(`EC2 b (${B}): serves ${served[B]}, but the bundle deployed has ${hash.expectedIndexJs}`);
      expect(results.login!.ok).toBe(true);

      const readings = await readHosts();
      const expected = { byService: { ui: v2.key }, indexJs: hash.expectedIndexJs };
      const candidates = [v2.candidate, v1.candidate];
      const a = decideHost(readings[A]!, SERVICES(), candidates, expected);
      const b = decideHost(readings[B]!, SERVICES(), candidates, expected);
      expect(a.services[0]).toEqual({ service: "ui", state: "matches", bundleKey: v2.key });
      expect(a.lastManifestKey).toBe(v2.key);
      expect(b.services[0]).toEqual({ service: "ui", state: "stale", bundleKey: v1.key, expectedKey: v2.key });
      expect(b.front).toEqual({ indexJs: served[B], expected: hash.expectedIndexJs, ok: false });

      // The engine's verify phase in one call says the same.
      const elb = new ElasticLoadBalancingV2Client({ region: sandbox.region, endpoint: sandbox.endpoints.elb, credentials: sandbox.credentials });
      const verified = await verifyDeploy({ environment: env, services: config.services, ssm: clients.ssm, elb, deployed: { bundle: v2.candidate, services: ["ui"] }, candidates, env: sandbox.env });
      everyOutput.push(JSON.stringify(verified));
      expect(verified.ok).toBe(false);
      expect(verified.wrongHosts).toEqual([{ instanceId: B, name: "EC2 b", services: ["ui"] }]);
      expect(verified.unverifiedHosts).toEqual([]);
      expect(verified.checks.find((c) => c.name === "bundle hash")!.failingHosts).toEqual([B]);
      expect(verified.hosts.find((h) => h.instanceId === B)!.summary[0]).toBe(`ui: still ${v1.key}, not ${v2.key}`);
      expect(verified.targets?.map((t) => t.state)).toEqual(["healthy", "healthy"]);

      // A read-only script does not use up an injected failure, which stays for the next deploy.
      sandbox.setFault(B, "fail-next", true);
      await readHosts();
      expect(sandbox.faults()[B]).toContain("fail-next");
      sandbox.setFault(B, "fail-next", false);

      // The runbook's answer: re-run the deploy on the failing host; then the check is green.
      sandbox.setFault(B, "stale", false);
      const [again] = await runOnHosts(script, [B]);
      expect(again!.Status).toBe("Success");
      await albHealthy(B, true);
      const fixed = await checks({ bundleManifest: v2.manifest });
      expect(fixed["bundle hash"]).toMatchObject({ ok: true, failingHosts: [] });
    } finally {
      sandbox.setFault(B, "stale", false);
    }
  }, 60_000);

  it("dns on EC2 a: system health goes red after its retries; the DNS-fix action via SSM on EC2 a clears it; re-run green", async () => {
    sandbox.setFault(A, "dns", true);
    const red = await checks({ expectedIndexJs: null });
    const health = red["system health"]!;
    expect(health).toMatchObject({ ok: false, failingHosts: [A] });
    expect(health.attempts).toBeGreaterThanOrEqual(5);
    expect(health.problem).toBe(`EC2 a (${A}): data.services[1].status is "unhealthy", expected "healthy"`);
    expect(health.hosts.find((h) => h.instanceId === A)!.excerpt).toContain("could not resolve acp_audit");
    expect(red["audit chain"]).toMatchObject({ ok: false, failingHosts: [A] });

    const action = env.actions["docker-dns-fix"]!;
    const script = actionScript({ name: "docker-dns-fix", repoPath: env.repoPath, dir: action.dir, command: action.command, runAs: action.runAs });
    const [ran] = await runOnHosts(script, [A]);
    expect(ran, ran!.StandardErrorContent).toMatchObject({ Status: "Success", ResponseCode: 0 });
    expect((await sandbox.composeLog(A)).at(-1)).toBe("up -d --force-recreate gateway ui");
    expect(sandbox.faults()[A]).toEqual([]);
    await albHealthy(A, true);

    const green = await checks({ expectedIndexJs: null });
    for (const r of Object.values(green)) expect(r, `${r.name}: ${r.problem}`).toMatchObject({ ok: true, failingHosts: [] });
  }, 60_000);

  it("an action with runAs runs in a login shell of that user, in the action's directory (seeds/004's sudo -i -u ubuntu)", async () => {
    const script = actionScript({ name: "where", repoPath: env.repoPath, dir: "infra", command: 'echo "cwd=$PWD login=$(shopt -q login_shell && echo yes) home=$HOME"; docker compose ps >/dev/null', runAs: "ubuntu" });
    const [ran] = await runOnHosts(script, [B]);
    expect(ran, ran!.StandardErrorContent).toMatchObject({ Status: "Success" });
    expect(ran!.StandardOutputContent).toMatch(new RegExp(`cwd=${env.repoPath}/infra login=yes home=\\S+/home/ubuntu`));
  });

  it("offline on EC2 b: SSM ping says ConnectionLost, DescribeTargetHealth says unhealthy (via the standard endpoint env var)", async () => {
    const before = await describeHosts(clients.ssm, [A, B]);
    expect(before.map((h) => h.pingStatus)).toEqual(["Online", "Online"]);
    expect(before[0]!.agentVersion).toMatch(/^\d+\.\d+/);
    expect(before[0]!.lastPingAt).toBeInstanceOf(Date);

    const previous = process.env.AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2;
    process.env.AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2 = sandbox.env.AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2;
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: sandbox.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: sandbox.credentials.secretAccessKey });
    const elb = makeElbClient(sandbox.region);
    try {
      expect(await targetHealth(elb, sandbox.targetGroupArn)).toEqual([
        { instanceId: A, port: 80, state: "healthy", reason: null, description: null },
        { instanceId: B, port: 80, state: "healthy", reason: null, description: null },
      ]);
      sandbox.setFault(B, "offline", true);
      await albHealthy(B, false);
      const [, b] = await describeHosts(clients.ssm, [A, B]);
      expect(b).toMatchObject({ instanceId: B, pingStatus: "ConnectionLost" });
      // "Read from hosts" reads the online host and says why the other one could not be read.
      const read = await readHostsViaSsm(clients.ssm, { instanceIds: [A, B], repoPath: env.repoPath, paths: ALL_PATHS(), pollMs: 100, timeoutMs: 20_000 });
      expect(read.readings[A]).toMatchObject({ ok: true, repoExists: true, front: { ok: true } });
      expect(read.readings[B]).toMatchObject({ ok: false, problem: "SSM reports the host ConnectionLost" });
      // A host whose files cannot be read is not verified: the deploy is not called green for it.
      const verified = await verifyDeploy({ environment: env, services: config.services, ssm: clients.ssm, elb, deployed: { bundle: v1.candidate, services: ["audit"] }, candidates: [v1.candidate], env: sandbox.env });
      expect(verified.ok).toBe(false);
      expect(verified.unverifiedHosts).toEqual([{ instanceId: B, name: "EC2 b", problem: "SSM reports the host ConnectionLost" }]);
      expect(verified.wrongHosts.map((h) => h.instanceId)).not.toContain(B);
      expect(verifySummary(verified)).toContain("could not read what EC2 b has (SSM reports the host ConnectionLost)");
      const health = await targetHealth(elb, sandbox.targetGroupArn);
      expect(health[1]).toMatchObject({ instanceId: B, state: "unhealthy", reason: expect.stringMatching(/^Target\.(FailedHealthChecks|Timeout)$/) });
      expect(health[0]).toMatchObject({ instanceId: A, state: "healthy" });

      sandbox.setDraining(A, true);
      expect((await targetHealth(elb, sandbox.targetGroupArn))[0]).toMatchObject({ state: "draining", reason: "Target.DeregistrationInProgress" });
      sandbox.setDraining(A, false);

      const missing = await targetHealth(elb, sandbox.targetGroupArn.replace(/[0-9a-f]{16}$/, "0000000000000000")).catch((e: Error) => e);
      expect(missing).toMatchObject({ name: "TargetGroupNotFoundException", message: expect.stringContaining("not found") });
    } finally {
      sandbox.setFault(B, "offline", false);
      if (previous === undefined) delete process.env.AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2;
      else process.env.AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2 = previous;
    }
    await albHealthy(B, true);
  }, 60_000);

  it("the webhook receives the summary, and the probe password appears nowhere", async () => {
    const received: string[] = [];
    const server = http.createServer(async (req, res) => {
      let body = "";
      for await (const chunk of req) body += chunk;
      received.push(body);
      res.end("ok");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const results = Object.values(await checks({ expectedIndexJs: null }));
      const text = summaryText({
        kind: "action", environment: "sandbox", what: "docker-dns-fix", outcome: "succeeded", who: "test",
        hosts: [{ name: "EC2 a", instanceId: A, from: null, to: null, status: "Success" }],
        checks: results.map((r) => ({ name: r.name, ok: r.ok, problem: r.problem })),
      });
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
      expect(await postSummary(text, { env: { [WEBHOOK_ENV]: url } })).toEqual({ ok: true, status: 200 });
      expect(received.map((b) => JSON.parse(b))).toEqual([{ text }]);
      expect(text).toContain("Health: ✅ 4/4 checks green");
      everyOutput.push(text, ...received);
    } finally {
      server.close();
    }
    expect(password.length).toBeGreaterThanOrEqual(16);
    expect(everyOutput.length).toBeGreaterThan(10);
    for (const output of everyOutput) expect(output).not.toContain(password);
  });
});
