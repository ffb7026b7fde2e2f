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
  stop(): Promise<void>;
}

/** Starts a sandbox, points the SDK's standard env variables at it, and opens an empty history. */
export async function startDeployTestbed(options: SandboxOptions = {}, pollIntervalMs = 250, liveTailGraceMs = 2000): Promise<DeployTestbed> {
  const sandbox = await startSandbox(options);
  Object.assign(process.env, sandbox.env);
  const db = openDatabase(path.join(fs.mkdtempSync(path.join(os.tmpdir(), "deckhand-test-history-")), "history.db"));
  const ctx = createDeployContext(await loadConfig(sandbox.configPath), db, { pollIntervalMs, liveTailGraceMs });
  return {
    sandbox,
    db,
    ctx,
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
