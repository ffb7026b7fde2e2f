"use server";

import { cancelDeploy, confirmDeploy, startDeploy } from "@/lib/deploy/deploy";
import { previewRedeploy, retryFailedHosts, startRedeploy } from "@/lib/deploy/redeploy";
import { runAction } from "@/lib/server/action";
import { deployIdInput, redeployInput, sandboxFaultInput, startDeployInput } from "@/lib/server/action-schemas";
import { requireContext } from "@/lib/server/deckhand";
import { setSandboxFault } from "@/lib/server/sandbox-control";

// Every action goes through runAction: panel token, then its schema (lib/server/action-schemas.ts).

export async function startDeployAction(input: unknown) {
  return runAction(startDeployInput, input, async (request) => ({ deployId: await startDeploy(await requireContext(), request) }));
}

export async function confirmDeployAction(input: unknown) {
  return runAction(deployIdInput, input, async ({ deployId }) => confirmDeploy(await requireContext(), deployId));
}

export async function cancelDeployAction(input: unknown) {
  return runAction(deployIdInput, input, async ({ deployId }) => cancelDeploy(await requireContext(), deployId));
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

export async function startRedeployAction(input: unknown) {
  return runAction(redeployInput, input, async (request) => ({ deployId: await startRedeploy(await requireContext(), request) }));
}

export async function retryFailedHostsAction(input: unknown) {
  return runAction(deployIdInput, input, async ({ deployId }) => ({ instanceIds: await retryFailedHosts(await requireContext(), deployId) }));
}
