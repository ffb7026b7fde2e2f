// "The bucket as it is today" (issue 12): bundles made with the runbooks' own commands, put in the
// bucket with a plain S3 PutObject, deployed through Deckhand.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildSampleUi, bumpSampleRepo, type Sandbox } from "../sandbox";
import { bundlesPage } from "./bundles";
import type { DeployContext } from "./context";
import { previewRedeploy, startRedeploy } from "./redeploy";
import { repoOnHost, settledDeploy, startDeployTestbed, type DeployTestbed } from "./test-sandbox";

let testbed: DeployTestbed;
let sandbox: Sandbox;
let ctx: DeployContext;

beforeAll(async () => {
  testbed = await startDeployTestbed({ timing: { pendingMs: 150, invisibleMs: 300, logFlushMs: 250, healthIntervalMs: 300 } });
  ({ sandbox, ctx } = testbed);
}, 120_000);

afterAll(async () => {
  await testbed?.stop();
});

/** A plain S3 upload, as `aws s3 cp` does: no Deckhand metadata, no manifest. */
async function putObject(key: string, file: string) {
  const s3 = new S3Client({ region: sandbox.region, forcePathStyle: true });
  await s3.send(new PutObjectCommand({ Bucket: sandbox.bucket, Key: key, Body: fs.readFileSync(file) }));
}

/** A copy of the sample repo's UI with a new version, built: what the operator's laptop holds. */
function builtUi(version: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "deckhand-ui-"));
  fs.cpSync(path.join(sandbox.repoDir, "ui"), path.join(dir, "ui"), { recursive: true });
  bumpSampleRepo(dir, "ui", version);
  buildSampleUi(dir);
  return path.join(dir, "ui");
}

async function albHashes(count: number) {
  for (let i = 0; i < 100; i++) {
    const state = (await (await fetch(`${sandbox.endpoints.control}/state`)).json()) as { hosts: { albHealthy: boolean }[] };
    if (state.hosts.every((h) => h.albHealthy)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const seen: { host: string; hash: string }[] = [];
  for (let i = 0; i < count; i++) {
    const response = await fetch(sandbox.endpoints.alb + "/");
    seen.push({ host: response.headers.get("x-deckhand-host") ?? "", hash: /index-[A-Za-z0-9_-]+\.js/.exec(await response.text())?.[0] ?? "" });
  }
  return seen;
}

describe("bundles made with the runbooks' own commands", () => {
  it("deploys seeds/000's UI bundle (`tar czf … -C dist .`) into ui/dist; the ALB serves its index-*.js from both hosts", async () => {
    const ui = builtUi("7.7.7-by-hand");
    const hash = fs.readdirSync(path.join(ui, "dist/assets")).find((f) => /^index-.*\.js$/.test(f))!;
    const tarball = path.join(path.dirname(ui), "x.tar.gz");
    execFileSync("tar", ["czf", tarball, "-C", path.join(ui, "dist"), "."]);
    const key = `deployments/acp_ui_${Math.floor(Date.now() / 1000)}.tar.gz`;
    await putObject(key, tarball);

    const page = await bundlesPage(ctx, "sandbox", 1, 50, true);
    expect(page.rows.find((r) => r.key === key)).toMatchObject({ layout: "static", outsideDeckhand: true });

    const preview = await previewRedeploy(ctx, { environment: "sandbox", bundleKey: key, services: ["ui"], kind: "redeploy" });
    expect(preview.layout).toBe("static");
    expect(preview.madeOutsideDeckhand).toBe(true);
    expect(preview.script).toContain(`sudo tar xzf "$TMP" -C "$REPO"/'ui/dist' --no-same-owner`);
    expect(preview.diff.some((d) => d.path === `ui/dist/assets/${hash}`)).toBe(true);

    const deploy = await settledDeploy(testbed.db, await startRedeploy(ctx, { environment: "sandbox", bundleKey: key, services: ["ui"], kind: "redeploy", planSha256: preview.planSha256 }));
    expect(deploy.status, deploy.error ?? "").toBe("succeeded");
    for (const host of sandbox.hosts) {
      expect(fs.existsSync(path.join(repoOnHost(sandbox, host), "ui/dist/assets", hash))).toBe(true);
      expect(fs.existsSync(path.join(repoOnHost(sandbox, host), "ui/dist/dist"))).toBe(false);
      expect(fs.existsSync(path.join(repoOnHost(sandbox, host), "ui/nginx.conf"))).toBe(true); // not replaced: only ui/dist is
    }
    const answers = await albHashes(6);
    expect(new Set(answers.map((a) => a.host)).size).toBe(2);
    expect(answers.every((a) => a.hash === hash)).toBe(true);

    // Deployed once, it is listed (and redeployable) as the static bundle it is.
    const after = await bundlesPage(ctx, "sandbox", 1, 50, true);
    expect(after.rows.find((r) => r.key === key)).toMatchObject({ layout: "static", deployId: deploy.id });
  }, 90_000);

  it("keeps acp_<service>_<stamp> with repo-relative paths working, lists deploy-bundle-<version> by version, and asks for a layout for an unknown key", async () => {
    bumpSampleRepo(sandbox.repoDir, "audit", "8.8.8");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "deckhand-hand-"));
    const audit = path.join(dir, "audit.tar.gz");
    execFileSync("tar", ["czf", audit, "-C", sandbox.repoDir, "services/audit/"]);
    const stamp = Math.floor(Date.now() / 1000);
    await putObject(`deployments/acp_audit_${stamp}.tar.gz`, audit);
    await putObject("deployments/hotfix-audit-final.tar.gz", audit);
    execFileSync("tar", ["czf", path.join(dir, "systemd.tar.gz"), "-C", sandbox.repoDir, "VERSION", "deploy"]);
    await putObject("deployments/deploy-bundle-0.1.30-dev.tar.gz", path.join(dir, "systemd.tar.gz"));

    const page = await bundlesPage(ctx, "sandbox", 1, 50, true);
    const row = (key: string) => page.rows.find((r) => r.key === key);
    expect(row(`deployments/acp_audit_${stamp}.tar.gz`)).toMatchObject({ layout: "repo", services: ["audit"] });
    expect(row("deployments/deploy-bundle-0.1.30-dev.tar.gz")).toMatchObject({ layout: "systemd", version: "0.1.30-dev" });
    expect(row("deployments/hotfix-audit-final.tar.gz")).toMatchObject({ layout: "unknown" });

    const byKey = await previewRedeploy(ctx, { environment: "sandbox", bundleKey: `deployments/acp_audit_${stamp}.tar.gz`, services: ["audit"], kind: "redeploy" });
    expect(byKey.layout).toBe("repo");
    expect(byKey.script).toContain(`-- 'services/audit'`);

    const unknown = { environment: "sandbox", bundleKey: "deployments/hotfix-audit-final.tar.gz", services: ["audit"], kind: "redeploy" as const };
    await expect(previewRedeploy(ctx, unknown)).rejects.toThrow(/unknown layout.*choose a layout/);
    await expect(previewRedeploy(ctx, { ...unknown, layout: "static" })).rejects.toThrow(/static service/);
    const chosen = await previewRedeploy(ctx, { ...unknown, layout: "repo" });
    const deploy = await settledDeploy(testbed.db, await startRedeploy(ctx, { ...unknown, layout: "repo", planSha256: chosen.planSha256 }));
    expect(deploy.status, deploy.error ?? "").toBe("succeeded");
    for (const host of sandbox.hosts) expect(fs.readFileSync(path.join(repoOnHost(sandbox, host), "services/audit/VERSION"), "utf8").trim()).toBe("8.8.8");
  }, 90_000);

  it("refuses a hand-made bundle whose members or links reach outside where they go", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "deckhand-evil-"));
    fs.mkdirSync(path.join(dir, "dist"));
    fs.writeFileSync(path.join(dir, "dist/index.html"), "<html></html>");
    fs.symlinkSync("/etc", path.join(dir, "dist/assets"));
    const file = path.join(dir, "evil.tar.gz");
    execFileSync("tar", ["czf", file, "-C", path.join(dir, "dist"), "."]);
    const key = `deployments/acp_ui_${Math.floor(Date.now() / 1000) + 5}.tar.gz`;
    await putObject(key, file);
    await expect(previewRedeploy(ctx, { environment: "sandbox", bundleKey: key, services: ["ui"], kind: "redeploy" })).rejects.toThrow(/member no host should extract \("assets" → "\/etc"\)/);
  });
});
