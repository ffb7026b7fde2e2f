/**
 * The phases a deploy really has (a rollback has no build or upload), each with its state and
 * duration, from the deploy's status, kind and DeployEvent rows. Pure: the UI imports it.
 * Tolerant of statuses it does not know: they neither crash nor pretend to be a phase.
 */

export type PhaseKey = "build" | "upload" | "review" | "send" | "run" | "verify";
export type PhaseState = "done" | "running" | "skipped" | "failed" | "stopped" | "pending";

export interface PhaseView {
  key: PhaseKey;
  label: string;
  state: PhaseState;
  /** Words for the state (never colour alone). */
  stateText: string;
  startedAt: string | null;
  endedAt: string | null;
}

export interface TimelineInput {
  kind: string;
  status: string;
  reviewScript: boolean;
  createdAt: string;
  finishedAt: string | null;
  events: { phase: string; message: string; at: string }[];
  hostRuns: { startedAt: string; finishedAt: string | null }[];
}

const LABEL: Record<PhaseKey, string> = { build: "Build", upload: "Pack & upload", review: "Script review", send: "Send (SSM)", run: "Run on hosts", verify: "Verify" };

/** Which phase an event belongs to; the engine's phase names may grow, unknown ones are ignored. */
const EVENT_PHASE: Record<string, PhaseKey> = { build: "build", pack: "upload", upload: "upload", send: "send", watch: "run", verify: "verify", checks: "verify", check: "verify", smoke: "verify" };

/** Where each in-progress status sits. */
const STATUS_PHASE: Record<string, PhaseKey> = { building: "build", uploading: "upload", awaiting_confirmation: "review", sending: "send", running: "run", verifying: "verify" };

const DONE_STATUSES = new Set(["succeeded"]);
const STOP_TEXT: Record<string, string> = { cancelled: "cancelled", lost_contact: "lost contact", failed: "failed", partially_failed: "partly failed", checks_failed: "checks failed" };

export function deployPhases(input: TimelineInput): PhaseView[] {
  const starts = new Map<PhaseKey, string>();
  for (const event of input.events) {
    const phase = EVENT_PHASE[event.phase];
    if (phase && !starts.has(phase)) starts.set(phase, event.at);
  }
  const firstHost = input.hostRuns.map((r) => r.startedAt).sort()[0];
  if (firstHost && !starts.has("run")) starts.set("run", firstHost);
  if (input.status === "verifying" || input.status === "checks_failed") starts.set("verify", starts.get("verify") ?? input.finishedAt ?? new Date().toISOString());

  const fresh = input.kind === "deploy";
  const keys: PhaseKey[] = [];
  if (fresh) keys.push("build", "upload");
  if (input.reviewScript) keys.push("review");
  keys.push("send", "run");
  if (starts.has("verify")) keys.push("verify");

  const current = STATUS_PHASE[input.status] ?? null;
  const queued = input.status === "queued";
  const uploaded = input.events.some((e) => EVENT_PHASE[e.phase] === "upload" && /^uploaded\b/.test(e.message));
  const reached = (key: PhaseKey) => starts.has(key) || (key === "review" && (starts.has("send") || uploaded));
  // The furthest phase the deploy got to.
  const furthest = current ? keys.indexOf(current) : Math.max(-1, ...keys.map((k, i) => (reached(k) ? i : -1)));

  return keys.map((key, i) => {
    let state: PhaseState;
    let stateText: string;
    if (queued) {
      state = "pending";
      stateText = "not yet";
    } else if (i < furthest) {
      // A phase passed without leaving a trace was skipped (e.g. no build command).
      state = reached(key) || key === "upload" || key === "send" ? "done" : "skipped";
      stateText = state === "done" ? "done" : key === "build" ? "skipped (no build command)" : "skipped";
    } else if (i === furthest) {
      if (current) [state, stateText] = key === "review" ? ["running", "waiting for you"] : ["running", "running"];
      else if (DONE_STATUSES.has(input.status)) [state, stateText] = ["done", "done"];
      else if (input.status === "cancelled") [state, stateText] = ["stopped", "cancelled"];
      else if (input.status in STOP_TEXT) [state, stateText] = ["failed", STOP_TEXT[input.status]];
      else [state, stateText] = ["pending", input.status.replace(/_/g, " ")];
    } else {
      const ended = !current && !queued;
      state = ended ? "skipped" : "pending";
      stateText = ended ? "not reached" : "not yet";
      if (ended && DONE_STATUSES.has(input.status) && key === "build") stateText = "skipped (no build command)";
    }
    const next = keys.slice(i + 1).map((k) => starts.get(k)).find(Boolean);
    const startedAt = starts.get(key) ?? (i === 0 && (state === "running" || state === "done") ? input.createdAt : null);
    const endedAt = state === "running" || !startedAt ? null : (next ?? input.finishedAt);
    return { key, label: LABEL[key], state, stateText, startedAt, endedAt };
  });
}

/** Seconds between two ISO times (end defaults to now), or null without a start. */
export function secondsBetween(start: string | null, end: string | null, now = Date.now()): number | null {
  if (!start) return null;
  return Math.max(0, ((end ? new Date(end).getTime() : now) - new Date(start).getTime()) / 1000);
}
