// Quantiles from Envoy's Prometheus histogram buckets, computed the way Prometheus'
// histogram_quantile() does (linear interpolation inside the bucket holding the rank).

import { series, type Sample } from "./prometheus.js";

export interface Bucket {
  /** Upper bound ("le"); Infinity for "+Inf". */
  le: number;
  /** Cumulative count of observations ≤ le. */
  count: number;
}

/** The cumulative buckets of one histogram series (`name` without `_bucket`); `before` is subtracted when given. */
export function buckets(after: Sample[], name: string, labels: Record<string, string>, before: Sample[] = []): Bucket[] {
  const read = (s: Sample[]) => new Map(series(s, `${name}_bucket`, labels).map((b) => [Number(b.labels.le === "+Inf" ? Infinity : b.labels.le), b.value]));
  const [a, b] = [read(after), read(before)];
  return [...a].map(([le, count]) => ({ le, count: count - (b.get(le) ?? 0) })).sort((x, y) => x.le - y.le);
}

/** The q-quantile (0 ≤ q ≤ 1) of cumulative buckets; NaN when there are no observations. */
export function quantile(q: number, bs: Bucket[]): number {
  const total = bs.length ? bs[bs.length - 1].count : 0;
  if (total === 0) return NaN;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const { le, count } of bs) {
    if (count >= rank) {
      // Observations in the +Inf bucket: like Prometheus, answer the highest finite bound.
      if (le === Infinity) return prevLe;
      if (count === prevCount) return le;
      return prevLe + ((le - prevLe) * (rank - prevCount)) / (count - prevCount);
    }
    prevLe = le;
    prevCount = count;
  }
  return prevLe;
}
