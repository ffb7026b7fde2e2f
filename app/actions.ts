"use server";

import { cancelDeploy, confirmDeploy, rerunChecks, resumeWatching, startDeploy } from "@/lib/deploy/deploy";
import { startRunbookAction } from "@/lib/deploy/runbook";
import { preDeployChecklist } from "@/lib/deploy/checklist";
import { previewRedeploy, retryFailedHosts, startRedeploy } from "@/lib/deploy/redeploy";
import { breakEnvironmentLock } from "@/lib/lock/environment";
import { runAction } from "@/lib/server/action";
import { checklistInput, confirmDeployInput, environmentInput, deployIdInput, redeployInput, runActionInput, sandboxFaultInput, startDeployInput, startRedeployInput } from "@/lib/server/action-schemas";
import { requireContext } from "@/lib/server/deckhand";
import { setSandboxFault } from "@/lib/server/sandbox-control";
import { loadSetupCheck } from "@/lib/server/setup";
import { loadHostReadings } from "@/lib/server/queries";

// Every action goes through runAction: panel token, then its schema (lib/server/action-schemas.ts).

export async function startDeployAction(input: unknown) {
  return runAction(startDeployInput, input, async (request) => ({ deployId: await startDeploy(await requireContext(), request) }));
}

/** seeds/003's pre-deploy checklist for the chosen services, shown before Deploy. */
export async function preDeployChecklistAction(input: unknown) {
  return runAction(checklistInput, input, async ({ environment, services }) => preDeployChecklist(await requireContext(), environment, services));
}

/** Sends a reviewed script: the request carries the sha256 of the script the operator read. */
export async function confirmDeployAction(input: unknown) {
  return runAction(confirmDeployInput, input, async ({ deployId, scriptSha256 }) => confirmDeploy(await requireContext(), deployId, scriptSha256));
}

export async function cancelDeployAction(input: unknown) {
  return runAction(deployIdInput, input, async ({ deployId }) => cancelDeploy(await requireContext(), deployId));
}

export async function resumeWatchingAction(input: unknown) {
  return runAction(deployIdInput, input, async ({ deployId }) => resumeWatching(await requireContext(), deployId));
}

export async function rerunChecksAction(input: unknown) {
  return runAction(deployIdInput, input, async ({ deployId }) => rerunChecks(await requireContext(), deployId));
}

/** A runbook action from the config (e.g. the Docker DNS fix) on one host or all, recorded like a deploy. */
export async function runRunbookAction(input: unknown) {
  return runAction(runActionInput, input, async (request) => ({ deployId: await startRunbookAction(await requireContext(), request) }));
}

/** Breaks an environment's bucket lock whose panel stopped renewing it: refused unless expired; recorded. */
export async function breakLockAction(input: unknown) {
  return runAction(environmentInput, input, async ({ environment }) => {
    const held = await breakEnvironmentLock(await requireContext(), environment);
    return { owner: held.record.owner, deployId: held.record.deployId };
  });
}

/** "Read from hosts": what each host really has, per service, from its own files. */
export async function readHostsAction(input: unknown) {
  return runAction(environmentInput, input, async ({ environment }) => loadHostReadings(environment));
}

/** The setup check (laptop side and each host's pre-flight) for one environment. */
export async function runSetupCheckAction(input: unknown) {
  return runAction(environmentInput, input, async ({ environment }) => loadSetupCheck(environment));
}

export async function setSandboxFaultAction(input: unknown) {
  return runAction(sandboxFaultInput, input, async ({ instanceId, fault, on }) => setSandboxFault(instanceId, fault, on));
}

/** What a rollback / redeploy would do (checks, from → to, diff, script), before anything is sent. */
export async function previewRedeployAction(input: unknown) {
  return runAction(redeployInput, input, async (request) => {
    const { manifest: _manifest, ...preview } = await previewRedeploy(await requireContext(), request);
    return preview;
  });
}

/** Starts what the operator confirmed: refused when the plan's fingerprint no longer matches the preview. */
export async function startRedeployAction(input: unknown) {
  return runAction(startRedeployInput, input, async (request) => ({ deployId: await startRedeploy(await requireContext(), request) }));
}

export async function retryFailedHostsAction(input: unknown) {
  return runAction(deployIdInput, input, async ({ deployId }) => ({ instanceIds: await retryFailedHosts(await requireContext(), deployId) }));
}
