// The input schemas of every server action (app/actions.ts), in a plain module so the hostile suite
// can run them without Next. Strict patterns: these values reach config lookups and host scripts.
import { z } from "zod";

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

export const startDeployInput = z.object({ environment: environmentName, services, reviewScript: z.boolean().default(false) });
export const deployIdInput = z.object({ deployId });
export const sandboxFaultInput = z.object({
  instanceId: z.string().regex(/^i-[0-9a-f]{8,17}$/, "not an instance id"),
  fault: z.enum(["offline", "fail-next", "slow", "hang", "dns", "stale"]),
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
});

/** Every action's schema by action name, for the hostile suite. */
export const ACTION_SCHEMAS = {
  startDeployAction: startDeployInput,
  confirmDeployAction: deployIdInput,
  cancelDeployAction: deployIdInput,
  retryFailedHostsAction: deployIdInput,
  setSandboxFaultAction: sandboxFaultInput,
  previewRedeployAction: redeployInput,
  startRedeployAction: redeployInput,
} as const;
