// Upload behaviour against the sandbox's S3 (real SDK, real HTTP).
import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSandbox, type Sandbox } from "../sandbox";
import { packBundle } from "../bundle/pack";
import { uploadBundle } from "./s3";

let sandbox: Sandbox;
let s3: S3Client;

beforeAll(async () => {
  sandbox = await startSandbox();
  s3 = new S3Client({ region: sandbox.region, endpoint: sandbox.endpoints.s3, forcePathStyle: true, credentials: sandbox.credentials });
}, 120_000);

afterAll(async () => {
  await sandbox?.stop();
});

/** An S3 client whose calls (command name, HTTP status) are recorded by SDK middleware: observation, not a mock. */
function watchedClient(): { client: S3Client; calls: { command: string; status?: number }[] } {
  const calls: { command: string; status?: number }[] = [];
  const client = new S3Client({ region: sandbox.region, endpoint: sandbox.endpoints.s3, forcePathStyle: true, credentials: sandbox.credentials });
  client.middlewareStack.add(
    (next, context) => async (args) => {
      try {
        const result = await next(args);
        calls.push({ command: context.commandName ?? "", status: (result.response as { statusCode?: number }).statusCode });
        return result;
      } catch (error) {
        calls.push({ command: context.commandName ?? "", status: (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode });
        throw error;
      }
    },
    { step: "deserialize", name: "recordCalls" },
  );
  return { client, calls };
}

/** 20 MiB in 1 MiB chunks, failing after `failAfter` chunks when given. */
function bundleStream(failAfter?: number): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (failAfter !== undefined && sent === failAfter) return this.destroy(new Error("disk read failed"));
      if (sent === 20) return this.push(null);
      sent++;
      this.push(randomBytes(1024 * 1024));
    },
  });
}

describe("uploadBundle", () => {
  it("uploads a stream in parts with its metadata and reports progress", async () => {
    const progress: number[] = [];
    await uploadBundle(s3, { bucket: sandbox.bucket, key: "deployments/acp_audit_1.tar.gz", body: bundleStream(), metadata: { services: "audit" }, onProgress: (b) => progress.push(b) });
    const object = await s3.send(new GetObjectCommand({ Bucket: sandbox.bucket, Key: "deployments/acp_audit_1.tar.gz" }));
    expect(object.ContentLength).toBe(20 * 1024 * 1024);
    expect(object.Metadata).toMatchObject({ services: "audit" });
    expect(progress.length).toBeGreaterThan(1);
    expect(Math.max(...progress)).toBe(20 * 1024 * 1024);
  });

  it("aborts the multipart upload when the packer fails mid-stream, and reports the packer's error", async () => {
    // The sandbox S3 does not implement ListMultipartUploads, so the calls that reach it are recorded
    // (with their HTTP status) by SDK middleware on a client of its own: observation, not a mock.
    const calls: { command: string; status?: number }[] = [];
    const watched = new S3Client({ region: sandbox.region, endpoint: sandbox.endpoints.s3, forcePathStyle: true, credentials: sandbox.credentials });
    watched.middlewareStack.add(
      (next, context) => async (args) => {
        const result = await next(args);
        calls.push({ command: context.commandName ?? "", status: (result.response as { statusCode?: number }).statusCode });
        return result;
      },
      { step: "deserialize", name: "recordCalls" },
    );
    const key = "deployments/acp_audit_2.tar.gz";
    await expect(uploadBundle(watched, { bucket: sandbox.bucket, key, body: bundleStream(12), metadata: {} })).rejects.toThrow(/disk read failed/);
    const names = calls.map((c) => c.command);
    expect(names).toContain("CreateMultipartUploadCommand");
    expect(calls.find((c) => c.command === "AbortMultipartUploadCommand")?.status).toBeLessThan(300);
    expect(names).not.toContain("CompleteMultipartUploadCommand");
    await expect(s3.send(new GetObjectCommand({ Bucket: sandbox.bucket, Key: key }))).rejects.toThrow();
  });

  it("sends a body smaller than one part as a single conditional PutObject", async () => {
    const { client, calls } = watchedClient();
    const key = "deployments/acp_audit_small.tar.gz";
    const body = Readable.from([randomBytes(300_000), randomBytes(200_000)]);
    const progress: number[] = [];
    await uploadBundle(client, { bucket: sandbox.bucket, key, body, metadata: { services: "audit" }, onProgress: (b) => progress.push(b) });
    expect(calls.map((c) => c.command)).toEqual(["PutObjectCommand"]);
    expect(progress.at(-1)).toBe(500_000);
    const object = await s3.send(new GetObjectCommand({ Bucket: sandbox.bucket, Key: key }));
    expect(object.ContentLength).toBe(500_000);
    expect(object.Metadata).toMatchObject({ services: "audit" });
    // If-None-Match: * — a key that is taken is never overwritten.
    await expect(uploadBundle(s3, { bucket: sandbox.bucket, key, body: Readable.from([randomBytes(1000)]), metadata: {} })).rejects.toThrow();
    expect((await s3.send(new GetObjectCommand({ Bucket: sandbox.bucket, Key: key }))).ContentLength).toBe(500_000);
  });

  it("keeps the bytes in order across parts and refuses to complete over a key that is taken (then aborts)", async () => {
    const key = "deployments/acp_audit_order.tar.gz";
    const data = randomBytes(13 * 1024 * 1024 + 12345);
    // uneven chunks, so parts are cut across them
    const chunks = [];
    for (let at = 0; at < data.length; at += 777_777) chunks.push(data.subarray(at, at + 777_777));
    await uploadBundle(s3, { bucket: sandbox.bucket, key, body: Readable.from(chunks), metadata: {} });
    const object = await s3.send(new GetObjectCommand({ Bucket: sandbox.bucket, Key: key }));
    expect(Buffer.from(await object.Body!.transformToByteArray()).equals(data)).toBe(true);

    const { client, calls } = watchedClient();
    await expect(uploadBundle(client, { bucket: sandbox.bucket, key, body: Readable.from([randomBytes(11 * 1024 * 1024)]), metadata: {} })).rejects.toThrow();
    expect(calls.filter((c) => c.command === "UploadPartCommand")).toHaveLength(3);
    expect(calls.find((c) => c.command === "CompleteMultipartUploadCommand")?.status).toBe(412);
    expect(calls.find((c) => c.command === "AbortMultipartUploadCommand")?.status).toBeLessThan(300);
    const again = await s3.send(new GetObjectCommand({ Bucket: sandbox.bucket, Key: key }));
    expect(Buffer.from(await again.Body!.transformToByteArray()).equals(data)).toBe(true);
  });

  it("stops the packer when the upload fails (the bundle stream is destroyed, the pack's promise rejects)", async () => {
    const repo = await fs.mkdtemp(path.join(os.tmpdir(), "deckhand-upload-fail-"));
    await fs.mkdir(path.join(repo, "services/audit"), { recursive: true });
    // big enough that the packer is still waiting on the upload (backpressure) when the upload fails
    for (let i = 0; i < 6; i++) await fs.writeFile(path.join(repo, `services/audit/blob${i}.bin`), randomBytes(8 * 1024 * 1024));
    try {
      const packed = await packBundle({ repoDir: repo, label: "audit", services: ["audit"], paths: ["services/audit"], replace: [] });
      await expect(uploadBundle(s3, { bucket: "no-such-bucket", key: "deployments/acp_audit_3.tar.gz", body: packed.stream, metadata: {} })).rejects.toThrow();
      expect(packed.stream.destroyed).toBe(true);
      await expect(packed.done).rejects.toThrow();
    } finally {
      await fs.rm(repo, { recursive: true, force: true });
    }
  });
});
