// The requests of one connection that still await their response, oldest
// first. HTTP/1.x answers in request order, so the response at hand always
// belongs to the oldest pending request.
//
// Bounded: at most MAX_PENDING requests are remembered. Requests beyond the
// cap are not remembered but counted (`untimed`), in order, so the responses
// that answer them are still recognised and the ones after stay matched.
// (An untimed request's method is not kept either: were it HEAD, its response
// would be read as if it had a body; 64 unanswered requests is already abuse.)

import { EndpointSeries } from "../network/tcp_metrics";

/** Pending requests remembered per connection. */
export const MAX_PENDING = 64;

/** Request flags that change how its response is read. */
export const REQUEST_HEAD: u8 = 1;
export const REQUEST_CONNECT: u8 = 2;
/** CONNECT, or Upgrade with Connection: upgrade. */
export const REQUEST_SWITCH: u8 = 4;

export class PendingRequests {
  private series: Array<EndpointSeries | null> = new Array<EndpointSeries | null>(0);
  private starts: StaticArray<u64> = new StaticArray<u64>(0);
  private flagBits: StaticArray<u8> = new StaticArray<u8>(0);
  /** Index of the oldest entry. */
  private head: i32 = 0;
  private count: i32 = 0;
  /** For each entry: requests past the cap that came right before it (answered first). */
  private untimedBefore: StaticArray<u32> = new StaticArray<u32>(0);
  /** Requests past the cap after the newest entry. */
  private untimedAtTail: u32 = 0;

  /** No request awaits a response. */
  get empty(): bool {
    return this.count == 0 && this.untimedAtTail == 0;
  }

  /** The oldest pending request is one that was not remembered (its response is counted, not timed). */
  get frontUntimed(): bool {
    return this.count == 0 ? this.untimedAtTail > 0 : unchecked(this.untimedBefore[this.head]) > 0;
  }

  /** Remembers a request; false when the cap was reached (the request is then counted as untimed). */
  push(series: EndpointSeries, startNs: u64, flags: u8): bool {
    if (this.count == MAX_PENDING) {
      this.untimedAtTail++;
      return false;
    }
    if (this.count == this.starts.length) this.grow();
    let cap = this.starts.length;
    let i = (this.head + this.count) % cap;
    this.series[i] = series;
    unchecked((this.starts[i] = startNs));
    unchecked((this.flagBits[i] = flags));
    unchecked((this.untimedBefore[i] = this.untimedAtTail));
    this.untimedAtTail = 0;
    this.count++;
    return true;
  }

  /** The oldest remembered request's series (callers check `empty` and `frontUntimed` first). */
  get frontSeries(): EndpointSeries | null {
    return this.count == 0 ? null : this.series[this.head];
  }

  get frontStartNs(): u64 {
    return this.count == 0 ? 0 : unchecked(this.starts[this.head]);
  }

  /** Flags of the request the next response answers (0 when it is untimed or none is pending). */
  get frontFlags(): u8 {
    return this.count == 0 || this.frontUntimed ? 0 : unchecked(this.flagBits[this.head]);
  }

  /** The oldest pending request got its response. */
  pop(): void {
    if (this.count == 0) {
      if (this.untimedAtTail > 0) this.untimedAtTail--;
      return;
    }
    let h = this.head;
    if (unchecked(this.untimedBefore[h]) > 0) {
      unchecked((this.untimedBefore[h] = this.untimedBefore[h] - 1));
      return;
    }
    this.series[h] = null;
    this.head = (h + 1) % this.starts.length;
    this.count--;
  }

  /** Doubles the ring (4, 8, … MAX_PENDING), oldest entry first. */
  private grow(): void {
    let cap = this.starts.length;
    let size = cap == 0 ? 4 : min(cap << 1, MAX_PENDING);
    let series = new Array<EndpointSeries | null>(size);
    let starts = new StaticArray<u64>(size);
    let flags = new StaticArray<u8>(size);
    let untimed = new StaticArray<u32>(size);
    for (let k = 0; k < this.count; k++) {
      let j = (this.head + k) % cap;
      series[k] = this.series[j];
      unchecked((starts[k] = this.starts[j]));
      unchecked((flags[k] = this.flagBits[j]));
      unchecked((untimed[k] = this.untimedBefore[j]));
    }
    this.series = series;
    this.starts = starts;
    this.flagBits = flags;
    this.untimedBefore = untimed;
    this.head = 0;
  }
}
