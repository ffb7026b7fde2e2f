"use server";

import { z } from "zod";
import { cancelDeploy, confirmDeploy, resumeWatching, startDeploy } from "@/lib/deploy/deploy";
import { previewRedeploy, retryFailedHosts, startRedeploy } from "@/lib/deploy/redeploy";
import { breakEnvironmentLock } from "@/lib/lock/environment";
import { runAction } from "@/lib/server/action";
import { requireContext } from "@/lib/server/deckhand";
import { FAULT_NAMES } from "@/lib/sandbox/faults";
import { setSandboxFault } from "@/lib/server/sandbox-control";

const deployId = z.string().regex(/^[A-Za-z0-9_-]{1,80}$/, "not a deploy id");
const sha256 = z.string().regex(/^[0-9a-f]{64}$/, "not a sha256");

export async function startDeployAction(input: unknown) {
  return runAction(
    z.object({ environment: z.string().min(1), services: z.array(z.string().min(1)).min(1, "pick at least one service"), reviewScript: z.boolean().default(false), skipOfflineHosts: z.boolean().default(false) }),
    input,
    async (request) => ({ deployId: await startDeploy(await requireContext(), request) }),
  );
}

/** Sends a reviewed script: the request carries the sha256 of the script the operator read. */
export async function confirmDeployAction(input: unknown) {
  return runAction(z.object({ deployId, scriptSha256: sha256 }), input, async ({ deployId, scriptSha256 }) => confirmDeploy(await requireContext(), deployId, scriptSha256));
}

export async function cancelDeployAction(input: unknown) {
  return runAction(z.object({ deployId }), input, async ({ deployId }) => cancelDeploy(await requireContext(), deployId));
}

export async function resumeWatchingAction(input: unknown) {
  return runAction(z.object({ deployId }), input, async ({ deployId }) => resumeWatching(await requireContext(), deployId));
}

/** Breaks an environment's bucket lock whose panel stopped renewing it: refused unless expired; recorded. */
export async function breakLockAction(input: unknown) {
  return runAction(z.object({ environment: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, "not an environment name") }), input, async ({ environment }) => {
    const held = await breakEnvironmentLock(await requireContext(), environment);
    return { owner: held.record.owner, deployId: held.record.deployId };
  });
}

export async function setSandboxFaultAction(input: unknown) {
  return runAction(
    z.object({ instanceId: z.string().regex(/^i-[0-9a-f]{8,17}$/), fault: z.enum(FAULT_NAMES), on: z.boolean() }),
    input,
    async ({ instanceId, fault, on }) => setSandboxFault(instanceId, fault, on),
  );
}

const redeployRequest = z.object({
  environment: z.string().min(1),
  bundleKey: z.string().regex(/^[A-Za-z0-9_.\/-]{1,1024}$/, "not a bundle key"),
  services: z.array(z.string().min(1)).min(1, "pick at least one service"),
  kind: z.enum(["rollback", "redeploy"]),
});

/** What a rollback / redeploy would do (checks, from → to, diff, script), before anything is sent. */
export async function previewRedeployAction(input: unknown) {
  return runAction(redeployRequest, input, async (request) => {
    const { manifest: _manifest, ...preview } = await previewRedeploy(await requireContext(), request);
    return preview;
  });
}

/** Starts what the operator confirmed: refused when the plan's fingerprint no longer matches the preview. */
export async function startRedeployAction(input: unknown) {
  return runAction(redeployRequest.extend({ planSha256: sha256 }), input, async (request) => ({ deployId: await startRedeploy(await requireContext(), request) }));
}

export async function retryFailedHostsAction(input: unknown) {
  return runAction(z.object({ deployId }), input, async ({ deployId }) => ({ instanceIds: await retryFailedHosts(await requireContext(), deployId) }));
}
