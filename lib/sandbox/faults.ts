// The one list of sandbox faults: used by the sandbox, its control API, the server action's zod enum
// and the dashboard's fault panel. Plain data, no Node imports, so client components can import it.

export const SANDBOX_FAULTS = [
  { name: "offline", help: "the agent is disconnected: invocations wait Pending (Delayed), then DeliveryTimedOut; ConnectionLost" },
  { name: "fail-next", help: "the next script fails" },
  { name: "slow", help: "every step takes seconds" },
  { name: "hang", help: "the script hangs until executionTimeout" },
  { name: "dns", help: "Docker DNS poisoning: half the requests fail" },
  { name: "stale", help: "acknowledges deploys but ignores them" },
  { name: "no-aws-cli", help: "the host has no AWS CLI (a stock Ubuntu AMI)" },
  { name: "logs-denied", help: "the laptop may not read CloudWatch Logs: every Logs call is AccessDenied (on any host: it is the laptop's policy)" },
  { name: "no-logs-role", help: "the instance role cannot write CloudWatch Logs: no stream is ever created" },
  { name: "s3-output-denied", help: "the instance role cannot write the S3 output objects (dropped silently)" },
] as const;

export type FaultName = (typeof SANDBOX_FAULTS)[number]["name"];

/** A non-empty tuple, so it can feed `z.enum(...)` directly. */
export const FAULT_NAMES = SANDBOX_FAULTS.map((f) => f.name) as unknown as readonly [FaultName, ...FaultName[]];

export function isFaultName(value: unknown): value is FaultName {
  return typeof value === "string" && (FAULT_NAMES as readonly string[]).includes(value);
}
