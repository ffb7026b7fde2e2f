import { describePing } from "../aws/ssm";
import { readGitInfo } from "../bundle/pack";
import { environmentOf } from "../config/load";
import { findActiveDeploy } from "../history/deploys";
import { liveAndRollbackTargets } from "../history/live";
import type { DeployContext } from "./context";
import { statusWords } from "./status";

import type { ChecklistItem } from "./checklist-rule";

export type { ChecklistItem } from "./checklist-rule";

/**
 * seeds/003's pre-deploy checklist, computed now: checks green, no deploy running, a rollback target
 * for each chosen service, the source tree, hosts online. It informs; the operator may go ahead
 * anyway with a typed reason, which is recorded with the deploy.
 */
export async function preDeployChecklist(ctx: DeployContext, environmentName: string, services: string[]): Promise<ChecklistItem[]> {
  const environment = environmentOf(ctx.config, environmentName);
  const [active, live, git, ping, lastChecks] = await Promise.all([
    findActiveDeploy(ctx.db, environmentName),
    liveAndRollbackTargets(ctx.db, environmentName),
    readGitInfo(ctx.config.repo),
    describePing(ctx.aws(environment.region).ssm, environment.hosts.map((h) => h.instanceId)).catch(() => null),
    ctx.db.checkRun.findFirst({ where: { deploy: { environment: environmentName } }, orderBy: { id: "desc" }, select: { ok: true, summary: true, deployId: true } }),
  ]);
  const offline = ping ? environment.hosts.filter((h) => ping.get(h.instanceId)?.pingStatus !== "Online") : environment.hosts;
  const noTarget = services.filter((s) => !live.targets.get(s));
  return [
    { name: "checks green now", needsReason: true, ok: lastChecks?.ok ?? true, detail: lastChecks ? (lastChecks.ok ? "the latest checks passed" : `the latest checks failed (${lastChecks.deployId}): ${lastChecks.summary}`) : "no checks have run in this environment yet" },
    { name: "no deploy running", needsReason: false, ok: !active, detail: active ? `${active.id} is ${statusWords(active.status)}` : "nothing in flight" },
    {
      name: "a rollback target for each service",
      needsReason: false,
      ok: noTarget.length === 0,
      detail: noTarget.length ? `history knows nothing live for ${noTarget.join(", ")}: a rollback would have nowhere to go` : services.map((s) => `${s}: ${live.targets.get(s)!.current.bundleKey.split("/").pop()}`).join(", "),
    },
    { name: "source tree clean", needsReason: false, ok: git ? !git.dirty : true, detail: git ? (git.dirty ? `uncommitted changes on ${git.branch} (${git.sha.slice(0, 8)})` : `${git.branch} at ${git.sha.slice(0, 8)}, clean`) : "not a git checkout" },
    { name: "hosts online", needsReason: true, ok: offline.length === 0, detail: ping ? (offline.length ? `${offline.map((h) => `${h.name} (${ping.get(h.instanceId)?.pingStatus ?? "not registered"})`).join(", ")}` : "every host Online in SSM") : "SSM could not be asked" },
  ];
}
