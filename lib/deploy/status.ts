/** SSM invocation statuses and what they mean for a deploy. Pure, so it is easy to test. */

export const TERMINAL_HOST_STATUSES = new Set(["Success", "Failed", "TimedOut", "Cancelled", "Undeliverable", "Terminated", "DeliveryTimedOut"]);

export function isTerminalHostStatus(status: string): boolean {
  return TERMINAL_HOST_STATUSES.has(status);
}

export type DeployStatus =
  | "queued"
  | "building"
  | "uploading"
  | "awaiting_confirmation"
  | "sending"
  | "running"
  | "succeeded"
  | "partially_failed"
  | "failed"
  | "cancelled";

/** Work under way in a server process: a restart must pick these up again. */
export const IN_FLIGHT_DEPLOY_STATUSES: DeployStatus[] = ["queued", "building", "uploading", "sending", "running"];
/** Not finished: blocks another deploy of the environment, and the deploy page keeps polling. */
export const ACTIVE_DEPLOY_STATUSES: DeployStatus[] = [...IN_FLIGHT_DEPLOY_STATUSES, "awaiting_confirmation"];

/** The outcome of a deploy from its hosts' final statuses; null while any host is still going. */
export function deployOutcome(hostStatuses: string[]): DeployStatus | null {
  if (hostStatuses.length === 0 || !hostStatuses.every(isTerminalHostStatus)) return null;
  const succeeded = hostStatuses.filter((s) => s === "Success").length;
  if (succeeded === hostStatuses.length) return "succeeded";
  if (hostStatuses.every((s) => s === "Cancelled")) return "cancelled";
  return succeeded === 0 ? "failed" : "partially_failed";
}

/** SSM caps inline output; a result at the cap was (almost certainly) cut. */
export const STDOUT_LIMIT = 24_000;
export const STDERR_LIMIT = 8_000;
