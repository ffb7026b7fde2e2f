import { DescribeTargetHealthCommand, ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { targetHealth } from "../aws/elb";
import { Alb } from "./alb";
import { newSandboxCredentials } from "./auth";
import { signedFetch } from "./tools/sigv4.mjs";
import type { RunningServer } from "./awsJson";
import { startElbService } from "./elb";
import type { SimulatedHost } from "./hosts";

const ARN = "arn:aws:elasticloadbalancing:ap-south-1:000000000000:targetgroup/deckhand-sandbox/0123456789abcdef";
const A = "i-0aaaaaaaaaaaaaaaa";
const B = "i-0bbbbbbbbbbbbbbbb";
let healthStatus = 200;
let backend: http.Server;
let alb: Alb;
let elb: RunningServer;
let client: ElasticLoadBalancingV2Client;
const credentials = newSandboxCredentials();

beforeAll(async () => {
  backend = http.createServer((_req, res) => res.writeHead(healthStatus).end());
  await new Promise<void>((r) => backend.listen(0, "127.0.0.1", r));
  const port = (backend.address() as AddressInfo).port;
  // Two targets: A answers from the backend, B from a port nobody listens on.
  alb = new Alb([{ instanceId: A, port } as SimulatedHost, { instanceId: B, port: 1 } as SimulatedHost], 50);
  await alb.start();
  elb = await startElbService({ alb, targetGroupArn: ARN, credentials });
  client = new ElasticLoadBalancingV2Client({ region: "ap-south-1", endpoint: elb.url, credentials });
});
afterAll(async () => {
  await alb.stop();
  await elb.close();
  backend.close();
});

async function until(what: string, ok: () => Promise<boolean>) {
  const deadline = Date.now() + 5000;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("sandbox ELBv2 DescribeTargetHealth (AWS Query protocol)", () => {
  it("answers from the ALB's own health checks, with AWS's reasons", async () => {
    await until("B unhealthy", async () => (await targetHealth(client, ARN))[1]!.state === "unhealthy");
    const [a, b] = await targetHealth(client, ARN);
    expect(a).toEqual({ instanceId: A, port: 80, state: "healthy", reason: null, description: null });
    expect(b).toEqual({ instanceId: B, port: 80, state: "unhealthy", reason: "Target.FailedHealthChecks", description: "Health checks failed" });
    healthStatus = 503;
    await until("A unhealthy", async () => (await targetHealth(client, ARN))[0]!.state === "unhealthy");
    expect((await targetHealth(client, ARN))[0]).toMatchObject({ reason: "Target.ResponseCodeMismatch", description: "Health checks failed with these codes: [503]" });
    healthStatus = 200;
    alb.setDraining(A, true);
    expect((await targetHealth(client, ARN))[0]).toMatchObject({ state: "draining", reason: "Target.DeregistrationInProgress" });
    alb.setDraining(A, false);
  });

  it("filters by Targets and refuses unknown targets and groups as AWS does", async () => {
    const only = await client.send(new DescribeTargetHealthCommand({ TargetGroupArn: ARN, Targets: [{ Id: B }] }));
    expect(only.TargetHealthDescriptions?.map((d) => d.Target?.Id)).toEqual([B]);
    await expect(client.send(new DescribeTargetHealthCommand({ TargetGroupArn: ARN, Targets: [{ Id: "i-0cccccccccccccccc" }] }))).rejects.toMatchObject({ name: "InvalidTargetException" });
    await expect(targetHealth(client, ARN.replace("deckhand-sandbox", "other"))).rejects.toMatchObject({ name: "TargetGroupNotFoundException", $metadata: { httpStatusCode: 400 } });
  });

  it("speaks the Query wire format: form-encoded Action and Version in, XML out", async () => {
    const post = (body: string) => signedFetch(elb.url, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body }, { credentials, region: "ap-south-1", service: "elasticloadbalancing" });
    const ok = await post(`Action=DescribeTargetHealth&Version=2015-12-01&TargetGroupArn=${encodeURIComponent(ARN)}`);
    expect(ok.headers.get("content-type")).toBe("text/xml");
    expect(await ok.text()).toMatch(/^<DescribeTargetHealthResponse xmlns="http:\/\/elasticloadbalancing\.amazonaws\.com\/doc\/2015-12-01\/"><DescribeTargetHealthResult><TargetHealthDescriptions><member>/);
    const wrongAction = await post("Action=DeleteLoadBalancer&Version=2015-12-01");
    expect(wrongAction.status).toBe(400);
    expect(await wrongAction.text()).toContain("<Code>InvalidAction</Code>");
    expect(await (await post("Action=DescribeTargetHealth&Version=2012-06-01")).text()).toContain("<Code>InvalidParameterValue</Code>");
    expect(await (await post("Action=DescribeTargetHealth&Version=2015-12-01")).text()).toContain("<Code>ValidationError</Code>");
  });

  it("refuses what AWS refuses: unsigned, an unknown key, a wrong signature", async () => {
    const unsigned = await fetch(elb.url, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: `Action=DescribeTargetHealth&Version=2015-12-01&TargetGroupArn=${encodeURIComponent(ARN)}` });
    expect(unsigned.status).toBe(403);
    expect(await unsigned.text()).toContain("<Code>MissingAuthenticationToken</Code>");
    const stranger = new ElasticLoadBalancingV2Client({ region: "ap-south-1", endpoint: elb.url, credentials: { accessKeyId: "AKIAOTHERPERSON00000", secretAccessKey: credentials.secretAccessKey } });
    await expect(stranger.send(new DescribeTargetHealthCommand({ TargetGroupArn: ARN }))).rejects.toMatchObject({ name: "InvalidClientTokenId", $metadata: { httpStatusCode: 403 } });
    const wrongSecret = new ElasticLoadBalancingV2Client({ region: "ap-south-1", endpoint: elb.url, credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: "not-the-secret" } });
    await expect(wrongSecret.send(new DescribeTargetHealthCommand({ TargetGroupArn: ARN }))).rejects.toMatchObject({ name: "SignatureDoesNotMatch", $metadata: { httpStatusCode: 403 } });
  });
});
