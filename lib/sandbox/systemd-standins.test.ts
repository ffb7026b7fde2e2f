// The systemd profile's stand-ins (systemctl, docker login/pull/run, aws ecr) are as strict as the real
// tools where Deckhand relies on them: run directly, as a host script would, in a throwaway host.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isAlive, waitUntil } from "./hosts";

const BIN = path.join(path.dirname(fileURLToPath(import.meta.url)), "bin");
const REGISTRY = "000000000000.dkr.ecr.ap-south-1.amazonaws.com";
let root: string;
let env: Record<string, string>;

function sh(script: string) {
  const result = spawnSync("bash", ["-c", script], { env: env as NodeJS.ProcessEnv, encoding: "utf8", timeout: 30_000 });
  return { code: result.status, out: result.stdout, err: result.stderr };
}

beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), "deckhand-standins-"));
  const system = path.join(root, "system");
  for (const dir of ["state/containers", "system/etc/systemd/system", "system/opt/atta", `registry/${REGISTRY}/atta`]) fs.mkdirSync(path.join(root, dir), { recursive: true });
  fs.writeFileSync(path.join(root, `registry/${REGISTRY}/atta/1.0.0.json`), JSON.stringify({ digest: "sha256:" + "1".repeat(64), version: "1.0.0" }));
  env = {
    PATH: `${BIN}:${path.dirname(process.execPath)}:/usr/bin:/bin`,
    DECKHAND_SANDBOX_HOST_STATE: path.join(root, "state"),
    DECKHAND_SANDBOX_SYSTEM_ROOT: system,
    DECKHAND_SANDBOX_REGISTRY_DIR: path.join(root, "registry"),
    DECKHAND_SANDBOX_OWNER_PID: String(process.pid),
  };
  const unit = (tag: string) =>
    `[Service]\nType=simple\nEnvironmentFile=/opt/atta/.env\nExecStart=/usr/bin/docker run --rm --name atta \${ECR_REGISTRY}/atta:${tag}\n`;
  fs.writeFileSync(path.join(system, "etc/systemd/system/atta.service"), unit("${IMAGE_TAG}"));
  fs.writeFileSync(path.join(system, "opt/atta/.env"), `ECR_REGISTRY=${REGISTRY}\nIMAGE_TAG=1.0.0\n`);
});

afterAll(() => {
  sh("systemctl stop atta");
  fs.rmSync(root, { recursive: true, force: true });
});

describe("systemd profile stand-ins", () => {
  it("docker pull needs an ECR login with a token for the registry's own region, and a pushed tag", () => {
    expect(sh(`docker pull ${REGISTRY}/atta:1.0.0`)).toMatchObject({ code: 1, err: expect.stringContaining("no basic auth credentials") });
    expect(sh(`aws ecr get-login-password --region us-east-1 | docker login --username AWS --password-stdin ${REGISTRY}`)).toMatchObject({ code: 1, err: expect.stringContaining("400 Bad Request") });
    expect(sh(`aws ecr get-login-password --region ap-south-1 | docker login --username AWS --password-stdin ${REGISTRY}`)).toMatchObject({ code: 0, out: "Login Succeeded\n" });
    expect(sh(`docker pull ${REGISTRY}/atta:9.9.9`)).toMatchObject({ code: 1, err: expect.stringContaining("manifest unknown") });
    expect(sh(`docker pull ${REGISTRY}/atta:1.0.0`).code).toBe(0);
  });

  it("systemctl knows a unit only after daemon-reload, runs it, reports active, and failed when it dies", async () => {
    expect(sh("systemctl restart atta.service")).toMatchObject({ code: 5, err: expect.stringContaining("Unit atta.service not found") });
    expect(sh("systemctl daemon-reload && systemctl restart atta.service").code).toBe(0);
    expect(sh("systemctl is-active atta.service")).toMatchObject({ code: 0, out: "active\n" });
    const state = () => JSON.parse(fs.readFileSync(path.join(root, "state/systemd/atta.service.json"), "utf8")) as { pid: number };
    // A changed unit file is ignored, with systemd's warning, until the next daemon-reload.
    fs.appendFileSync(path.join(root, "system/etc/systemd/system/atta.service"), "# changed\n");
    expect(sh("systemctl restart atta").err).toContain("changed on disk. Run 'systemctl daemon-reload'");
    expect(await waitUntil(() => fs.existsSync(path.join(root, "state/containers/atta.json")), 5000)).toBe(true);
    const container = JSON.parse(fs.readFileSync(path.join(root, "state/containers/atta.json"), "utf8")) as { pid: number; port: number };
    expect(await waitUntil(() => isAlive(container.pid), 5000)).toBe(true);
    const health = (await (await fetch(`http://127.0.0.1:${container.port}/health`)).json()) as { version: string };
    expect(health.version).toBe("1.0.0");
    // The main process dies on its own: failed, not inactive.
    process.kill(state().pid, "SIGKILL");
    expect(await waitUntil(() => !isAlive(state().pid), 5000)).toBe(true);
    expect(sh("systemctl is-active --quiet atta")).toMatchObject({ code: 3, out: "" });
    expect(sh("systemctl is-active atta").out).toBe("failed\n");
    expect(sh("systemctl status atta --no-pager")).toMatchObject({ code: 3, out: expect.stringContaining("Active: failed") });
    // systemd would take the unit's whole cgroup down; here the orphaned container goes by hand.
    process.kill(container.pid, "SIGKILL");
    expect(await waitUntil(() => !isAlive(container.pid), 5000)).toBe(true);
  }, 30_000);

  it("a unit whose image was never pulled fails to start", () => {
    fs.writeFileSync(path.join(root, "system/opt/atta/.env"), `ECR_REGISTRY=${REGISTRY}\nIMAGE_TAG=2.0.0\n`);
    sh("systemctl daemon-reload && systemctl restart atta");
    const deadline = Date.now() + 5000;
    let state = "";
    while (Date.now() < deadline && (state = sh("systemctl is-active atta").out.trim()) === "active") spawnSync("sleep", ["0.1"]);
    expect(state).toBe("failed");
    expect(fs.readFileSync(path.join(root, "state/systemd/atta.service.journal"), "utf8")).toContain(`Unable to find image '${REGISTRY}/atta:2.0.0' locally`);
  });
});
