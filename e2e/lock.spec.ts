// The environment's bucket lock in the dashboard (issue 14): a panel on its own sandbox shows who holds
// the lock a dead laptop left, refuses to deploy naming it, and breaks it from the UI once expired.
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { expect, test } from "@playwright/test";
import Database from "better-sqlite3";

const port = Number(process.env.E2E_PORT ?? 3117) + 2;

test("an expired lock left by another laptop is shown, refuses deploys, and is broken from the dashboard", async ({ page }) => {
  test.setTimeout(240_000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "deckhand-e2e-lock-"));
  const { DECKHAND_CONFIG: _c, DECKHAND_SANDBOX_ROOT: _r, ...inherited } = process.env;
  const db = path.join(tmp, "history.db");
  const env = { ...inherited, TMPDIR: tmp, PORT: String(port), DECKHAND_DB: db, NEXT_TELEMETRY_DISABLED: "1" } as NodeJS.ProcessEnv;
  const child = spawn(process.execPath, ["scripts/start.mjs"], { env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (c) => (output += c));
  child.stderr.on("data", (c) => (output += c));
  try {
    const deadline = Date.now() + 180_000;
    while (!(await fetch(`http://127.0.0.1:${port}/`).then((r) => r.ok).catch(() => false))) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the panel did not start on ${port}:\n${output}`);
      await new Promise((r) => setTimeout(r, 300));
    }
    const startDir = fs.readdirSync(tmp).find((name) => name.startsWith("deckhand-start-"))!;
    const sandbox = JSON.parse(fs.readFileSync(path.join(tmp, startDir, "sandbox.json"), "utf8")) as { env: Record<string, string> };
    const config = JSON.parse(fs.readFileSync(sandbox.env.DECKHAND_CONFIG!, "utf8")) as { environments: { sandbox: { bucket: string; prefix: string } } };
    const s3 = new S3Client({ region: sandbox.env.AWS_REGION, endpoint: sandbox.env.AWS_ENDPOINT_URL_S3, forcePathStyle: true, credentials: { accessKeyId: sandbox.env.AWS_ACCESS_KEY_ID!, secretAccessKey: sandbox.env.AWS_SECRET_ACCESS_KEY! } });
    // What a laptop that died mid-deploy leaves in the bucket: its lock, renewed by nobody.
    const ghost = { environment: "sandbox", owner: "ghost@old-laptop", identity: "arn:aws:iam::000000000000:user/ghost", deployId: "20261123-000000-audit-dead", takenAt: new Date(Date.now() - 60_000).toISOString(), expiresAt: new Date(Date.now() + 4000).toISOString() };
    const { bucket, prefix } = config.environments.sandbox;
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${prefix}.deckhand/locks/sandbox.json`, Body: JSON.stringify(ghost), IfNoneMatch: "*" }));

    await page.goto(`http://127.0.0.1:${port}/`);
    const banner = page.getByTestId("lock-sandbox");
    await expect(banner).toContainText("held by ghost@old-laptop");
    await expect(banner).toContainText("arn:aws:iam::000000000000:user/ghost");
    await expect(banner).toContainText("20261123-000000-audit-dead");
    await expect(page.getByTestId("break-lock")).toHaveCount(0); // not expired yet: nothing to break

    // A deploy is refused, naming the holder.
    await page.getByRole("checkbox", { name: /audit/ }).check();
    await page.getByRole("button", { name: "Deploy", exact: true }).click();
    await expect(page.getByRole("alert").filter({ hasText: "held by ghost@old-laptop" })).toBeVisible();

    // Once expired, it can be broken here; the break is recorded in the history.
    await expect(banner).toContainText("Lock expired", { timeout: 15_000 });
    await page.getByTestId("break-lock").click();
    await expect(banner).toHaveCount(0, { timeout: 15_000 });
    const rows = new Database(db, { readonly: true }).prepare(`SELECT deployId, owner, brokenBy FROM LockBreak`).all() as { deployId: string; owner: string; brokenBy: string }[];
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ deployId: ghost.deployId, owner: "ghost@old-laptop" });

    // The environment is free again: the deploy goes through.
    await page.getByRole("button", { name: "Deploy", exact: true }).click();
    await expect(page).toHaveURL(/\/deploys\//);
    await expect(page.getByTestId("deploy-status")).toHaveText("succeeded", { timeout: 60_000 });
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => (child.exitCode !== null ? r(null) : child.once("exit", r)));
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
