import { Upload } from "@aws-sdk/lib-storage";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bumpSampleRepo, buildSampleUi, startSandbox, type Sandbox } from "./index";
import { FAST_TIMING, runScript, sandboxClients, sleep, waitForInvocation } from "./testClients";

let sandbox: Sandbox;
let clients: ReturnType<typeof sandboxClients>;
let hostA: string;
let hostB: string;

beforeAll(async () => {
  sandbox = await startSandbox({ timing: FAST_TIMING });
  clients = sandboxClients(sandbox);
  [hostA, hostB] = sandbox.hosts.map((h) => h.instanceId) as [string, string];
});
afterAll(async () => {
  await sandbox?.stop();
});

/** What lib/bundle does: tar.gz of repo-relative paths plus .deckhand/manifest.json, uploaded to the deploy bucket. */
async function uploadBundle(label: string, paths: string[]): Promise<{ key: string; sha256: string }> {
  const staging = fs.mkdtempSync(path.join(os.tmpdir(), "deckhand-bundle-"));
  try {
    fs.mkdirSync(path.join(staging, ".deckhand"));
    fs.writeFileSync(path.join(staging, ".deckhand/manifest.json"), JSON.stringify({ label, paths }));
    const file = path.join(staging, "bundle.tar.gz");
    execFileSync("tar", ["czf", file, "-C", sandbox.repoDir, ...paths, "-C", staging, ".deckhand/manifest.json"]);
    const body = fs.readFileSync(file);
    const key = `deployments/acp_${label}_${Date.now()}.tar.gz`;
    await new Upload({ client: clients.s3, params: { Bucket: sandbox.bucket, Key: key, Body: body } }).done();
    return { key, sha256: createHash("sha256").update(body).digest("hex") };
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}

function deployScript(bundle: { key: string; sha256: string }, services: string[], options: { replace?: string[]; owned: string[]; noCache?: boolean }): string {
  const repo = sandbox.remoteRepoPath;
  const lines = [
    "#!/bin/bash",
    "set -euo pipefail",
    `cd '${repo}'`,
    "tmp=$(mktemp /tmp/deckhand.XXXXXXXX.tar.gz)",
    `aws s3 cp 's3://${sandbox.bucket}/${bundle.key}' "$tmp" --region '${sandbox.region}' --only-show-errors`,
    `echo '${bundle.sha256}  '"$tmp" | sha256sum -c -`,
    ...(options.replace ?? []).map((dir) => `sudo rm -rf '${dir}'`),
    `sudo tar xzf "$tmp" -C '${repo}'`,
    ...options.owned.map((p) => `sudo chown -R 'ubuntu:ubuntu' '${p}'`),
    "cd 'infra'",
    ...services.flatMap((s) => [
      `sudo docker compose build ${options.noCache === false ? "" : "--no-cache "}'${s}'`,
      `sudo docker compose up -d --no-deps --force-recreate '${s}'`,
    ]),
    'rm -f "$tmp"',
  ];
  return lines.join("\n") + "\n";
}

/** Run a deploy script and wait for it to end, then for the ALB to hold every host again (a recreate can miss health checks). */
async function deploy(script: string, instanceIds = [hostA, hostB]) {
  const commandId = await runScript(sandbox, clients.ssm, script, { instanceIds, cloudWatchGroup: "/deckhand/ssm", outputPrefix: "ssm-output/" });
  const results = await Promise.all(instanceIds.map((id) => waitForInvocation(clients.ssm, commandId, id)));
  for (const id of [hostA, hostB]) await waitForAlb(id, true);
  return results;
}

const currentAsset = () => fs.readdirSync(path.join(sandbox.repoDir, "ui/dist/assets"))[0]!;

async function albSample(pathname: string, count: number) {
  const answers: { host: string; status: number; body: string }[] = [];
  for (let i = 0; i < count; i++) {
    const response = await fetch(sandbox.endpoints.alb + pathname);
    answers.push({ host: response.headers.get("x-deckhand-host") ?? "", status: response.status, body: await response.text() });
  }
  return answers;
}

async function waitForAlb(instanceId: string, healthy: boolean, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = (await (await fetch(`${sandbox.endpoints.control}/state`)).json()) as { hosts: { instanceId: string; albHealthy: boolean }[] };
    if (state.hosts.find((h) => h.instanceId === instanceId)?.albHealthy === healthy) return;
    if (Date.now() > deadline) throw new Error(`ALB never marked ${instanceId} healthy=${healthy}`);
    await sleep(50);
  }
}

describe("deploying through the sandbox", () => {
  it("a ui + audit bundle extracts on both hosts, rebuilds only those services, and the ALB serves the new bundle from both", async () => {
    const oldAsset = currentAsset();
    bumpSampleRepo(sandbox.repoDir, "ui", "2.0.0");
    bumpSampleRepo(sandbox.repoDir, "audit", "2.0.0");
    buildSampleUi(sandbox.repoDir);
    const newAsset = currentAsset();
    expect(newAsset).not.toBe(oldAsset);

    const bundle = await uploadBundle("ui-audit", ["ui/dist", "ui/nginx.conf", "services/audit"]);
    const results = await deploy(deployScript(bundle, ["ui", "audit"], { replace: ["ui/dist"], owned: ["ui/dist", "ui/nginx.conf", "services/audit"] }));
    for (const result of results) expect(result, result.StandardErrorContent).toMatchObject({ Status: "Success", ResponseCode: 0 });

    for (const host of sandbox.hosts) {
      const repo = path.join(host.fsRoot, "home/ubuntu/aegis");
      expect(fs.readFileSync(path.join(repo, "services/audit/VERSION"), "utf8")).toBe("2.0.0\n");
      expect(fs.readdirSync(path.join(repo, "ui/dist/assets"))).toEqual([newAsset]); // replaced whole, old file gone
      expect(fs.existsSync(path.join(repo, ".deckhand/manifest.json"))).toBe(true);
      expect(await sandbox.composeLog(host.instanceId)).toEqual([
        "build ui audit gateway",
        "up -d ui audit gateway",
        "build --no-cache ui",
        "up -d --no-deps --force-recreate ui",
        "build --no-cache audit",
        "up -d --no-deps --force-recreate audit",
      ]);
    }
    const answers = await albSample("/", 6);
    expect(new Set(answers.map((a) => a.host))).toEqual(new Set([hostA, hostB]));
    for (const answer of answers) expect(answer.body).toContain(`/assets/${newAsset}`);
    const asset = await fetch(`${sandbox.endpoints.alb}/assets/${newAsset}`);
    expect(await asset.text()).toContain("Aegis UI 2.0.0");
    const health = await albSample("/api/audit/health", 4);
    for (const answer of health) expect(JSON.parse(answer.body)).toEqual({ status: "ok", service: "audit", version: "2.0.0" });
    const gateway = await albSample("/api/gateway/health", 2);
    for (const answer of gateway) expect(JSON.parse(answer.body).version).toBe("1.0.0"); // untouched
  });

  it("without --no-cache the old image is reused, so the new files are not served (the Docker cache gotcha)", async () => {
    bumpSampleRepo(sandbox.repoDir, "gateway", "9.9.9");
    const bundle = await uploadBundle("gateway", ["services/gateway"]);
    const results = await deploy(deployScript(bundle, ["gateway"], { owned: ["services/gateway"], noCache: false }), [hostA]);
    expect(results[0]).toMatchObject({ Status: "Success" });
    expect(results[0]!.StandardErrorContent).toContain("CACHED");
    const response = await fetch(`http://127.0.0.1:${sandbox.hosts[0]!.port}/api/gateway/health`);
    expect(((await response.json()) as { version: string }).version).toBe("1.0.0");
  });

  it("with stale on one host, that host reports Success but keeps serving the old bundle", async () => {
    const before = currentAsset();
    sandbox.setFault(hostB, "stale", true);
    try {
      bumpSampleRepo(sandbox.repoDir, "ui", "3.0.0");
      buildSampleUi(sandbox.repoDir);
      const after = currentAsset();
      const bundle = await uploadBundle("ui", ["ui/dist", "ui/nginx.conf"]);
      const results = await deploy(deployScript(bundle, ["ui"], { replace: ["ui/dist"], owned: ["ui/dist"] }));
      for (const result of results) expect(result).toMatchObject({ Status: "Success", ResponseCode: 0 });
      expect(results[1]!.StandardErrorContent).toContain("ui  Built"); // plausible output
      const answers = await albSample("/", 10);
      const fresh = answers.filter((a) => a.body.includes(after));
      const stale = answers.filter((a) => a.body.includes(before));
      expect(fresh.length).toBeGreaterThanOrEqual(4);
      expect(stale.length).toBeGreaterThanOrEqual(4);
      expect(new Set(stale.map((a) => a.host))).toEqual(new Set([hostB]));
    } finally {
      sandbox.setFault(hostB, "stale", false);
    }
  });

  it("with dns on, about half of that host's /api requests fail with 502", async () => {
    sandbox.setFault(hostA, "dns", true);
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 20; i++) statuses.push((await fetch(`http://127.0.0.1:${sandbox.hosts[0]!.port}/api/audit/health`)).status);
      const failed = statuses.filter((s) => s === 502).length;
      expect(failed).toBeGreaterThanOrEqual(6);
      expect(failed).toBeLessThanOrEqual(14);
      expect(statuses.filter((s) => s === 200).length).toBe(20 - failed);
      expect((await fetch(`http://127.0.0.1:${sandbox.hosts[1]!.port}/api/audit/health`)).status).toBe(200);
    } finally {
      sandbox.setFault(hostA, "dns", false);
    }
  });

  it("slow makes each stand-in step take slowMs", async () => {
    sandbox.setFault(hostA, "slow", true);
    try {
      const started = Date.now();
      const [result] = await deploy(`#!/bin/bash\nset -euo pipefail\ncd '${sandbox.remoteRepoPath}/infra'\ndocker compose ps\ndocker compose ps\n`, [hostA]);
      expect(result).toMatchObject({ Status: "Success" });
      expect(Date.now() - started).toBeGreaterThanOrEqual(2 * FAST_TIMING.slowMs);
    } finally {
      sandbox.setFault(hostA, "slow", false);
    }
  });

  it("the ALB drops a host after 3 failed health checks and takes it back after recovery", async () => {
    sandbox.setFault(hostB, "offline", true);
    try {
      await waitForAlb(hostB, false);
      const answers = await albSample("/health", 6);
      expect(answers.every((a) => a.host === hostA && a.status === 200)).toBe(true);
      sandbox.setFault(hostA, "offline", true);
      await waitForAlb(hostA, false);
      expect((await albSample("/", 1))[0]!.status).toBe(503);
    } finally {
      sandbox.setFault(hostA, "offline", false);
      sandbox.setFault(hostB, "offline", false);
    }
    await waitForAlb(hostA, true);
    await waitForAlb(hostB, true);
    const answers = await albSample("/health", 4);
    expect(new Set(answers.map((a) => a.host))).toEqual(new Set([hostA, hostB]));
    expect(sandbox.faults()).toEqual({ [hostA]: [], [hostB]: [] });
  });
});
