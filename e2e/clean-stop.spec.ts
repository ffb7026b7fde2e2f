// Clean stops (issue 14): SIGTERM to `npm start` (scripts/start.mjs) stops the panel, the sandbox and
// every process they started, and removes the temp directories it made. Runs after `next build`
// (start.mjs would build otherwise), on its own port beside the journeys' server.
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect, test } from "@playwright/test";

const port = Number(process.env.E2E_PORT ?? 3117) + 1;

const startDirs = () => new Set(fs.readdirSync(os.tmpdir()).filter((name) => name.startsWith("deckhand-start-")).map((name) => path.join(os.tmpdir(), name)));

/** Alive and not a zombie. */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

/** Every process whose parent chain leads to `root`, or whose environment names `marker` (detached ones too). */
function family(root: number, marker: string): number[] {
  const parent = new Map<number, number>();
  const found = new Set<number>();
  for (const entry of fs.readdirSync("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
      parent.set(pid, Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
      if (fs.readFileSync(`/proc/${pid}/environ`, "utf8").includes(marker)) found.add(pid);
    } catch {
      // gone, or not ours to read
    }
  }
  for (const pid of parent.keys()) {
    for (let at: number | undefined = pid, hops = 0; at && hops < 64; at = parent.get(at), hops++) {
      if (at === root) found.add(pid);
    }
  }
  return [...found].filter(alive);
}

async function waitFor(what: string, ok: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test("SIGTERM of npm start leaves no process and no temp directory", async () => {
  test.setTimeout(240_000);
  const before = startDirs();
  // No config, no DB, no sandbox root: start.mjs makes (and must remove) its own.
  const { DECKHAND_CONFIG: _c, DECKHAND_DB: _d, DECKHAND_SANDBOX_ROOT: _r, ...inherited } = process.env;
  const env = { ...inherited, PORT: String(port), NEXT_TELEMETRY_DISABLED: "1" } as NodeJS.ProcessEnv;
  const child = spawn(process.execPath, ["scripts/start.mjs"], { env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (c) => (output += c));
  child.stderr.on("data", (c) => (output += c));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  try {
    await waitFor(
      `the panel on port ${port}`,
      async () => (await fetch(`http://127.0.0.1:${port}/api/overview`).then((r) => r.ok).catch(() => false)) || child.exitCode !== null,
      180_000,
    );
    expect(child.exitCode, output).toBeNull();
    const made = [...startDirs()].filter((dir) => !before.has(dir));
    expect(made).toHaveLength(1);
    const { root } = JSON.parse(fs.readFileSync(path.join(made[0]!, "sandbox.json"), "utf8")) as { root: string };
    expect(fs.existsSync(root)).toBe(true);
    const running = family(child.pid!, root);
    // start.mjs's children (panel, sandbox) and the sandbox's containers at least.
    expect(running.length).toBeGreaterThanOrEqual(4);

    child.kill("SIGTERM");
    await Promise.race([exited, new Promise((_, reject) => setTimeout(() => reject(new Error(`npm start did not exit within 15 s of SIGTERM:\n${output}`)), 15_000))]);
    await waitFor("every process npm start made to end", () => running.every((pid) => !alive(pid)), 5_000).catch(() => undefined);
    expect(running.filter(alive), "still running after SIGTERM").toEqual([]);
    expect(family(child.pid!, root), "processes naming the sandbox root").toEqual([]);
    expect(fs.existsSync(made[0]!), `${made[0]} left behind`).toBe(false);
    expect(fs.existsSync(root), `${root} left behind`).toBe(false);
  } finally {
    if (child.exitCode === null) child.kill("SIGKILL");
  }
});
