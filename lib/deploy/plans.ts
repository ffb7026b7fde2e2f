import type { LoadedConfig } from "../config/load";
import { environmentOf } from "../config/load";
import type { Host, Job, Phase } from "./job";
import { buildPhase } from "./phases/build";
import { reviewPhase, scriptPhase } from "./phases/script";
import { sendPhase } from "./phases/send";
import { uploadPhase } from "./phases/upload";
import { verifyPhase } from "./phases/verify";
import { watchPhase } from "./phases/watch";
import type { DeployPlan } from "./plan";
import type { DeployStatus } from "./status";

/**
 * Which phases each kind of work runs. Everything after the hosts succeeded (checks, verification)
 * goes in AFTER_HOSTS_SUCCEED, so every kind of deploy gets it without touching the others.
 */
export const AFTER_HOSTS_SUCCEED: Phase[] = [verifyPhase("deploy")];

const toHosts = (hosts: { instanceId: string; name: string }[]): Host[] => hosts.map(({ instanceId, name }) => ({ instanceId, name }));

function job(config: LoadedConfig, deployId: string, environmentName: string, phases: Phase[], extra: Partial<Job> = {}): Job {
  const environment = environmentOf(config, environmentName);
  return { deployId, environmentName, environment, status: "queued" as DeployStatus, phases, hosts: toHosts(environment.hosts), attempt: 1, ...extra };
}

/** A new bundle: build (when any service has a build), pack and upload, write the script, [review,] send, watch. */
export function newBundleJob(config: LoadedConfig, deployId: string, plan: DeployPlan, reviewScript: boolean): Job {
  const phases = [...(plan.builds.length > 0 ? [buildPhase] : []), uploadPhase, scriptPhase, ...(reviewScript ? [reviewPhase] : []), sendPhase, watchPhase, ...AFTER_HOSTS_SUCCEED];
  return job(config, deployId, plan.environment, phases, { plan });
}

/** A bundle already in S3 with its script already stored (a confirmed review, a rollback, a redeploy). */
export function storedScriptJob(config: LoadedConfig, deployId: string, environmentName: string): Job {
  return job(config, deployId, environmentName, [sendPhase, watchPhase, ...AFTER_HOSTS_SUCCEED]);
}

/** The same script again on some hosts only, as attempt N of the same deploy. */
export function retryJob(config: LoadedConfig, deployId: string, environmentName: string, hosts: Host[], attempt: number): Job {
  return job(config, deployId, environmentName, [sendPhase, watchPhase, ...AFTER_HOSTS_SUCCEED], { hosts, attempt });
}

/** A command already sent: watch it to its end (after a restart, or "Resume watching"). */
export function watchJob(config: LoadedConfig, deployId: string, environmentName: string, status: DeployStatus): Job {
  return job(config, deployId, environmentName, [watchPhase, ...AFTER_HOSTS_SUCCEED], { status });
}

/** The checks of a deploy that reached its hosts, run again on demand. */
export function rerunChecksJob(config: LoadedConfig, deployId: string, environmentName: string): Job {
  return job(config, deployId, environmentName, [verifyPhase("rerun")]);
}

/** A runbook action: its own script, on one host or all, watched like a deploy (no verification). */
export function actionJob(config: LoadedConfig, deployId: string, environmentName: string, hosts: Host[]): Job {
  return job(config, deployId, environmentName, [sendPhase, watchPhase], { hosts });
}
