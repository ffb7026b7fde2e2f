import { randomBytes } from "node:crypto";
import { cancelCommand } from "../aws/ssm";
import { bundleKey } from "../bundle/naming";
import { readGitInfo, whoAmI } from "../bundle/pack";
import { environmentOf, type LoadedConfig } from "../config/load";
import type { EnvironmentConfig } from "../config/schema";
import { ConflictError, PlanChangedError, RefusedError } from "../errors";
import { changeStatus, currentHostRuns, isBundleKeyTaken, recordEvent, requireDeploy } from "../history/deploys";
import type { Db } from "../history/db";
import type { DeployContext } from "./context";
import { newBundleJob, rerunChecksJob, storedScriptJob, watchJob } from "./plans";
import path from "node:path";
import { checkoutRef, commitOnBranch } from "../bundle/git";
import { planDeploy } from "./plan";
import { preDeployChecklist } from "./checklist";
import { itemsNeedingReason, MIN_GO_AHEAD_REASON_LENGTH, mayGoAhead } from "./checklist-rule";
import { assertBranchAllowed, assertProductionConfirmed, assertVersionLabel } from "./environment-rules";
import { sha256Hex } from "./phases/script";
import { launch } from "./runner";
import { isTerminalHostStatus, statusWords } from "./status";

export function newDeployId(label: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, "").replace(/\..*/, "").replace("T", "-");
  return `${stamp}-${label}-${randomBytes(2).toString("hex")}`;
}

export interface StartDeployRequest {
  environment: string;
  services: string[];
  /** Stop after the upload until the operator has read and confirmed the script. */
  reviewScript?: boolean;
  /** Send to the online hosts only instead of refusing when SSM sees one offline. */
  skipOfflineHosts?: boolean;
  /** Why the operator went ahead although the pre-deploy checklist was not all green (recorded). */
  goAheadReason?: string;
  /** A production environment's name, typed by the operator (refused unless it matches). */
  confirmEnvironment?: string;
  /** A version label (MAJOR.MINOR.PATCH-suffix): part of the bundle's name and manifest. */
  version?: string;
  /** Pack from a clean checkout of this tag or commit (a temporary git worktree) instead of the working tree. */
  ref?: string;
}

/** Keys carry a one-second stamp: a second deploy within the same second must not overwrite the first bundle. */
export async function freshBundleKey(ctx: { config: LoadedConfig; db: Db }, environment: EnvironmentConfig, label: string, version?: string | null): Promise<string> {
  for (let stamp = Math.floor(Date.now() / 1000); ; stamp++) {
    const key = bundleKey(environment.prefix, ctx.config.bundleNamePrefix, label, stamp, version);
    if (!(await isBundleKeyTaken(ctx.db, environment.bucket, key))) return key;
  }
}

/** Records a new deploy and starts it in the background; returns its id at once. */
export async function startDeploy(ctx: DeployContext, request: StartDeployRequest): Promise<string> {
  const plan = planDeploy(ctx.config, request.environment, request.services);
  const environment = environmentOf(ctx.config, request.environment);
  assertProductionConfirmed(request.environment, environment, request.confirmEnvironment);
  assertVersionLabel(request.environment, environment, request.version);
  const version = request.version || null;
  // A tag or commit is packed from a clean checkout of it, so what is deployed is exactly that commit.
  const checkout = request.ref ? await checkoutRef(ctx.config.repo, request.ref) : null;
  try {
    if (checkout) {
      if (environment.branch && !(await commitOnBranch(ctx.config.repo, checkout.sha, environment.branch))) {
        throw new RefusedError(`${request.environment} deploys only from the "${environment.branch}" branch; ${request.ref} (${checkout.sha.slice(0, 12)}) is not on it.`);
      }
      plan.ref = request.ref;
      plan.sourceDir = checkout.dir;
      plan.builds = plan.builds.map((step) => ({ ...step, cwd: path.join(checkout.dir, path.relative(ctx.config.repo, step.cwd)) }));
    } else if (environment.branch) {
      // Only an environment with a branch rule reads git here (the manifest reads it anyway when packing).
      assertBranchAllowed(request.environment, environment, await readGitInfo(ctx.config.repo));
    }
    plan.version = version;
    const id = newDeployId(plan.label);
    const insert = {
      id,
      environment: request.environment,
      kind: "deploy",
      services: plan.services,
      label: plan.label,
      bundleKey: await freshBundleKey(ctx, environment, plan.label, version),
      bundleBucket: environment.bucket,
      createdBy: whoAmI(),
      reviewScript: request.reviewScript ?? false,
    };
    const job = newBundleJob(ctx.config, id, plan, request.reviewScript ?? false);
    job.skipOfflineHosts = request.skipOfflineHosts;
    // The checkout goes once the job stops (after the upload it is no longer read).
    if (checkout) job.afterEnd = [...(job.afterEnd ?? []), () => checkout.remove()];
    const checklist = await preDeployChecklist(ctx, request.environment, plan.services);
    // The form asks for the reason too, but the rule is the server's: a stale form or a script calling the action must not skip it.
    if (!mayGoAhead(checklist, request.goAheadReason)) {
      const blocking = itemsNeedingReason(checklist);
      throw new RefusedError(`The pre-deploy checklist is not green (${blocking.map((i) => `${i.name}: ${i.detail}`).join("; ")}). Type why you go ahead anyway (at least ${MIN_GO_AHEAD_REASON_LENGTH} characters) or fix it first.`);
    }
    await launch(ctx, job, { insert });
    const notGreen = checklist.filter((item) => !item.ok);
    await recordEvent(ctx.db, id, "checklist", notGreen.length === 0 ? "pre-deploy checklist: all green" : `pre-deploy checklist: ${notGreen.map((i) => `${i.name} ✗ (${i.detail})`).join("; ")}${request.goAheadReason ? ` — went ahead: ${request.goAheadReason}` : ""}`);
    return id;
  } catch (error) {
    await checkout?.remove();
    throw error;
  }
}

/**
 * Sends a deploy that was stopped for script review. The request carries the sha256 of the script
 * the operator read; the move from awaiting_confirmation to sending is a compare-and-set, so a
 * cancel that landed first wins and nothing is sent.
 */
export async function confirmDeploy(ctx: DeployContext, id: string, scriptSha256: string): Promise<void> {
  const deploy = await requireDeploy(ctx.db, id);
  if (sha256Hex(deploy.script) !== scriptSha256) throw new PlanChangedError("The script changed since you looked — review it again.");
  await launch(ctx, storedScriptJob(ctx.config, id, deploy.environment), {
    move: { from: "awaiting_confirmation", to: "sending", message: `script confirmed (sha256 ${scriptSha256.slice(0, 12)}…)` },
  });
}

/**
 * Cancels a deploy. Before sending: it ends at once and nothing reaches the hosts (a job still
 * building or uploading stops at its next step). Running: SSM cancels every host still going and
 * the watcher records how each one ended. While the command is being sent it cannot be cancelled.
 */
export async function cancelDeploy(ctx: DeployContext, id: string): Promise<void> {
  const deploy = await requireDeploy(ctx.db, id);
  if (["queued", "building", "uploading", "awaiting_confirmation"].includes(deploy.status)) {
    await changeStatus(ctx.db, id, { from: ["queued", "building", "uploading", "awaiting_confirmation"], to: "cancelled", message: `cancelled while ${statusWords(deploy.status)}: nothing was sent to the hosts` });
    return;
  }
  if (deploy.status === "sending") throw new ConflictError(`Deploy ${id} is being sent to the hosts right now: cancel again in a moment to stop it there.`);
  if (!["running", "lost_contact"].includes(deploy.status) || !deploy.commandId) {
    throw new RefusedError(`Deploy ${id} is ${statusWords(deploy.status)}: there is nothing left to cancel.`);
  }
  const environment = environmentOf(ctx.config, deploy.environment);
  const open = (await currentHostRuns(ctx.db, id)).filter((run) => !isTerminalHostStatus(run.status));
  await recordEvent(ctx.db, id, "state", `cancel requested for ${open.map((r) => r.hostName).join(", ")}`);
  await cancelCommand(ctx.aws(environment.region).ssm, deploy.commandId, open.map((run) => run.instanceId));
  // A deploy whose watcher had lost contact is watched again, to see the hosts end Cancelled.
  if (deploy.status === "lost_contact") await resumeWatching(ctx, id);
}

/** "Resume watching" after lost contact: the same command, watched again from what is stored. */
export async function resumeWatching(ctx: DeployContext, id: string): Promise<void> {
  const deploy = await requireDeploy(ctx.db, id);
  if (!deploy.commandId) throw new RefusedError(`Deploy ${id} never reached SSM: there is nothing to watch.`);
  await launch(ctx, watchJob(ctx.config, id, deploy.environment, "running"), {
    move: { from: "lost_contact", to: "running", message: "the operator resumed watching", data: { error: null, finishedAt: null } },
  });
}

/** Runs a deploy's checks again (after a fix on a host, say); the result is recorded and decides its status. */
export async function rerunChecks(ctx: DeployContext, id: string): Promise<void> {
  const deploy = await requireDeploy(ctx.db, id);
  if (deploy.kind === "action") throw new RefusedError(`${id} is a runbook action: it has no checks of its own. Run the checks of the deploy it fixed.`);
  await launch(ctx, rerunChecksJob(ctx.config, id, deploy.environment), {
    move: { from: ["succeeded", "checks_failed"], to: "verifying", message: "checks run again by the operator", data: { error: null, finishedAt: null } },
  });
}
