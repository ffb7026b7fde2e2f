"use client";

import { useEffect, useState } from "react";
import { formatClock, formatDuration } from "./format";

/** The exact instant in UTC, for the tooltip: "2026-11-23 16:40:55 UTC". */
export function exactUtc(iso: string): string {
  return `${iso.replace("T", " ").replace(/\.\d+Z$|Z$/, "")} UTC`;
}

/** A timestamp in the operator's locale with its zone, and the exact UTC time on hover. */
export function Time({ iso, timeOnly = false }: { iso: string | null; timeOnly?: boolean }) {
  if (!iso) return <span className="text-slate-600">—</span>;
  const date = new Date(iso);
  const text = timeOnly
    ? date.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false, timeZoneName: "short" })
    : date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium", hour12: false, timeZoneName: undefined }) + " " + zoneName(date);
  return (
    <time dateTime={iso} title={exactUtc(iso)} suppressHydrationWarning>
      {text}
    </time>
  );
}

function zoneName(date: Date): string {
  return new Intl.DateTimeFormat(undefined, { timeZoneName: "short" }).formatToParts(date).find((p) => p.type === "timeZoneName")?.value ?? "";
}

/** The current time, ticking every `ms` while `active` (for clocks that count up). */
export function useNow(active: boolean, ms = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!active) return;
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(timer);
  }, [active, ms]);
  return now;
}

/** Seconds between two ISO times (the end defaults to now): "1 min 5 s" once, or a ticking clock. */
export function Elapsed({ from, to, clock = false }: { from: string; to: string | null; clock?: boolean }) {
  const now = useNow(to === null);
  const seconds = Math.max(0, ((to ? new Date(to).getTime() : now) - new Date(from).getTime()) / 1000);
  return <span suppressHydrationWarning>{clock ? formatClock(seconds) : formatDuration(seconds, true)}</span>;
}
