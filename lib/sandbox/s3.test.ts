import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, HeadObjectCommand } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSandbox, type Sandbox } from "./index";
import { FAST_TIMING, runScript, sandboxClients, waitForInvocation } from "./testClients";

let sandbox: Sandbox;
let clients: ReturnType<typeof sandboxClients>;

beforeAll(async () => {
  sandbox = await startSandbox({ timing: FAST_TIMING });
  clients = sandboxClients(sandbox);
});
afterAll(async () => {
  await sandbox?.stop();
});

describe("sandbox S3 (fauxqs)", () => {
  it("puts and gets with the real SDK and default checksums", async () => {
    await clients.s3.send(new PutObjectCommand({ Bucket: sandbox.bucket, Key: "deployments/hello.txt", Body: "hello" }));
    const got = await clients.s3.send(new GetObjectCommand({ Bucket: sandbox.bucket, Key: "deployments/hello.txt" }));
    expect(await got.Body!.transformToString()).toBe("hello");
    await expect(clients.s3.send(new HeadObjectCommand({ Bucket: sandbox.bucket, Key: "deployments/missing" }))).rejects.toMatchObject({ name: "NotFound" });
  });

  it("pages ListObjectsV2", async () => {
    await Promise.all(Array.from({ length: 7 }, (_, i) => clients.s3.send(new PutObjectCommand({ Bucket: sandbox.bucket, Key: `paging/k${i}`, Body: String(i) }))));
    const keys: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await clients.s3.send(new ListObjectsV2Command({ Bucket: sandbox.bucket, Prefix: "paging/", MaxKeys: 3, ContinuationToken: token }));
      keys.push(...page.Contents!.map((o) => o.Key!));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
      pages++;
    } while (token);
    expect(pages).toBe(3);
    expect(keys.sort()).toEqual(Array.from({ length: 7 }, (_, i) => `paging/k${i}`));
  });

  it("takes a multipart upload (lib-storage) that a host's `aws s3 cp` then downloads intact", async () => {
    const body = Buffer.alloc(12 * 1024 * 1024, 7);
    body.write("deckhand", 0);
    const upload = new Upload({ client: clients.s3, params: { Bucket: sandbox.bucket, Key: "deployments/big.bin", Body: body }, partSize: 5 * 1024 * 1024 });
    await upload.done();
    const sha = createHash("sha256").update(body).digest("hex");
    const script = `#!/bin/bash\nset -euo pipefail\ntmp=$(mktemp /tmp/deckhand.XXXXXXXX.bin)\naws s3 cp 's3://${sandbox.bucket}/deployments/big.bin' "$tmp" --region '${sandbox.region}' --only-show-errors\necho '${sha}  '"$tmp" | sha256sum -c - >/dev/null && echo verified\nrm -f "$tmp"\n`;
    const host = sandbox.hosts[0]!.instanceId;
    const commandId = await runScript(sandbox, clients.ssm, script, { instanceIds: [host] });
    expect(await waitForInvocation(clients.ssm, commandId, host)).toMatchObject({ Status: "Success", StandardOutputContent: "verified\n" });
  });

  it("the `aws s3 cp` stand-in fails like the real CLI for a missing key", async () => {
    const host = sandbox.hosts[0]!.instanceId;
    const commandId = await runScript(sandbox, clients.ssm, `aws s3 cp 's3://${sandbox.bucket}/deployments/nope.tar.gz' /tmp/x --only-show-errors`, { instanceIds: [host] });
    const done = await waitForInvocation(clients.ssm, commandId, host);
    expect(done).toMatchObject({ Status: "Failed", ResponseCode: 1 });
    expect(done.StandardErrorContent).toBe("fatal error: An error occurred (404) when calling the HeadObject operation: Not Found\n");
  });

  it("generates the sample repo and a config pointing at it", () => {
    const config = JSON.parse(fs.readFileSync(sandbox.configPath, "utf8"));
    expect(config.repo).toBe(sandbox.repoDir);
    expect(config.environments.sandbox).toMatchObject({ region: "ap-south-1", bucket: sandbox.bucket, repoPath: sandbox.remoteRepoPath, albUrl: sandbox.endpoints.alb });
    expect(config.environments.sandbox.hosts).toEqual(sandbox.hosts.map((h) => ({ instanceId: h.instanceId, name: h.name })));
    for (const host of sandbox.hosts) expect(host.instanceId).toMatch(/^i-[0-9a-f]{17}$/);
    expect(execFileSync("git", ["log", "--oneline"], { cwd: sandbox.repoDir, encoding: "utf8" }).trim().split("\n")).toHaveLength(1);
    expect(fs.readdirSync(path.join(sandbox.repoDir, "ui/dist/assets"))).toEqual([expect.stringMatching(/^index-[0-9a-f]{8}\.js$/)]);
    expect(sandbox.env).toMatchObject({ AWS_ENDPOINT_URL_SSM: sandbox.endpoints.ssm, DECKHAND_CONFIG: sandbox.configPath, DECKHAND_SANDBOX_CONTROL_URL: sandbox.endpoints.control });
  });
});
