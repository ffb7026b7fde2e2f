/**
 * The deploy's state machine: every status, and every change the engine may make. Pure, so it is
 * easy to test; `changeStatus` in lib/history/deploys.ts is the only writer and checks this table.
 */

/** What a Deploy row records: a new bundle, an earlier one (rollback / redeploy), or a runbook action. */
export const DEPLOY_KINDS = ["deploy", "rollback", "redeploy", "action"] as const;

export const DEPLOY_STATUSES = [
  "queued",
  "building",
  "uploading",
  "awaiting_confirmation",
  "sending",
  "running",
  "verifying",
  "succeeded",
  "partially_failed",
  "failed",
  "cancelled",
  "lost_contact",
  "checks_failed",
] as const;

export type DeployStatus = (typeof DEPLOY_STATUSES)[number];

/** from → the statuses it may move to. Anything not listed here is refused. */
export const ALLOWED_TRANSITIONS: Record<DeployStatus, readonly DeployStatus[]> = {
  queued: ["building", "uploading", "sending", "failed", "cancelled"],
  building: ["uploading", "failed", "cancelled"],
  uploading: ["awaiting_confirmation", "sending", "failed", "cancelled"],
  awaiting_confirmation: ["sending", "cancelled", "failed"],
  // "sending" may fail (nothing sent) or have its command recorded (running); a cancel waits for running.
  sending: ["running", "failed"],
  running: ["verifying", "succeeded", "partially_failed", "failed", "cancelled", "lost_contact"],
  verifying: ["succeeded", "checks_failed", "failed"],
  // End states. A retry of failed hosts is a new attempt of the same deploy (→ sending);
  // lost contact can be resumed (→ running); checks can be run again (→ verifying).
  succeeded: ["verifying"],
  partially_failed: ["sending"],
  failed: ["sending"],
  cancelled: ["sending"],
  lost_contact: ["running", "sending"],
  checks_failed: ["verifying", "sending"],
};

export function canTransition(from: DeployStatus, to: DeployStatus): boolean {
  return ALLOWED_TRANSITIONS[from]?.includes(to) ?? false;
}

export function isDeployStatus(value: string): value is DeployStatus {
  return (DEPLOY_STATUSES as readonly string[]).includes(value);
}

/** Work under way in a server process: a restart must pick these up again. */
export const IN_FLIGHT_DEPLOY_STATUSES: DeployStatus[] = ["queued", "building", "uploading", "sending", "running", "verifying"];
/** Not finished: blocks another deploy of the environment, and the deploy page keeps polling. */
export const ACTIVE_DEPLOY_STATUSES: DeployStatus[] = [...IN_FLIGHT_DEPLOY_STATUSES, "awaiting_confirmation"];
/** Ended with hosts that did not succeed: "retry failed hosts" applies. */
export const RETRYABLE_DEPLOY_STATUSES: DeployStatus[] = ["failed", "partially_failed", "cancelled", "lost_contact"];

export function isActiveStatus(status: string): boolean {
  return (ACTIVE_DEPLOY_STATUSES as string[]).includes(status);
}

/** How a status reads in a sentence ("is still awaiting confirmation"). */
export const statusWords = (status: string) => status.replace(/_/g, " ");

/**
 * SSM invocation statuses (CommandInvocationStatus) that end a host's run. Undeliverable, Terminated
 * and DeliveryTimedOut are StatusDetails that come with Failed or TimedOut, never a Status.
 */
export const TERMINAL_HOST_STATUSES = new Set(["Success", "Failed", "TimedOut", "Cancelled"]);

export function isTerminalHostStatus(status: string): boolean {
  return TERMINAL_HOST_STATUSES.has(status);
}

/** The outcome of a deploy from its hosts' final statuses; null while any host is still going. */
export function deployOutcome(hostStatuses: string[]): "succeeded" | "partially_failed" | "failed" | "cancelled" | null {
  if (hostStatuses.length === 0 || !hostStatuses.every(isTerminalHostStatus)) return null;
  const succeeded = hostStatuses.filter((s) => s === "Success").length;
  if (succeeded === hostStatuses.length) return "succeeded";
  if (hostStatuses.every((s) => s === "Cancelled")) return "cancelled";
  return succeeded === 0 ? "failed" : "partially_failed";
}

/** The latest attempt per host (a retry replaces only the hosts it reran): the one place this is decided. */
export function latestRunPerHost<T extends { instanceId: string; attempt: number; hostName: string }>(runs: T[]): T[] {
  const latest = new Map<string, T>();
  for (const run of runs) {
    const seen = latest.get(run.instanceId);
    if (!seen || seen.attempt < run.attempt) latest.set(run.instanceId, run);
  }
  return [...latest.values()].sort((a, b) => a.hostName.localeCompare(b.hostName));
}
