// What every part of `npm run bench` returns, and the one percentile they all use.
export type Figure = { value: number; unit: string; target?: string; met?: boolean; note?: string };

/** The nearest-rank percentile (p in 0–100) of unsorted values; NaN when there are none. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
