// The input schemas of every server action (app/actions.ts), in a plain module so the hostile suite
// can run them without Next. Strict patterns: these values reach config lookups and host scripts.
import { z } from "zod";
import { FAULT_NAMES } from "../sandbox/faults";

/** Names an object already answers to: never a config key (lookups must not hit Object.prototype). */
export const RESERVED_NAMES = new Set(["__proto__", "constructor", "prototype", ...Object.getOwnPropertyNames(Object.prototype)]);
const notReserved = (value: string) => !RESERVED_NAMES.has(value);

export const environmentName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, "not an environment name (lowercase letters, digits, _ or -)")
  .refine(notReserved, "is a reserved name");
export const serviceName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, "not a service name (lowercase letters, digits, _ or -)")
  .refine(notReserved, "is a reserved name");
export const deployId = z.string().regex(/^[A-Za-z0-9_-]{1,80}$/, "not a deploy id");
const services = z.array(serviceName).min(1, "pick at least one service").max(100, "too many services");

export const sha256 = z.string().regex(/^[0-9a-f]{64}$/, "not a sha256");

/** The production environment's name, typed by the operator (checked against the environment on the server). */
const confirmEnvironment = z.string().max(100, "too long").optional();

export const startDeployInput = z.object({
  environment: environmentName,
  services,
  reviewScript: z.boolean().default(false),
  skipOfflineHosts: z.boolean().default(false),
  confirmEnvironment,
  /** MAJOR.MINOR.PATCH-suffix, checked by the engine (lib/bundle/git.ts). */
  version: z.string().max(64, "too long").regex(/^[A-Za-z0-9.+-]*$/, "not a version label").optional(),
  /** A tag or commit to pack from a clean checkout (validated by git itself, never by a shell). */
  ref: z.string().max(200, "too long").regex(/^[A-Za-z0-9._\/-]*$/, "not a tag or commit").refine((r) => !r.startsWith("-") && !r.includes(".."), "not a tag or commit").optional(),
  goAheadReason: z.string().trim().max(500, "keep the reason under 500 characters").refine((r) => !/[\0\r]/.test(r), "no control characters").optional() });
export const checklistInput = z.object({ environment: environmentName, services });
export const environmentInput = z.object({ environment: environmentName });
export const deployIdInput = z.object({ deployId });
/** Confirming a reviewed script carries the sha256 of the script the operator read. */
export const confirmDeployInput = z.object({ deployId, scriptSha256: sha256 });
export const sandboxFaultInput = z.object({
  instanceId: z.string().regex(/^i-[0-9a-f]{8,17}$/, "not an instance id"),
  fault: z.enum(FAULT_NAMES),
  on: z.boolean(),
});
export const redeployInput = z.object({
  environment: environmentName,
  bundleKey: z
    .string()
    .regex(/^[A-Za-z0-9_.\/-]{1,1024}$/, "not a bundle key")
    .refine((key) => !key.startsWith("/") && !key.split("/").some((part) => part === ".." || part === "."), "not a bundle key (no leading /, . or .. segments)"),
  services,
  kind: z.enum(["rollback", "redeploy"]),
  /** For a bundle whose key fits no known layout: how its members map onto the repo. */
  layout: z.enum(["repo", "static"]).optional(),
});
/** Starting a rollback / redeploy carries the fingerprint of the preview the operator confirmed. */
export const startRedeployInput = redeployInput.extend({ planSha256: sha256, confirmEnvironment });
export const runActionInput = z.object({
  environment: environmentName,
  action: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, "not an action name").refine(notReserved, "is a reserved name"),
  instanceId: z.string().regex(/^i-[0-9a-f]{8,17}$/, "not an instance id").optional(),
});

/** Every action's schema by action name, for the hostile suite. */
export const ACTION_SCHEMAS = {
  startDeployAction: startDeployInput,
  confirmDeployAction: confirmDeployInput,
  cancelDeployAction: deployIdInput,
  resumeWatchingAction: deployIdInput,
  preDeployChecklistAction: checklistInput,
  breakLockAction: environmentInput,
  runSetupCheckAction: environmentInput,
  readHostsAction: environmentInput,
  rerunChecksAction: deployIdInput,
  runRunbookAction: runActionInput,
  retryFailedHostsAction: deployIdInput,
  setSandboxFaultAction: sandboxFaultInput,
  previewRedeployAction: redeployInput,
  startRedeployAction: startRedeployInput,
} as const;
