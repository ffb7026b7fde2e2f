// Reuse lookup against the sandbox's S3 (real SDK, real HTTP).
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { createHash } from "node:crypto";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addObjectMetadata, uploadBundle } from "../aws/s3";
import { startSandbox, type Sandbox } from "../sandbox";
import { FAST_TIMING, sandboxClients } from "../sandbox/testClients";
import { packBundle } from "./pack";
import { CONTENT_METADATA_KEY, contentPointerKey, findBundleByContent, recordBundleContent } from "./reuse";

let sandbox: Sandbox;
let s3: ReturnType<typeof sandboxClients>["s3"];
let repo: string;
const prefix = "deployments/";

beforeAll(async () => {
  sandbox = await startSandbox({ timing: FAST_TIMING });
  s3 = sandboxClients(sandbox).s3;
  repo = await fs.mkdtemp(path.join(os.tmpdir(), "deckhand-reuse-"));
  await fs.mkdir(path.join(repo, "services/audit"), { recursive: true });
  await fs.writeFile(path.join(repo, "services/audit/app.py"), "print('audit v1')\n");
}, 120_000);

afterAll(async () => {
  await sandbox?.stop();
  if (repo) await fs.rm(repo, { recursive: true, force: true });
});

const request = () => ({ repoDir: repo, label: "audit", services: ["audit"], paths: ["services/audit"], replace: [] });

/** What the deploy engine does: pack, upload with content-sha256, add the sha256, record the pointer. */
async function packAndUpload(key: string) {
  const packed = await packBundle(request());
  await uploadBundle(s3, { bucket: sandbox.bucket, key, body: packed.stream, metadata: { services: "audit", [CONTENT_METADATA_KEY]: packed.contentSha256 } });
  const { sha256 } = await packed.done;
  await addObjectMetadata(s3, sandbox.bucket, key, { sha256 });
  await recordBundleContent(s3, { bucket: sandbox.bucket, prefix, contentSha256: packed.contentSha256, key, sha256 });
  return { contentSha256: packed.contentSha256, sha256 };
}

async function objectSha256(key: string): Promise<string> {
  const object = await s3.send(new GetObjectCommand({ Bucket: sandbox.bucket, Key: key }));
  return createHash("sha256").update(await object.Body!.transformToByteArray()).digest("hex");
}

describe("findBundleByContent", () => {
  it("finds a bundle with the same content before a byte of the second pack is compressed", async () => {
    const first = await packAndUpload("deployments/acp_audit_1763900001.tar.gz");
    const second = await packBundle(request()); // a later deploy of the same tree: new manifest time, same content
    expect(second.contentSha256).toBe(first.contentSha256);
    const found = await findBundleByContent(s3, { bucket: sandbox.bucket, prefix, contentSha256: second.contentSha256 });
    second.stream.destroy(); // reused: nothing is compressed or uploaded
    expect(found).toMatchObject({ key: "deployments/acp_audit_1763900001.tar.gz", sha256: first.sha256 });
    expect(found!.size).toBeGreaterThan(0);
    expect(await objectSha256(found!.key)).toBe(found!.sha256);
  });

  it("finds nothing for other content, and nothing once the bundle is gone", async () => {
    await fs.writeFile(path.join(repo, "services/audit/app.py"), "print('audit v2')\n");
    const v2 = await packBundle(request());
    v2.stream.destroy();
    expect(await findBundleByContent(s3, { bucket: sandbox.bucket, prefix, contentSha256: v2.contentSha256 })).toBeNull();

    const uploaded = await packAndUpload("deployments/acp_audit_1763900002.tar.gz");
    expect(uploaded.contentSha256).toBe(v2.contentSha256);
    expect((await findBundleByContent(s3, { bucket: sandbox.bucket, prefix, contentSha256: v2.contentSha256 }))?.key).toBe("deployments/acp_audit_1763900002.tar.gz");
    // older than the caller allows (e.g. close to the lifecycle expiry): not offered
    expect(await findBundleByContent(s3, { bucket: sandbox.bucket, prefix, contentSha256: v2.contentSha256, maxAgeMs: 1000, now: new Date(Date.now() + 60_000) })).toBeNull();

    await s3.send(new DeleteObjectCommand({ Bucket: sandbox.bucket, Key: "deployments/acp_audit_1763900002.tar.gz" }));
    expect(await findBundleByContent(s3, { bucket: sandbox.bucket, prefix, contentSha256: v2.contentSha256 })).toBeNull();
  });

  it("does not believe a pointer that names another object, a key outside the prefix, or a bundle with other metadata", async () => {
    const content = "a".repeat(64);
    const pointerKey = contentPointerKey(prefix, content);
    await s3.send(new PutObjectCommand({ Bucket: sandbox.bucket, Key: "deployments/acp_evil_1763900003.tar.gz", Body: "not a bundle", Metadata: { sha256: "b".repeat(64) } }));
    const forge = (metadata: Record<string, string>) => s3.send(new PutObjectCommand({ Bucket: sandbox.bucket, Key: pointerKey, Body: new Uint8Array(0), ContentLength: 0, Metadata: metadata }));

    // the bundle does not carry the content hash the pointer claims
    await forge({ "bundle-key": "deployments/acp_evil_1763900003.tar.gz", sha256: "b".repeat(64), [CONTENT_METADATA_KEY]: content });
    expect(await findBundleByContent(s3, { bucket: sandbox.bucket, prefix, contentSha256: content })).toBeNull();
    // a key outside the environment's prefix, or not a bundle
    await forge({ "bundle-key": "elsewhere/acp_x_1763900003.tar.gz", sha256: "b".repeat(64), [CONTENT_METADATA_KEY]: content });
    expect(await findBundleByContent(s3, { bucket: sandbox.bucket, prefix, contentSha256: content })).toBeNull();
    await forge({ "bundle-key": "deployments/../secrets.tar.gz", sha256: "b".repeat(64), [CONTENT_METADATA_KEY]: content });
    expect(await findBundleByContent(s3, { bucket: sandbox.bucket, prefix, contentSha256: content })).toBeNull();
    // a malformed sha256
    await forge({ "bundle-key": "deployments/acp_evil_1763900003.tar.gz", sha256: "$(reboot)", [CONTENT_METADATA_KEY]: content });
    expect(await findBundleByContent(s3, { bucket: sandbox.bucket, prefix, contentSha256: content })).toBeNull();
    // with both sides agreeing it is offered — as a hint the caller checks against history
    await s3.send(new PutObjectCommand({ Bucket: sandbox.bucket, Key: "deployments/acp_evil_1763900003.tar.gz", Body: "not a bundle", Metadata: { sha256: "b".repeat(64), [CONTENT_METADATA_KEY]: content } }));
    await forge({ "bundle-key": "deployments/acp_evil_1763900003.tar.gz", sha256: "b".repeat(64), [CONTENT_METADATA_KEY]: content });
    expect(await findBundleByContent(s3, { bucket: sandbox.bucket, prefix, contentSha256: content })).toMatchObject({ key: "deployments/acp_evil_1763900003.tar.gz", sha256: "b".repeat(64) });
  });

  it("refuses a content hash that is not one", () => {
    expect(() => contentPointerKey(prefix, "../../etc")).toThrow(/64 hex/);
  });
});
