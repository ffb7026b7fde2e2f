// The setup check against the sandbox: green when set up as the README says, red with the right fix
// for each fault a real account shows.
import { DeleteBucketLifecycleCommand, PutBucketLifecycleConfigurationCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { environmentOf, loadConfig } from "../config/load";
import type { EnvironmentConfig } from "../config/schema";
import { startSandbox, type Sandbox } from "../sandbox/index";
import { FAST_TIMING, sandboxClients } from "../sandbox/testClients";
import { checkHosts, checkLaptop, runSetupCheck, type CheckLine } from "./check";

let sandbox: Sandbox;
let clients: ReturnType<typeof sandboxClients>;
let environment: EnvironmentConfig;
let hostA: string;
let hostB: string;
const FAST = { timeoutMs: 20_000, pollMs: 100 };

beforeAll(async () => {
  sandbox = await startSandbox({ timing: FAST_TIMING });
  clients = sandboxClients(sandbox);
  environment = environmentOf(await loadConfig(sandbox.configPath), "sandbox");
  [hostA, hostB] = sandbox.hosts.map((h) => h.instanceId) as [string, string];
  // What the README's setup has the operator do: a lifecycle rule expiring old bundles.
  await clients.s3.send(
    new PutBucketLifecycleConfigurationCommand({
      Bucket: sandbox.bucket,
      LifecycleConfiguration: { Rules: [{ ID: "deckhand-expire-bundles", Status: "Enabled", Filter: { Prefix: environment.prefix }, Expiration: { Days: 7 } }] },
    }),
  );
});
afterAll(async () => {
  await sandbox?.stop();
});

const red = (lines: CheckLine[]) => lines.filter((l) => !l.ok);
const line = (lines: CheckLine[], name: string) => {
  const found = lines.find((l) => l.name === name);
  if (!found) throw new Error(`no line "${name}" in: ${lines.map((l) => l.name).join(", ")}`);
  return found;
};

describe("setup check", () => {
  it("is green on a healthy sandbox, laptop and hosts", async () => {
    const result = await runSetupCheck(clients, environment, FAST);
    expect(red([...result.laptop, ...result.hosts])).toEqual([]);
    expect(result.ok).toBe(true);
    expect(line(result.laptop, "AWS identity").detail).toContain("account 000000000000");
    expect(line(result.laptop, "Bundle retention").detail).toContain("after 7 days");
    expect(result.laptop.map((l) => l.name)).toEqual(
      expect.arrayContaining(["Permission s3:PutObject", "Permission s3:GetObject", "Permission ssm:GetCommandInvocation", "Permission logs:FilterLogEvents", "Live output log group"]),
    );
    expect(result.hosts).toHaveLength(2);
    for (const host of result.hosts) expect(host.detail).toContain("pre-flight passed");
  });

  it("no-aws-cli: that host goes red with the cause and how to install the CLI; the other stays green", async () => {
    sandbox.setFault(hostB, "no-aws-cli", true);
    try {
      const hosts = await checkHosts(clients.ssm, environment, FAST);
      expect(hosts[0]).toMatchObject({ ok: true });
      expect(hosts[1]).toMatchObject({ ok: false, name: `Host EC2 b (${hostB})` });
      expect(hosts[1]!.detail).toMatch(/^EC2 b: the AWS CLI is not installed — see README › Hosts/);
      expect(hosts[1]!.fix).toContain("AWS CLI v2");
      expect(hosts[1]!.fix).toContain("presigned-url");
      // The pre-signed URL mode needs no CLI: the same host passes.
      const presigned = await checkHosts(clients.ssm, { ...environment, download: "presigned-url" }, FAST);
      expect(red(presigned)).toEqual([]);
    } finally {
      sandbox.setFault(hostB, "no-aws-cli", false);
    }
  });

  it("logs-denied: the Logs lines go red saying what to allow and that deploys still finish; S3 and SSM stay green", async () => {
    sandbox.setFault(hostA, "logs-denied", true);
    try {
      const laptop = await checkLaptop(clients, environment);
      expect(red(laptop).map((l) => l.name).sort()).toEqual(["Live output log group", "Permission logs:FilterLogEvents", "Permission logs:GetLogEvents"]);
      const filter = line(laptop, "Permission logs:FilterLogEvents");
      expect(filter.detail).toBe("denied on arn:aws:logs:ap-south-1:000000000000:log-group:/deckhand/ssm:*");
      expect(filter.fix).toContain("Add logs:FilterLogEvents on arn:aws:logs:ap-south-1:000000000000:log-group:/deckhand/ssm:*");
      expect(filter.fix).toContain("live output is off");
    } finally {
      sandbox.setFault(hostA, "logs-denied", false);
    }
  });

  it("offline: the host goes red at once (not sent to, so no 20-minute wait) with the agent fix", async () => {
    sandbox.setFault(hostB, "offline", true);
    try {
      const started = Date.now();
      const hosts = await checkHosts(clients.ssm, environment, FAST);
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(hosts[0]).toMatchObject({ ok: true });
      expect(hosts[1]).toMatchObject({ ok: false });
      expect(hosts[1]!.detail).toMatch(/^EC2 b: the SSM agent is not connected \(ConnectionLost, last seen /);
      expect(hosts[1]!.fix).toContain("amazon-ssm-agent");
    } finally {
      sandbox.setFault(hostB, "offline", false);
    }
  });

  it("a wrong repo path and a missing lifecycle rule are red with their fixes", async () => {
    const hosts = await checkHosts(clients.ssm, { ...environment, repoPath: "/srv/not-the-repo" }, FAST);
    for (const host of hosts) {
      expect(host.ok).toBe(false);
      expect(host.detail).toContain("the repo path does not exist on the host");
      expect(host.fix).toContain("repoPath");
    }
    await clients.s3.send(new DeleteBucketLifecycleCommand({ Bucket: sandbox.bucket }));
    try {
      const retention = line(await checkLaptop(clients, environment), "Bundle retention");
      expect(retention.ok).toBe(false);
      expect(retention.fix).toContain("put-bucket-lifecycle-configuration");
      expect(retention.fix).toContain('"Days":7');
    } finally {
      await clients.s3.send(
        new PutBucketLifecycleConfigurationCommand({
          Bucket: sandbox.bucket,
          LifecycleConfiguration: { Rules: [{ ID: "deckhand-expire-bundles", Status: "Enabled", Filter: { Prefix: environment.prefix }, Expiration: { Days: 7 } }] },
        }),
      );
    }
  });
});
