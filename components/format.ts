/** Small, dependency-free formatters shared by the panel's tables and dialogs. */

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** "45 s", "3 min", "2 h 5 min", "4 d 3 h": two units at most, which is all an operator reads. */
export function formatDuration(seconds: number, precise = false): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const minutes = Math.floor(s / 60);
  if (minutes < 60) return precise && s % 60 ? `${minutes} min ${s % 60} s` : `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return minutes % 60 ? `${hours} h ${minutes % 60} min` : `${hours} h`;
  const days = Math.floor(hours / 24);
  return hours % 24 ? `${days} d ${hours % 24} h` : `${days} d`;
}

export function formatAge(iso: string, now = Date.now()): string {
  return `${formatDuration((now - new Date(iso).getTime()) / 1000)} ago`;
}

/** The file name of an S3 key: what operators recognise a bundle by. */
export function bundleFileName(key: string): string {
  return key.slice(key.lastIndexOf("/") + 1);
}

/** A running clock: "0:07", "12:34", "1:02:03". */
export function formatClock(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const pad = (n: number) => String(n).padStart(2, "0");
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h ? `${h}:${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`;
}

/** "HH:MM:SS" in the operator's zone, with the zone: when a running host times out. */
export function formatTimeOfDay(ms: number): string {
  return new Date(ms).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false, timeZoneName: "short" });
}
