// A sliding count of events over the last 1 s and 10 s, published as two host
// gauges once a tick.
//
// A ring of per-tick buckets, advanced by the root's tick (one per second).
// Events are counted in the VM (no host call per event); at each tick the
// bucket that just closed becomes the 1 s gauge's value and the ten newest
// closed buckets the 10 s gauge's. The gauges are only ever incremented and
// decremented by this VM's change since its last publication, never set:
// Envoy keeps one gauge per name for all worker VMs, so the changes of several
// VMs add up to the sum of their windows, where a set would overwrite the
// others. So a scrape shows the events of the last complete tick (1 s) and
// of the last ten (10 s); an event appears at the first tick after it.

import { incrementMetric } from "../abi/host";

/** Buckets in the ring: one per tick of the longest window. */
const BUCKETS = 10;

export class RateWindow {
  private counts: StaticArray<u32> = new StaticArray<u32>(BUCKETS);
  /** The bucket counting now (not yet published). */
  private current: i32 = 0;
  /** What this VM has added to each gauge so far. */
  private shownLastSecond: i64 = 0;
  private shownLastTenSeconds: i64 = 0;

  constructor(
    private lastSecond: u32,
    private lastTenSeconds: u32,
  ) {}

  /** Counts one event now. */
  add(): void {
    unchecked(this.counts[this.current]++);
  }

  /** One second passed: the current bucket closes and both gauges move to the new windows. */
  tick(): void {
    let closed = <i64>unchecked(this.counts[this.current]);
    let tenSeconds: i64 = 0;
    for (let i = 0; i < BUCKETS; i++) tenSeconds += unchecked(this.counts[i]);
    this.show(closed, tenSeconds);
    this.current = (this.current + 1) % BUCKETS;
    unchecked((this.counts[this.current] = 0));
  }

  /** Takes this VM's share out of both gauges (its root is going away). */
  clear(): void {
    this.show(0, 0);
    for (let i = 0; i < BUCKETS; i++) unchecked((this.counts[i] = 0));
  }

  private show(lastSecond: i64, lastTenSeconds: i64): void {
    if (lastSecond != this.shownLastSecond) incrementMetric(this.lastSecond, lastSecond - this.shownLastSecond);
    if (lastTenSeconds != this.shownLastTenSeconds) incrementMetric(this.lastTenSeconds, lastTenSeconds - this.shownLastTenSeconds);
    this.shownLastSecond = lastSecond;
    this.shownLastTenSeconds = lastTenSeconds;
  }
}
