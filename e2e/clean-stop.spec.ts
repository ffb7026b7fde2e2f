// Clean stops (issue 14): SIGTERM to `npm start` (scripts/start.mjs) stops the panel, the sandbox and
// every process they started, and removes the temp directories it made. Runs after `next build`
// (start.mjs would build otherwise), on its own port beside the journeys' server.
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect, test } from "@playwright/test";

const port = Number(process.env.E2E_PORT ?? 3117) + 1;

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

/**
 * Starts `node scripts/start.mjs` with a private TMPDIR, so every temp dir it makes (deckhand-start-*,
 * the sandbox root deckhand-sandbox-*) is its own and can be checked, beside other runs on the machine.
 */
/** Deckhand's own temp dirs in `tmp` (tsx keeps its shared compile cache there too: not ours). */
const ours = (tmp: string) => fs.readdirSync(tmp).filter((name) => name.startsWith("deckhand-"));

function startPanel(tmp: string) {
  // No config, no DB, no sandbox root: start.mjs makes (and must remove) its own.
  const { DECKHAND_CONFIG: _c, DECKHAND_DB: _d, DECKHAND_SANDBOX_ROOT: _r, ...inherited } = process.env;
  const env = { ...inherited, TMPDIR: tmp, PORT: String(port), NEXT_TELEMETRY_DISABLED: "1" } as NodeJS.ProcessEnv;
  const child = spawn(process.execPath, ["scripts/start.mjs"], { env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (c) => (output += c));
  child.stderr.on("data", (c) => (output += c));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const stop = async () => {
    child.kill("SIGTERM");
    await Promise.race([exited, new Promise((_, reject) => setTimeout(() => reject(new Error(`npm start did not exit within 20 s of SIGTERM:\n${output}`)), 20_000))]);
  };
  return { child, stop, output: () => output };
}

test("SIGTERM of npm start once it serves leaves no process and no temp directory", async () => {
  test.setTimeout(240_000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "deckhand-e2e-clean-"));
  const panel = startPanel(tmp);
  try {
    await waitFor(
      `the panel on port ${port}`,
      async () => (await fetch(`http://127.0.0.1:${port}/`).then((r) => r.ok).catch(() => false)) || panel.child.exitCode !== null,
      180_000,
    );
    expect(panel.child.exitCode, panel.output()).toBeNull();
    const made = ours(tmp);
    expect(made.filter((name) => name.startsWith("deckhand-start-"))).toHaveLength(1);
    const startDir = path.join(tmp, made.find((name) => name.startsWith("deckhand-start-"))!);
    const { root } = JSON.parse(fs.readFileSync(path.join(startDir, "sandbox.json"), "utf8")) as { root: string };
    expect(path.dirname(root)).toBe(tmp);
    const running = family(panel.child.pid!, root);
    // start.mjs's children (panel, sandbox) and the sandbox's containers (detached: found by their environment).
    expect(running.length).toBeGreaterThanOrEqual(4);

    await panel.stop();
    await waitFor("every process npm start made to end", () => running.every((pid) => !alive(pid)), 5_000).catch(() => undefined);
    expect(running.filter(alive), "still running after SIGTERM").toEqual([]);
    expect(family(panel.child.pid!, root), "processes naming the sandbox root").toEqual([]);
    expect(ours(tmp), "temp directories left behind").toEqual([]);
  } finally {
    if (panel.child.exitCode === null) panel.child.kill("SIGKILL");
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test("SIGTERM while the sandbox is still starting leaves no process and no temp directory", async () => {
  test.setTimeout(120_000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "deckhand-e2e-clean-"));
  const panel = startPanel(tmp);
  try {
    // The sandbox's root exists (it is provisioning hosts) but it has not said it is ready.
    await waitFor("the sandbox root to be made", () => fs.readdirSync(tmp).some((name) => name.startsWith("deckhand-sandbox-")) || panel.child.exitCode !== null, 60_000);
    const startDir = fs.readdirSync(tmp).find((name) => name.startsWith("deckhand-start-"));
    expect(startDir, panel.output()).toBeDefined();
    expect(fs.existsSync(path.join(tmp, startDir!, "sandbox.json"))).toBe(false);
    const root = path.join(tmp, fs.readdirSync(tmp).find((name) => name.startsWith("deckhand-sandbox-"))!);
    await panel.stop();
    await waitFor("every process naming the sandbox root to end", () => family(panel.child.pid!, root).length === 0, 5_000).catch(() => undefined);
    expect(family(panel.child.pid!, root), "processes naming the sandbox root").toEqual([]);
    expect(ours(tmp), "temp directories left behind").toEqual([]);
  } finally {
    if (panel.child.exitCode === null) panel.child.kill("SIGKILL");
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
