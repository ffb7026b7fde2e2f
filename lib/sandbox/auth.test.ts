import { DescribeLogGroupsCommand, CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import { GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { ListCommandsCommand, SendCommandCommand, SSMClient } from "@aws-sdk/client-ssm";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { presignBundleUrl } from "../aws/presign";
import { newSandboxCredentials } from "./auth";
import { startSandbox, type Sandbox } from "./index";
import { controlFetch, FAST_TIMING, sandboxClients, sleep } from "./testClients";

let sandbox: Sandbox;
let clients: ReturnType<typeof sandboxClients>;
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "deckhand-auth-"));

beforeAll(async () => {
  sandbox = await startSandbox({ timing: FAST_TIMING });
  clients = sandboxClients(sandbox);
}, 60_000);
afterAll(async () => {
  await sandbox?.stop();
});

function sendCommandBody(canary: string) {
  return JSON.stringify({
    DocumentName: "AWS-RunShellScript",
    InstanceIds: sandbox.hosts.map((h) => h.instanceId),
    Parameters: { commands: [`#!/bin/bash\ntouch '${canary}'\n`] },
  });
}

/** fetch() cannot set Host; a rebound browser page sends its own name there. */
function rawRequest(url: string, options: { method: string; headers: Record<string, string>; body?: string }): Promise<{ status: number; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: options.method, headers: options.headers }, (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.on("error", reject);
    req.end(options.body);
  });
}

const jsonHeaders = { "content-type": "application/x-amz-json-1.1", "x-amz-target": "AmazonSSM.SendCommand" };

describe("the sandbox refuses requests not signed with its key", () => {
  it("hands out a fresh, AWS-shaped key pair per start, in its env", () => {
    expect(sandbox.credentials.accessKeyId).toMatch(/^AKIA[A-Z2-7]{16}$/);
    expect(sandbox.credentials.secretAccessKey).toHaveLength(40);
    expect(sandbox.env.AWS_ACCESS_KEY_ID).toBe(sandbox.credentials.accessKeyId);
    expect(sandbox.env.AWS_SECRET_ACCESS_KEY).toBe(sandbox.credentials.secretAccessKey);
    expect(newSandboxCredentials().accessKeyId).not.toBe(sandbox.credentials.accessKeyId);
  });

  it("unsigned SendCommand: MissingAuthenticationTokenException, and no script runs", async () => {
    const canary = path.join(scratch, "unsigned-canary");
    const response = await fetch(sandbox.endpoints.ssm, { method: "POST", headers: jsonHeaders, body: sendCommandBody(canary) });
    expect(response.status).toBe(400);
    expect(response.headers.get("x-amzn-errortype")).toBe("MissingAuthenticationTokenException");
    expect(await response.json()).toMatchObject({ __type: "MissingAuthenticationTokenException" });
    const listed = await clients.ssm.send(new ListCommandsCommand({}));
    expect(listed.Commands ?? []).toEqual([]);
    await sleep(FAST_TIMING.pendingMs * 3);
    expect(fs.existsSync(canary)).toBe(false);
  });

  it("a foreign key through the real SDK: UnrecognizedClientException, and no script runs", async () => {
    const canary = path.join(scratch, "foreign-canary");
    const foreign = new SSMClient({ region: sandbox.region, endpoint: sandbox.endpoints.ssm, credentials: newSandboxCredentials(), maxAttempts: 1 });
    await expect(
      foreign.send(new SendCommandCommand({ DocumentName: "AWS-RunShellScript", InstanceIds: [sandbox.hosts[0]!.instanceId], Parameters: { commands: [`touch '${canary}'`] } })),
    ).rejects.toMatchObject({ name: "UnrecognizedClientException" });
    expect((await clients.ssm.send(new ListCommandsCommand({}))).Commands ?? []).toEqual([]);
    await sleep(FAST_TIMING.pendingMs * 3);
    expect(fs.existsSync(canary)).toBe(false);
  });

  it("the right key id with the wrong secret: InvalidSignatureException / SignatureDoesNotMatch, and no script runs", async () => {
    const canary = path.join(scratch, "forged-canary");
    const forged = { accessKeyId: sandbox.credentials.accessKeyId, secretAccessKey: newSandboxCredentials().secretAccessKey };
    const ssm = new SSMClient({ region: sandbox.region, endpoint: sandbox.endpoints.ssm, credentials: forged, maxAttempts: 1 });
    await expect(
      ssm.send(new SendCommandCommand({ DocumentName: "AWS-RunShellScript", InstanceIds: [sandbox.hosts[0]!.instanceId], Parameters: { commands: [`touch '${canary}'`] } })),
    ).rejects.toMatchObject({ name: "InvalidSignatureException" });
    const s3 = new S3Client({ region: sandbox.region, endpoint: sandbox.endpoints.s3, forcePathStyle: true, credentials: forged, maxAttempts: 1 });
    await expect(s3.send(new PutObjectCommand({ Bucket: sandbox.bucket, Key: "auth/forged.txt", Body: "x" }))).rejects.toMatchObject({ name: "SignatureDoesNotMatch" });
    const control = await controlFetch({ ...sandbox, credentials: forged }, `/faults/${sandbox.hosts[0]!.instanceId}`, { method: "PUT", body: { fault: "offline", on: true } });
    expect(control.status).toBe(403);
    expect(sandbox.faults()[sandbox.hosts[0]!.instanceId]).toEqual([]);
    expect((await clients.ssm.send(new ListCommandsCommand({}))).Commands ?? []).toEqual([]);
    await sleep(FAST_TIMING.pendingMs * 3);
    expect(fs.existsSync(canary)).toBe(false);
  });

  it("a signed-looking header with garbage: IncompleteSignatureException", async () => {
    const response = await fetch(sandbox.endpoints.ssm, { method: "POST", headers: { ...jsonHeaders, authorization: "Bearer x" }, body: "{}" });
    expect(response.headers.get("x-amzn-errortype")).toBe("IncompleteSignatureException");
  });

  it("a DNS-rebound page (foreign Host) is refused even with the right key id", async () => {
    const response = await rawRequest(sandbox.endpoints.ssm, {
      method: "POST",
      headers: { ...jsonHeaders, host: "evil.example", authorization: `AWS4-HMAC-SHA256 Credential=${sandbox.credentials.accessKeyId}/20260101/x/ssm/aws4_request, SignedHeaders=host, Signature=00` },
      body: sendCommandBody(path.join(scratch, "rebound-canary")),
    });
    expect(response.status).toBe(403);
    expect(response.headers["x-amzn-errortype"]).toBe("AccessDeniedException");
  });

  it("CloudWatch Logs: unsigned and foreign-key calls get AWS's errors", async () => {
    const unsigned = await fetch(sandbox.endpoints.logs, { method: "POST", headers: { "content-type": "application/x-amz-json-1.1", "x-amz-target": "Logs_20140328.DescribeLogGroups" }, body: "{}" });
    expect(unsigned.headers.get("x-amzn-errortype")).toBe("MissingAuthenticationTokenException");
    const foreign = new CloudWatchLogsClient({ region: sandbox.region, endpoint: sandbox.endpoints.logs, credentials: newSandboxCredentials(), maxAttempts: 1 });
    await expect(foreign.send(new DescribeLogGroupsCommand({}))).rejects.toMatchObject({ name: "UnrecognizedClientException" });
    await expect(clients.logs.send(new DescribeLogGroupsCommand({}))).resolves.toBeDefined();
  });

  it("S3: unsigned gets AccessDenied XML, a foreign key InvalidAccessKeyId, fauxqs's own endpoints too", async () => {
    await clients.s3.send(new PutObjectCommand({ Bucket: sandbox.bucket, Key: "auth/secret.txt", Body: "hello" }));
    const unsigned = await fetch(`${sandbox.endpoints.s3}/${sandbox.bucket}/auth/secret.txt`);
    expect(unsigned.status).toBe(403);
    const xml = await unsigned.text();
    expect(xml).toContain("<Code>AccessDenied</Code>");
    expect(xml).not.toContain("hello");
    const foreign = new S3Client({ region: sandbox.region, endpoint: sandbox.endpoints.s3, forcePathStyle: true, credentials: newSandboxCredentials(), maxAttempts: 1 });
    await expect(foreign.send(new GetObjectCommand({ Bucket: sandbox.bucket, Key: "auth/secret.txt" }))).rejects.toMatchObject({ name: "InvalidAccessKeyId" });
    await expect(foreign.send(new PutObjectCommand({ Bucket: sandbox.bucket, Key: "auth/secret.txt", Body: "swapped" }))).rejects.toMatchObject({ name: "InvalidAccessKeyId" });
    const got = await clients.s3.send(new GetObjectCommand({ Bucket: sandbox.bucket, Key: "auth/secret.txt" }));
    expect(await got.Body!.transformToString()).toBe("hello");
    for (const pathname of ["/_fauxqs/queues", "/health"]) expect((await fetch(`${sandbox.endpoints.s3}${pathname}`)).status).toBe(403);
  });

  it("S3 presigned URLs: the signature and the expiry are checked, as S3 does", async () => {
    await clients.s3.send(new PutObjectCommand({ Bucket: sandbox.bucket, Key: "auth/presigned.txt", Body: "bundle bytes" }));
    await clients.s3.send(new PutObjectCommand({ Bucket: sandbox.bucket, Key: "auth/other.txt", Body: "other bytes" }));
    const url = await presignBundleUrl(clients.s3, sandbox.bucket, "auth/presigned.txt", 120);
    const good = await fetch(url);
    expect(good.status).toBe(200);
    expect(await good.text()).toBe("bundle bytes");

    const failure = async (target: string) => {
      const response = await fetch(target);
      const xml = await response.text();
      expect(xml).not.toContain("bytes");
      return { status: response.status, code: /<Code>([^<]+)<\/Code>/.exec(xml)?.[1], message: /<Message>([^<]+)<\/Message>/.exec(xml)?.[1] };
    };
    // The URL for one key does not open another.
    expect(await failure(url.replace("auth/presigned.txt", "auth/other.txt"))).toMatchObject({ status: 403, code: "SignatureDoesNotMatch" });
    // A changed signature or a longer life is refused.
    const signature = new URL(url).searchParams.get("X-Amz-Signature")!;
    expect(await failure(url.replace(signature, signature.replace(/^./, (c) => (c === "a" ? "b" : "a"))))).toMatchObject({ status: 403, code: "SignatureDoesNotMatch" });
    expect(await failure(url.replace("X-Amz-Expires=120", "X-Amz-Expires=3600"))).toMatchObject({ status: 403, code: "SignatureDoesNotMatch" });
    // Signed two hours ago for one hour: expired.
    const old = await getSignedUrl(clients.s3, new GetObjectCommand({ Bucket: sandbox.bucket, Key: "auth/presigned.txt" }), { expiresIn: 3600, signingDate: new Date(Date.now() - 2 * 3600_000) });
    expect(await failure(old)).toEqual({ status: 403, code: "AccessDenied", message: "Request has expired" });
  });

  it("control API: reading state needs a loopback Host; changing faults needs the key", async () => {
    const instanceId = sandbox.hosts[0]!.instanceId;
    expect((await fetch(`${sandbox.endpoints.control}/state`)).status).toBe(200);
    const unsigned = await fetch(`${sandbox.endpoints.control}/faults/${instanceId}`, { method: "PUT", body: JSON.stringify({ fault: "offline", on: true }) });
    expect(unsigned.status).toBe(403);
    expect(sandbox.faults()[instanceId]).toEqual([]);
    const rebound = await rawRequest(`${sandbox.endpoints.control}/state`, { method: "GET", headers: { host: "evil.example" } });
    expect(rebound.status).toBe(403);
    const signed = await controlFetch(sandbox, `/faults/${instanceId}`, { method: "PUT", body: { fault: "offline", on: true } });
    expect(signed.status).toBe(200);
    expect(sandbox.faults()[instanceId]).toEqual(["offline"]);
    await controlFetch(sandbox, `/faults/${instanceId}`, { method: "PUT", body: { fault: "offline", on: false } });
  });
});
