/**
 * Every status in words and colour, from one lookup table with a fallback: the engine may add
 * statuses, and an unknown one still shows its own words in a neutral tone.
 */
type Tone = "ok" | "bad" | "warn" | "busy" | "wait" | "neutral";

const TONE_CLASS: Record<Tone, string> = {
  ok: "bg-emerald-100 text-emerald-900 ring-emerald-300",
  bad: "bg-red-100 text-red-900 ring-red-300",
  warn: "bg-amber-100 text-amber-900 ring-amber-300",
  busy: "bg-sky-100 text-sky-900 ring-sky-300",
  wait: "bg-violet-100 text-violet-900 ring-violet-300",
  neutral: "bg-slate-200 text-slate-800 ring-slate-300",
};

/** A symbol as well as the colour, so the tone never rests on colour alone. */
const TONE_ICON: Record<Tone, string> = { ok: "✓", bad: "✕", warn: "!", busy: "…", wait: "⏸", neutral: "•" };

const STATUS: Record<string, { label: string; tone: Tone }> = {
  // deploy statuses
  queued: { label: "queued", tone: "busy" },
  building: { label: "building", tone: "busy" },
  uploading: { label: "uploading", tone: "busy" },
  awaiting_confirmation: { label: "awaiting confirmation", tone: "wait" },
  sending: { label: "sending", tone: "busy" },
  running: { label: "running", tone: "busy" },
  verifying: { label: "verifying", tone: "busy" },
  succeeded: { label: "succeeded", tone: "ok" },
  partially_failed: { label: "partially failed", tone: "warn" },
  failed: { label: "failed", tone: "bad" },
  cancelled: { label: "cancelled", tone: "neutral" },
  lost_contact: { label: "lost contact", tone: "warn" },
  checks_failed: { label: "checks failed", tone: "bad" },
  // SSM invocation statuses
  Pending: { label: "Pending", tone: "busy" },
  InProgress: { label: "InProgress", tone: "busy" },
  Delayed: { label: "Delayed", tone: "warn" },
  Success: { label: "Success", tone: "ok" },
  Failed: { label: "Failed", tone: "bad" },
  TimedOut: { label: "TimedOut", tone: "bad" },
  Cancelled: { label: "Cancelled", tone: "neutral" },
  Cancelling: { label: "Cancelling", tone: "busy" },
  Undeliverable: { label: "Undeliverable", tone: "bad" },
  Terminated: { label: "Terminated", tone: "bad" },
  DeliveryTimedOut: { label: "DeliveryTimedOut", tone: "bad" },
  // SSM agent ping
  Online: { label: "Online", tone: "ok" },
  ConnectionLost: { label: "ConnectionLost", tone: "bad" },
  Inactive: { label: "Inactive", tone: "warn" },
  "Not registered": { label: "Not registered", tone: "warn" },
};

export function statusLabel(status: string): string {
  return STATUS[status]?.label ?? status.replace(/_/g, " ");
}

export function StatusBadge({ status, testId }: { status: string; testId?: string }) {
  const tone = STATUS[status]?.tone ?? "neutral";
  return (
    <span data-status={status} className={`inline-flex items-center gap-1 rounded-full px-2 py-0.5 text-xs font-medium ring-1 ring-inset ${TONE_CLASS[tone]}`}>
      <span aria-hidden="true">{TONE_ICON[tone]}</span>
      <span data-testid={testId} data-status={status}>
        {statusLabel(status)}
      </span>
    </span>
  );
}
