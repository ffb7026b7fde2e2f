// What the bucket says is not believed over history, a forged manifest is refused, and a flood of
// output is stored within its caps: against the sandbox.
import { createGzip } from "node:zlib";
import { CopyObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { ListCommandsCommand } from "@aws-sdk/client-ssm";
import tarStream from "tar-stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Db } from "../history/db";
import { bumpSampleRepo, type Sandbox } from "../sandbox";
import type { DeployContext } from "./context";
import { newDeployId, startDeploy } from "./deploy";
import { LIVE_LINES_PER_HOST } from "./phases/live-tail";
import { FULL_OUTPUT_CAP_BYTES } from "./phases/host-results";
import { storedScriptJob } from "./plans";
import { previewRedeploy } from "./redeploy";
import { launch } from "./runner";
import { settledDeploy, startDeployTestbed, type DeployTestbed } from "./test-sandbox";
import { toDeployView } from "./views";
import { getDeployDetail } from "../history/deploys";

let testbed: DeployTestbed;
let sandbox: Sandbox;
let db: Db;
let ctx: DeployContext;

beforeAll(async () => {
  testbed = await startDeployTestbed({ timing: { pendingMs: 150, invisibleMs: 300, logFlushMs: 250, healthIntervalMs: 300, ingestionDelayMs: 300 } });
  ({ sandbox, db, ctx } = testbed);
}, 120_000);

afterAll(async () => {
  await testbed?.stop();
});

const s3 = () => ctx.aws(sandbox.region).s3;

/** A tar.gz whose first entry is a Deckhand-looking manifest that says whatever the attacker wants. */
async function forgedBundle(manifest: object, members: Record<string, string>): Promise<Buffer> {
  const pack = tarStream.pack();
  const chunks: Buffer[] = [];
  const gzip = createGzip();
  gzip.on("data", (c: Buffer) => chunks.push(c));
  const done = new Promise((resolve) => gzip.on("end", resolve));
  pack.pipe(gzip);
  pack.entry({ name: ".deckhand/manifest.json" }, JSON.stringify(manifest));
  for (const [name, body] of Object.entries(members)) pack.entry({ name }, body);
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

describe("hostile bundles and floods", () => {
  it("refuses a key Deckhand uploaded once its object's metadata or body no longer matches what was recorded", async () => {
    bumpSampleRepo(sandbox.repoDir, "audit", "recorded-1");
    const a = await settledDeploy(db, await startDeploy(ctx, { environment: "sandbox", services: ["audit"] }));
    await new Promise((r) => setTimeout(r, 1100));
    bumpSampleRepo(sandbox.repoDir, "audit", "recorded-2");
    const b = await settledDeploy(db, await startDeploy(ctx, { environment: "sandbox", services: ["audit"] }));
    expect([a.status, b.status]).toEqual(["succeeded", "succeeded"]);

    // Someone with bucket write swaps the sha256 in the metadata of A.
    await s3().send(new CopyObjectCommand({ Bucket: sandbox.bucket, Key: a.bundleKey, CopySource: `${sandbox.bucket}/${a.bundleKey}`, MetadataDirective: "REPLACE", Metadata: { sha256: "0".repeat(64) } }));
    await expect(previewRedeploy(ctx, { environment: "sandbox", bundleKey: a.bundleKey, services: ["audit"], kind: "rollback" })).rejects.toThrow(/changed in S3 since Deckhand uploaded it/);

    // …or replaces the body (and sets the metadata to match the new body).
    await s3().send(new PutObjectCommand({ Bucket: sandbox.bucket, Key: a.bundleKey, Body: await forgedBundle({ format: 1 }, { "x": "y" }), Metadata: { sha256: a.bundleSha256! } }));
    await expect(previewRedeploy(ctx, { environment: "sandbox", bundleKey: a.bundleKey, services: ["audit"], kind: "rollback" })).rejects.toThrow(/changed in S3 since Deckhand uploaded it/);
  });

  it("refuses a bundle whose embedded manifest claims a service but carries none of its files, and sends nothing", async () => {
    const key = `deployments/acp_audit_${Math.floor(Date.now() / 1000) + 30}.tar.gz`;
    const body = await forgedBundle(
      { format: 1, label: "audit", services: ["audit"], paths: ["services/audit"], replace: [], files: [], git: null, createdAt: new Date().toISOString(), createdBy: "attacker", deckhandVersion: "0.1.0" },
      { "infra/docker-compose.yml": "services: {}\n" },
    );
    await s3().send(new PutObjectCommand({ Bucket: sandbox.bucket, Key: key, Body: body }));
    const before = (await ctx.aws(sandbox.region).ssm.send(new ListCommandsCommand({}))).Commands?.length ?? 0;
    await expect(previewRedeploy(ctx, { environment: "sandbox", bundleKey: key, services: ["audit"], kind: "redeploy" })).rejects.toThrow(/does not carry service "audit"/);
    expect((await ctx.aws(sandbox.region).ssm.send(new ListCommandsCommand({}))).Commands?.length ?? 0).toBe(before);
  });

  it("stores a million output lines within the caps, and the deploy page stays small", async () => {
    const id = newDeployId("flood");
    const script = ["#!/bin/bash", "set -euo pipefail", "seq 1 1000000", 'echo "==> done"', ""].join("\n");
    const started = Date.now();
    await launch(ctx, storedScriptJob(ctx.config, id, "sandbox"), {
      insert: { id, environment: "sandbox", kind: "redeploy", services: ["audit"], label: "flood", bundleKey: "deployments/none.tar.gz", bundleBucket: sandbox.bucket, createdBy: "test", script },
    });
    const deploy = await settledDeploy(db, id);
    for (const run of deploy.hostRuns) {
      expect(run.status).toBe("Success");
      const live = run.chunks.filter((c) => c.stream !== "status");
      expect(live.length).toBeLessThanOrEqual(LIVE_LINES_PER_HOST + 1);
      expect(Buffer.byteLength(run.stdout)).toBeLessThanOrEqual(FULL_OUTPUT_CAP_BYTES);
      expect(run.stdoutTruncated).toBe(true); // ~6.9 MB printed: the first part is kept, the rest stays in S3
    }
    expect(deploy.events.some((e) => /longer than \d+ bytes: the first part is kept/.test(e.message))).toBe(true);
    const view = JSON.stringify(toDeployView((await getDeployDetail(db, id))!));
    expect(view.length).toBeLessThan(2 * (FULL_OUTPUT_CAP_BYTES + LIVE_LINES_PER_HOST * 200));
    console.log(`1,000,000 lines: settled in ${Date.now() - started} ms; deploy view ${(view.length / 1e6).toFixed(1)} MB`);
  }, 240_000);
});
