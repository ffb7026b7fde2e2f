import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { isAlive, waitUntil } from "./hosts";
import { startSandbox, type Sandbox } from "./index";
import { FAST_TIMING, runScript, sandboxClients, waitForInvocation } from "./testClients";

interface ControlState {
  hosts: { instanceId: string; port: number; containers: { service: string; pid: number; running: boolean }[] }[];
}
const controlState = async (url: string) => (await (await fetch(`${url}/state`)).json()) as ControlState;
const containerPids = (state: ControlState) => state.hosts.flatMap((h) => h.containers.map((c) => c.pid));

describe("sandbox lifecycle", () => {
  it("two sandboxes run at once, and stop() leaves no process or listener behind", async () => {
    const sandboxes: Sandbox[] = await Promise.all([startSandbox({ timing: FAST_TIMING }), startSandbox({ timing: FAST_TIMING })]);
    const [first, second] = sandboxes as [Sandbox, Sandbox];
    try {
      expect(first.endpoints.alb).not.toBe(second.endpoints.alb);
      for (const sandbox of sandboxes) {
        const response = await fetch(`${sandbox.endpoints.alb}/api/gateway/health`);
        expect(response.status).toBe(200);
        expect(sandbox.hosts.map((h) => h.instanceId)).toContain(response.headers.get("x-deckhand-host"));
      }
      const states = await Promise.all(sandboxes.map((s) => controlState(s.endpoints.control)));
      const pids = states.flatMap(containerPids);
      expect(pids).toHaveLength(12); // 2 sandboxes x 2 hosts x 3 services
      expect(pids.every(isAlive)).toBe(true);

      // A script still running at stop() is killed with its whole process group.
      const pidFile = path.join(os.tmpdir(), `deckhand-sandbox-test-${process.pid}-${Date.now()}`);
      const clients = sandboxClients(first);
      const host = first.hosts[0]!.instanceId;
      const commandId = await runScript(first, clients.ssm, `#!/bin/bash\nsleep 60 &\necho "$$ $!" > '${pidFile}'\nwait\n`, { instanceIds: [host] });
      await waitForInvocation(clients.ssm, commandId, host, (o) => o.Status === "InProgress");
      expect(await waitUntil(() => fs.existsSync(pidFile) && fs.readFileSync(pidFile, "utf8").includes(" "), 5000)).toBe(true);
      const scriptPids = fs.readFileSync(pidFile, "utf8").trim().split(" ").map(Number);
      fs.rmSync(pidFile);
      expect(scriptPids.every(isAlive)).toBe(true);

      await first.stop();
      expect(pids.slice(0, 6).every((pid) => !isAlive(pid))).toBe(true);
      expect(scriptPids.every((pid) => !isAlive(pid))).toBe(true);
      await expect(fetch(`${first.endpoints.alb}/health`)).rejects.toThrow();
      await expect(fetch(`http://127.0.0.1:${first.hosts[0]!.port}/health`)).rejects.toThrow();
      expect(fs.existsSync(first.root)).toBe(false); // a temp root is removed

      // The other sandbox is untouched by the first one's stop.
      expect((await fetch(`${second.endpoints.alb}/health`)).status).toBe(200);
      await second.stop();
      expect(pids.every((pid) => !isAlive(pid))).toBe(true);
    } finally {
      await Promise.all(sandboxes.map((s) => s.stop()));
    }
  });

  it("`npm run sandbox` (cli.ts) writes --endpoints-file when ready and stops cleanly on SIGTERM", async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "deckhand-sandbox-cli-"));
    const envFile = path.join(root, "sandbox.json");
    const tsx = path.resolve("node_modules/.bin/tsx");
    const cli = spawn(tsx, ["lib/sandbox/cli.ts", "--endpoints-file", envFile], { env: { ...process.env, DECKHAND_SANDBOX_ROOT: root }, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    cli.stdout.on("data", (chunk) => (output += chunk));
    cli.stderr.on("data", (chunk) => (output += chunk));
    const exited = new Promise<number | null>((resolve) => cli.on("exit", (code) => resolve(code)));
    try {
      expect(await waitUntil(() => fs.existsSync(envFile), 30_000), output).toBe(true);
      const written = JSON.parse(fs.readFileSync(envFile, "utf8"));
      expect(Object.keys(written).sort()).toEqual(["configPath", "endpoints", "env", "hosts", "root"]);
      expect(written.root).toBe(root);
      expect(written.env.AWS_ENDPOINT_URL_S3).toBe(written.endpoints.s3);
      expect(output).toContain(`AWS_ENDPOINT_URL_SSM=${written.endpoints.ssm}`);
      const pids = containerPids(await controlState(written.endpoints.control));
      expect(pids).toHaveLength(6);
      cli.kill("SIGTERM");
      expect(await exited).toBe(0);
      expect(await waitUntil(() => pids.every((pid) => !isAlive(pid)), 5000)).toBe(true);
      expect(fs.existsSync(path.join(root, "repo/.git"))).toBe(true); // a given root is kept
    } finally {
      cli.kill("SIGKILL");
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
