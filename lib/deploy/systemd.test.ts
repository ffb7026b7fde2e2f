// The systemd + image profile (seeds/002) against the sandbox: a second environment on the same hosts
// whose bundles carry VERSION and deploy/, installed as a systemd unit running the image tag.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { loadConfig } from "../config/load";
import { bundlesPage } from "./bundles";
import { bumpSampleRepo, type Sandbox } from "../sandbox";
import { createDeployContext, type DeployContext } from "./context";
import { startDeploy } from "./deploy";
import { previewRedeploy, startRedeploy } from "./redeploy";
import { settledDeploy, startDeployTestbed, type DeployTestbed } from "./test-sandbox";

let testbed: DeployTestbed;
let sandbox: Sandbox;
let ctx: DeployContext;
const IMAGE = "000000000000.dkr.ecr.ap-south-1.amazonaws.com/atta";

beforeAll(async () => {
  testbed = await startDeployTestbed({ timing: { pendingMs: 150, invisibleMs: 300, logFlushMs: 250, healthIntervalMs: 300 } });
  sandbox = testbed.sandbox;
  const base = JSON.parse(fs.readFileSync(sandbox.configPath, "utf8"));
  const mount = path.join(sandbox.root, "ec2");
  base.environments["atta-dev"] = {
    profile: "systemd",
    region: sandbox.region,
    bucket: sandbox.bucket,
    prefix: "bundles/dev/",
    hosts: base.environments.sandbox.hosts,
    // Not where the systemd profile installs: verify must read the serviceDir, not the repo path.
    repoPath: `${mount}/home/ubuntu/not-used-by-systemd`,
    fileOwner: "ubuntu:ubuntu",
    output: { cloudWatchLogGroup: "/deckhand/ssm" },
    systemd: { unit: "atta", serviceDir: `${mount}/opt/atta`, unitDir: `${mount}/etc/systemd/system`, image: IMAGE, settleSeconds: 1 },
  };
  base.services.atta = { paths: ["deploy", "VERSION"] };
  const file = path.join(sandbox.root, "systemd.config.json");
  fs.writeFileSync(file, JSON.stringify(base, null, 2));
  ctx = createDeployContext(await loadConfig(file), testbed.db, { pollIntervalMs: 250, liveTailGraceMs: 2000 });
}, 120_000);

afterAll(async () => {
  await testbed?.stop();
});

const attaVersion = async (host: Sandbox["hosts"][number]) => {
  const response = await fetch(`http://127.0.0.1:${host.port}/api/atta/health`);
  return response.ok ? ((await response.json()) as { version: string }).version : `HTTP ${response.status}`;
};
const attaActive = (host: Sandbox["hosts"][number]) => sandbox.units(host.instanceId).find((u) => u.unit === "atta.service")?.active ?? false;

/** What the hosts said, for a failure message. */
const hostOutput = (deploy: Awaited<ReturnType<typeof settledDeploy>>) =>
  `${deploy.error ?? ""}\n` + deploy.hostRuns.map((h) => `${h.hostName}: ${h.chunks.map((c) => c.text).join("")}`).join("\n") + deploy.events.map((e) => e.message).join("\n");

async function deployAtta(version: string) {
  bumpSampleRepo(sandbox.repoDir, "atta", version);
  return settledDeploy(testbed.db, await startDeploy(ctx, { environment: "atta-dev", services: ["atta"] }));
}

describe("systemd profile on the sandbox", () => {
  it("deploys, refuses an image that was never pushed (the old version keeps running), and rolls back to an older bundle", async () => {
    sandbox.pushImage(IMAGE, "1.0.0");
    sandbox.pushImage(IMAGE, "1.1.0");

    const first = await deployAtta("1.0.0");
    expect(first.status, hostOutput(first)).toBe("succeeded");
    expect(first.script).toContain("sudo systemctl daemon-reload");
    expect(first.bundleKey).toMatch(/^bundles\/dev\/acp_atta_\d+\.tar\.gz$/);
    for (const host of sandbox.hosts) {
      expect(attaActive(host)).toBe(true);
      expect(await attaVersion(host)).toBe("1.0.0");
    }
    const env = fs.readFileSync(path.join(sandbox.hosts[0]!.fsRoot, "opt/atta/.env"), "utf8");
    expect(env).toContain("IMAGE_TAG=1.0.0");
    expect(env).toContain("LOG_LEVEL=info"); // made from deploy/.env.example on the first deploy

    await new Promise((r) => setTimeout(r, 1100)); // bundle keys carry a one-second stamp
    const second = await deployAtta("1.1.0");
    expect(second.status, hostOutput(second)).toBe("succeeded");
    for (const host of sandbox.hosts) expect(await attaVersion(host)).toBe("1.1.0");

    await new Promise((r) => setTimeout(r, 1100));
    const missing = await deployAtta("9.9.9");
    expect(missing.status).toBe("failed");
    const output = hostOutput(missing);
    expect(output).toMatch(/manifest unknown/);
    for (const host of sandbox.hosts) {
      expect(attaActive(host)).toBe(true);
      expect(await attaVersion(host)).toBe("1.1.0");
    }

    const preview = await previewRedeploy(ctx, { environment: "atta-dev", bundleKey: first.bundleKey, services: ["atta"], kind: "rollback" });
    expect(preview.script).toContain("(systemd profile)");
    const rollback = await settledDeploy(testbed.db, await startRedeploy(ctx, { environment: "atta-dev", bundleKey: first.bundleKey, services: ["atta"], kind: "rollback", planSha256: preview.planSha256 }));
    expect(rollback.status, hostOutput(rollback)).toBe("succeeded");
    for (const host of sandbox.hosts) {
      expect(attaActive(host)).toBe(true);
      expect(await attaVersion(host)).toBe("1.0.0");
      expect(fs.readFileSync(path.join(host.fsRoot, "opt/atta/VERSION"), "utf8").trim()).toBe("1.0.0");
    }
    // The compose services on the same hosts were not touched.
    for (const host of sandbox.hosts) expect(await (await fetch(`http://127.0.0.1:${host.port}/api/audit/health`)).status).toBe(200);
  }, 120_000);

  it("deploys seeds/002's own deploy-bundle-<version>.tar.gz, made by hand and put in the bucket, listed by version", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "deckhand-atta-"));
    fs.cpSync(path.join(sandbox.repoDir, "deploy"), path.join(dir, "deploy"), { recursive: true });
    fs.writeFileSync(path.join(dir, "VERSION"), "1.1.0\n");
    const file = path.join(os.tmpdir(), `deploy-bundle-1.1.0-${process.pid}.tar.gz`);
    execFileSync("tar", ["czf", file, "-C", dir, "."]); // members ./deploy/…, ./VERSION
    const key = "bundles/dev/deploy-bundle-1.1.0.tar.gz";
    await new S3Client({ region: sandbox.region, forcePathStyle: true }).send(new PutObjectCommand({ Bucket: sandbox.bucket, Key: key, Body: fs.readFileSync(file) }));

    const row = (await bundlesPage(ctx, "atta-dev", 1, 50, true)).rows.find((r) => r.key === key);
    expect(row).toMatchObject({ layout: "systemd", version: "1.1.0", outsideDeckhand: true });
    const preview = await previewRedeploy(ctx, { environment: "atta-dev", bundleKey: key, services: ["atta"], kind: "redeploy" });
    const deploy = await settledDeploy(testbed.db, await startRedeploy(ctx, { environment: "atta-dev", bundleKey: key, services: ["atta"], kind: "redeploy", planSha256: preview.planSha256 }));
    expect(deploy.status, hostOutput(deploy)).toBe("succeeded");
    for (const host of sandbox.hosts) {
      expect(attaActive(host)).toBe(true);
      expect(await attaVersion(host)).toBe("1.1.0");
    }
  }, 60_000);

  it("refuses a compose service on the systemd environment before anything is packed", async () => {
    await expect(startDeploy(ctx, { environment: "atta-dev", services: ["audit"] })).rejects.toThrow(/systemd profile: a bundle there must carry VERSION and deploy\//);
  });
});
