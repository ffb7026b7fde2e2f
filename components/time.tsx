"use client";

/** A timestamp shown in the operator's locale, with the exact ISO time on hover. */
export function Time({ iso }: { iso: string | null }) {
  if (!iso) return <span className="text-slate-400">—</span>;
  return (
    <time dateTime={iso} title={iso} suppressHydrationWarning>
      {new Date(iso).toLocaleString()}
    </time>
  );
}
