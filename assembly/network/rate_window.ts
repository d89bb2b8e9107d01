// A sliding count of events over the last 1 s and 10 s, kept as two host gauges.
//
// A ring of per-second buckets, advanced by the root's tick (one per second).
// The gauges are only ever incremented (one per event) and decremented (by a
// bucket's count when it leaves the window), never set: Envoy keeps one gauge
// per name for all worker VMs, and increments and decrements from several VMs
// add up to the sum of their windows, where a set would overwrite the others.
//
// The 1 s gauge counts the events since the last tick; the 10 s gauge those of
// the current bucket and the nine before it. So an event is in the 1 s window
// for up to one tick and in the 10 s window for nine to ten ticks.

import { incrementMetric } from "../abi/host";

/** Buckets in the ring: one per tick of the longest window. */
const BUCKETS = 10;

export class RateWindow {
  private counts: StaticArray<u32> = new StaticArray<u32>(BUCKETS);
  private current: i32 = 0;

  constructor(private lastSecond: u32, private lastTenSeconds: u32) {}

  /** Counts one event now. */
  add(): void {
    unchecked(this.counts[this.current]++);
    incrementMetric(this.lastSecond, 1);
    incrementMetric(this.lastTenSeconds, 1);
  }

  /** One second passed: the current bucket leaves the 1 s window, the oldest leaves the 10 s window. */
  tick(): void {
    let closing = unchecked(this.counts[this.current]);
    if (closing > 0) incrementMetric(this.lastSecond, -(<i64>closing));
    this.current = (this.current + 1) % BUCKETS;
    let expired = unchecked(this.counts[this.current]);
    if (expired > 0) incrementMetric(this.lastTenSeconds, -(<i64>expired));
    unchecked((this.counts[this.current] = 0));
  }

  /** Takes this window's events out of both gauges (its root is going away). */
  clear(): void {
    let current = unchecked(this.counts[this.current]);
    if (current > 0) incrementMetric(this.lastSecond, -(<i64>current));
    let total: i64 = 0;
    for (let i = 0; i < BUCKETS; i++) {
      total += unchecked(this.counts[i]);
      unchecked((this.counts[i] = 0));
    }
    if (total > 0) incrementMetric(this.lastTenSeconds, -total);
  }
}
