import type { Db } from "./db";
import { notifyDeploy } from "./feed";

export interface NewCheckRun {
  deployId: string;
  trigger: "deploy" | "rerun";
  ok: boolean;
  checks: unknown;
  hosts: unknown;
  wrongHosts: unknown;
  targets: unknown | null;
  summary: string;
}

/** Records one verification (results already redacted by lib/checks). */
export async function recordCheckRun(db: Db, run: NewCheckRun) {
  const row = await db.checkRun.create({
    data: {
      deployId: run.deployId,
      trigger: run.trigger,
      ok: run.ok,
      checks: JSON.stringify(run.checks),
      hosts: JSON.stringify(run.hosts),
      wrongHosts: JSON.stringify(run.wrongHosts),
      targets: run.targets === null ? null : JSON.stringify(run.targets),
      summary: run.summary,
    },
  });
  notifyDeploy(run.deployId); // the deploy page's open stream shows it at once
  return row;
}

export async function listCheckRuns(db: Db, deployId: string) {
  return db.checkRun.findMany({ where: { deployId }, orderBy: { id: "asc" } });
}

export async function latestCheckRun(db: Db, deployId: string) {
  return db.checkRun.findFirst({ where: { deployId }, orderBy: { id: "desc" } });
}
