// Test support for the deploy integration tests: a sandbox, a fresh history and a context on both.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadConfig } from "../config/load";
import { openDatabase, type Db } from "../history/db";
import { getDeployDetail } from "../history/deploys";
import { startSandbox, type Sandbox, type SandboxOptions } from "../sandbox";
import { createDeployContext, type DeployContext } from "./context";
import { jobSettled } from "./jobs";

export interface DeployTestbed {
  sandbox: Sandbox;
  db: Db;
  ctx: DeployContext;
  /** The folder holding the history database (and its WAL), for tests that read the bytes on disk. */
  dbDir: string;
  stop(): Promise<void>;
}

/** Starts a sandbox, points the SDK's standard env variables at it, and opens an empty history. */
export async function startDeployTestbed(options: SandboxOptions = {}, pollIntervalMs = 250, liveTailGraceMs = 2000): Promise<DeployTestbed> {
  const sandbox = await startSandbox(options);
  Object.assign(process.env, sandbox.env);
  const dbDir = fs.mkdtempSync(path.join(os.tmpdir(), "deckhand-test-history-"));
  const db = openDatabase(path.join(dbDir, "history.db"));
  const ctx = createDeployContext(await loadConfig(sandbox.configPath), db, { pollIntervalMs, liveTailGraceMs });
  return {
    sandbox,
    db,
    ctx,
    dbDir,
    async stop() {
      await db.$disconnect();
      await sandbox.stop();
    },
  };
}

/** Where a host keeps the repo the host script cds into, seen from this machine. */
export function repoOnHost(sandbox: Sandbox, host: Sandbox["hosts"][number]): string {
  return path.join(host.fsRoot, path.relative(path.join(sandbox.root, "ec2"), sandbox.remoteRepoPath));
}

/** Waits for a deploy's background job and returns what the history holds for it. */
export async function settledDeploy(db: Db, id: string) {
  await jobSettled(id);
  const detail = await getDeployDetail(db, id);
  if (!detail) throw new Error(`deploy ${id} not recorded`);
  return detail;
}

/** Waits for a condition with a deadline; fails saying what it waited for and the last value seen. */
export async function waitFor<T>(what: string, read: () => T | Promise<T>, ok: (value: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last value: ${JSON.stringify(value)?.slice(0, 400)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
