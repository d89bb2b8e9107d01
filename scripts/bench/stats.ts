// Small statistics for benchmark rounds.

export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** The p-th percentile (0..100), nearest rank. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * s.length);
  return s[Math.min(s.length - 1, Math.max(0, rank - 1))];
}

/** Median of per-round values a[i] op b[i]: pairs taken in the same round share the machine's state. */
export function pairedMedian(a: number[], b: number[], op: (x: number, y: number) => number): number {
  return median(a.map((x, i) => op(x, b[i])));
}
