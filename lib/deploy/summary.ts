import { summaryText, type DeploySummary } from "../notify/summary";
import { postSummary } from "../notify/webhook";
import { latestCheckRun } from "../history/checks";
import { currentHostRuns, getDeploy, recordEvent } from "../history/deploys";
import type { Db } from "../history/db";
import { statusWords } from "./status";

const OUTCOME_WORDS: Record<string, string> = { checks_failed: "deployed, checks failed", lost_contact: "lost contact" };

/** What the hosts ran before this deploy, per host: the newest earlier successful run of another bundle for these services. */
async function previousBundlePerHost(db: Db, deploy: { id: string; environment: string; createdAt: Date }, instanceIds: string[]) {
  const earlier = await db.hostRun.findMany({
    where: { instanceId: { in: instanceIds }, status: "Success", deploy: { environment: deploy.environment, createdAt: { lt: deploy.createdAt }, kind: { not: "action" } } },
    orderBy: { startedAt: "desc" },
    take: 50,
    select: { instanceId: true, deploy: { select: { bundleKey: true } } },
  });
  const found = new Map<string, string>();
  for (const run of earlier) if (!found.has(run.instanceId)) found.set(run.instanceId, run.deploy.bundleKey);
  return found;
}

/** seeds/003's notification for one deploy, rollback or action, from what history recorded. */
export async function deploySummaryText(db: Db, deployId: string): Promise<string | null> {
  const deploy = await getDeploy(db, deployId);
  if (!deploy) return null;
  const runs = await currentHostRuns(db, deployId);
  const before = await previousBundlePerHost(db, deploy, runs.map((r) => r.instanceId));
  const check = await latestCheckRun(db, deployId);
  const checks = check ? (JSON.parse(check.checks) as { name: string; ok: boolean; problem?: string | null }[]) : null;
  const targets = check?.targets ? (JSON.parse(check.targets) as { instanceId: string; name?: string; state: string; reason?: string | null }[]) : null;
  const services = JSON.parse(deploy.services) as string[];
  const summary: DeploySummary = {
    kind: deploy.kind === "action" ? "action" : deploy.kind === "rollback" ? "rollback" : "deploy",
    environment: deploy.environment,
    what: services.join(" + "),
    outcome: OUTCOME_WORDS[deploy.status] ?? statusWords(deploy.status),
    bundleKey: deploy.kind === "action" ? null : deploy.bundleKey,
    hosts: runs.map((run) => ({ name: run.hostName, instanceId: run.instanceId, from: before.get(run.instanceId) ?? null, to: run.status === "Success" ? deploy.bundleKey : (before.get(run.instanceId) ?? null), status: run.status })),
    checks: checks?.map((c) => ({ name: c.name, ok: c.ok, problem: c.problem ?? null })) ?? null,
    targets: targets?.map((t) => ({ instanceId: t.instanceId, name: t.name, state: t.state, reason: t.reason ?? null })) ?? null,
    rollbackTarget: [...new Set(before.values())][0] ?? null,
    change: deploy.error,
    who: deploy.createdBy,
  };
  return summaryText(summary);
}

/** After a deploy ends: the summary POSTed to the webhook when one is configured; a failure is recorded, never fatal. */
export async function notifyEnd(db: Db, deployId: string): Promise<void> {
  const text = await deploySummaryText(db, deployId);
  if (!text) return;
  const result = await postSummary(text);
  if (result.ok) await recordEvent(db, deployId, "notify", `summary posted to the webhook (HTTP ${result.status})`);
  else if (!("skipped" in result && result.skipped)) await recordEvent(db, deployId, "notify", `the summary could not be posted: ${result.error}`);
}
