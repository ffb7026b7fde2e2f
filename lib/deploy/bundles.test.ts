// The bundles list over thousands of keys: ListObjectsV2 paging against the sandbox S3.
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Sandbox } from "../sandbox";
import { bundlesPage } from "./bundles";
import type { DeployContext } from "./context";
import { startDeployTestbed, type DeployTestbed } from "./test-sandbox";

let testbed: DeployTestbed;
let sandbox: Sandbox;
let ctx: DeployContext;
const KEYS = 5_000;

beforeAll(async () => {
  testbed = await startDeployTestbed();
  ({ sandbox, ctx } = testbed);
  const s3 = ctx.aws(sandbox.region).s3;
  const base = 1_700_000_000;
  const services = ["ui", "audit", "gateway", "multi"];
  for (let start = 0; start < KEYS; start += 100) {
    await Promise.all(
      Array.from({ length: Math.min(100, KEYS - start) }, (_, i) => {
        const n = start + i;
        return s3.send(new PutObjectCommand({ Bucket: sandbox.bucket, Key: `deployments/acp_${services[n % 4]}_${base + n}.tar.gz`, Body: `bundle ${n}` }));
      }),
    );
  }
  await s3.send(new PutObjectCommand({ Bucket: sandbox.bucket, Key: "deployments/notes.txt", Body: "not a bundle" }));
}, 180_000);

afterAll(async () => {
  await testbed?.stop();
});

describe("bundles list", () => {
  it("pages through 5,000 keys and shows them newest first, 50 at a time", async () => {
    const started = Date.now();
    const first = await bundlesPage(ctx, "sandbox", 1, 50, true);
    const firstMs = Date.now() - started;
    expect(first.total).toBe(KEYS);
    expect(first.rows).toHaveLength(50);
    const times = first.rows.map((r) => Date.parse(r.lastModified));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    expect(first.rows[0].fileName).toBe(`acp_multi_${1_700_000_000 + KEYS - 1}.tar.gz`);

    const again = Date.now();
    const last = await bundlesPage(ctx, "sandbox", 100, 50);
    const cachedMs = Date.now() - again;
    expect(last.page).toBe(100);
    expect(last.rows).toHaveLength(50);
    const allKeys = new Set([...first.rows, ...last.rows].map((r) => r.key));
    expect(allKeys.size).toBe(100);
    // key-name labels: a "multi" bundle's services are unknown without its manifest
    expect(last.rows.find((r) => r.fileName.startsWith("acp_multi_"))?.servicesFrom).toBe("unknown");
    expect(last.rows.find((r) => r.fileName.startsWith("acp_audit_"))).toMatchObject({ services: ["audit"], servicesFrom: "key name", outsideDeckhand: true });
    // the sandbox bucket has no lifecycle rule: the operator is warned
    expect(first.lifecycleWarning).toMatch(/No lifecycle rule|could not be read/);
    console.log(`bundles list: first page of ${KEYS} keys in ${firstMs} ms (full listing), page 100 in ${cachedMs} ms (cached listing)`);
  });
});
