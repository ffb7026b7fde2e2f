const tones: Record<string, string> = {
  Success: "bg-emerald-100 text-emerald-800 ring-emerald-300",
  succeeded: "bg-emerald-100 text-emerald-800 ring-emerald-300",
  Failed: "bg-red-100 text-red-800 ring-red-300",
  failed: "bg-red-100 text-red-800 ring-red-300",
  TimedOut: "bg-red-100 text-red-800 ring-red-300",
  Undeliverable: "bg-red-100 text-red-800 ring-red-300",
  partially_failed: "bg-amber-100 text-amber-800 ring-amber-300",
  Cancelled: "bg-slate-200 text-slate-700 ring-slate-300",
  cancelled: "bg-slate-200 text-slate-700 ring-slate-300",
  Online: "bg-emerald-50 text-emerald-700 ring-emerald-200",
  ConnectionLost: "bg-red-50 text-red-700 ring-red-200",
  awaiting_confirmation: "bg-violet-100 text-violet-800 ring-violet-300",
};

export function StatusBadge({ status, testId }: { status: string; testId?: string }) {
  const tone = tones[status] ?? "bg-sky-100 text-sky-800 ring-sky-300";
  return (
    <span data-testid={testId} data-status={status} className={`inline-flex items-center rounded-full px-2 py-0.5 text-xs font-medium ring-1 ring-inset ${tone}`}>
      {status.replace(/_/g, " ")}
    </span>
  );
}
