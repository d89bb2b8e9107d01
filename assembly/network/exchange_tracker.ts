// The requests of one connection that await their response, for every
// protocol: it matches each response to its request (in order, as HTTP/1.x
// answers, or by id, as Foo does) and keeps what the request's metrics need
// when its response comes: when it started, and its series (or, when its
// endpoint is not admitted yet, its method and a ticket for its candidate
// label; see labels/endpoint_table.ts).
//
// Bounded: at most MAX_PENDING_REQUESTS are remembered; the rings grow by
// doubling from 4 and shrink back when they empty. Past the cap a request is
// counted at once and not timed ("untimed"): in order-matched protocols the
// response that answers it is still recognised in turn, so the ones after it
// stay matched; in id-matched ones its response is unmatched.

import { MAX_PENDING_REQUESTS } from "../codec/decoder";
import { EndpointSeries } from "../metrics/tcp_metrics";

const INITIAL_CAPACITY = 4;

/** What `push` did with a request. */
export enum Pushed {
  /** Remembered: its response will be matched and timed. */
  Stored,
  /** Past the cap: counted now, never timed. */
  Untimed,
  /** Its id is already awaiting a response (id-matched protocols): the first keeps the id. */
  Duplicate,
}

/** What a response matched. */
export enum Matched {
  /** No waiting request: an unmatched response. */
  Nothing,
  /** A remembered request: read the `matched*` fields. */
  Request,
  /** A request past the cap: counted, not timed. */
  Untimed,
}

export class ExchangeTracker {
  private starts: StaticArray<u64> = new StaticArray<u64>(INITIAL_CAPACITY);
  private ids: StaticArray<u64> = new StaticArray<u64>(INITIAL_CAPACITY);
  private series: StaticArray<EndpointSeries | null> = new StaticArray<EndpointSeries | null>(INITIAL_CAPACITY);
  private methods: StaticArray<string | null> = new StaticArray<string | null>(INITIAL_CAPACITY);
  private tickets: StaticArray<u64> = new StaticArray<u64>(INITIAL_CAPACITY);
  /** Per entry: untimed requests that came right before it (answered before it; order-matched protocols). */
  private untimedBefore: StaticArray<u32> = new StaticArray<u32>(INITIAL_CAPACITY);
  private head: i32 = 0;
  private count: i32 = 0;
  private untimedAtTail: u32 = 0;

  // ---- the request the last `matchFront`/`matchId` found (Matched.Request)
  matchedStartNs: u64 = 0;
  /** Its series, or null when its endpoint awaited admission (then `matchedMethod`, `matchedTicket`). */
  matchedSeries: EndpointSeries | null = null;
  matchedMethod: string = "";
  matchedTicket: u64 = 0;

  /** Requests remembered now. */
  get size(): i32 {
    return this.count;
  }

  /** Nothing awaits a response. */
  get empty(): bool {
    return this.count == 0 && this.untimedAtTail == 0;
  }

  /**
   * Remembers a request that started at `startNs`. `series`: where it counts,
   * or null while its endpoint awaits admission (`method`, `ticket` then say
   * what to admit). `byId`: responses find it by `id`.
   */
  push(startNs: u64, series: EndpointSeries | null, method: string, ticket: u64, id: u64, byId: bool): Pushed {
    if (byId && this.indexOf(id) >= 0) return Pushed.Duplicate;
    if (this.count == MAX_PENDING_REQUESTS) {
      if (!byId) this.untimedAtTail++;
      return Pushed.Untimed;
    }
    if (this.count == this.starts.length) this.resize(this.starts.length << 1);
    let i = (this.head + this.count) % this.starts.length;
    unchecked((this.starts[i] = startNs));
    unchecked((this.ids[i] = id));
    unchecked((this.series[i] = series));
    unchecked((this.methods[i] = method));
    unchecked((this.tickets[i] = ticket));
    unchecked((this.untimedBefore[i] = this.untimedAtTail));
    this.untimedAtTail = 0;
    this.count++;
    return Pushed.Stored;
  }

  /** The oldest waiting request got its response (order-matched protocols). */
  matchFront(): Matched {
    if (this.count == 0) {
      if (this.untimedAtTail == 0) return Matched.Nothing;
      this.untimedAtTail--;
      return Matched.Untimed;
    }
    let h = this.head;
    let before = unchecked(this.untimedBefore[h]);
    if (before > 0) {
      unchecked((this.untimedBefore[h] = before - 1));
      return Matched.Untimed;
    }
    this.take(h);
    this.head = (h + 1) % this.starts.length;
    this.count--;
    this.shrinkIfEmpty();
    return Matched.Request;
  }

  /** The request with this id got its response (id-matched protocols). */
  matchId(id: u64): Matched {
    let k = this.indexOf(id);
    if (k < 0) return Matched.Nothing;
    let cap = this.starts.length;
    this.take((this.head + k) % cap);
    // close the gap: the entries after it move down by one
    for (let j = k + 1; j < this.count; j++) {
      let from = (this.head + j) % cap;
      let to = (this.head + j - 1) % cap;
      unchecked((this.starts[to] = this.starts[from]));
      unchecked((this.ids[to] = this.ids[from]));
      unchecked((this.series[to] = this.series[from]));
      unchecked((this.methods[to] = this.methods[from]));
      unchecked((this.tickets[to] = this.tickets[from]));
      unchecked((this.untimedBefore[to] = this.untimedBefore[from]));
    }
    this.count--;
    unchecked((this.series[(this.head + this.count) % cap] = null));
    this.shrinkIfEmpty();
    return Matched.Request;
  }

  /**
   * Takes the oldest remembered request without a response (the connection
   * ended, or its responses are no longer read); false when none is left.
   */
  drainOne(): bool {
    this.untimedAtTail = 0;
    if (this.count == 0) return false;
    let h = this.head;
    this.take(h);
    this.head = (h + 1) % this.starts.length;
    this.count--;
    return true;
  }

  /** Forgets everything and lets a grown ring go (a new connection). */
  clear(): void {
    for (let k = 0; k < this.count; k++) unchecked((this.series[(this.head + k) % this.starts.length] = null));
    this.head = 0;
    this.count = 0;
    this.untimedAtTail = 0;
    this.shrinkIfEmpty();
  }

  private take(i: i32): void {
    this.matchedStartNs = unchecked(this.starts[i]);
    this.matchedSeries = unchecked(this.series[i]);
    this.matchedMethod = unchecked(this.methods[i]) as string;
    this.matchedTicket = unchecked(this.tickets[i]);
    unchecked((this.series[i] = null));
  }

  /** Position (0 = oldest) of the waiting request with this id, newest first (replies tend to answer recent requests); -1 when none. */
  private indexOf(id: u64): i32 {
    let cap = this.starts.length;
    for (let k = this.count - 1; k >= 0; k--) {
      if (unchecked(this.ids[(this.head + k) % cap]) == id) return k;
    }
    return -1;
  }

  private shrinkIfEmpty(): void {
    if (this.count == 0 && this.starts.length > INITIAL_CAPACITY) this.resize(INITIAL_CAPACITY);
    if (this.count == 0) this.head = 0;
  }

  /** Moves the entries, oldest first, into rings of `size` (≥ count). */
  private resize(size: i32): void {
    let cap = this.starts.length;
    let starts = new StaticArray<u64>(size);
    let ids = new StaticArray<u64>(size);
    let series = new StaticArray<EndpointSeries | null>(size);
    let methods = new StaticArray<string | null>(size);
    let tickets = new StaticArray<u64>(size);
    let untimed = new StaticArray<u32>(size);
    for (let k = 0; k < this.count; k++) {
      let j = (this.head + k) % cap;
      unchecked((starts[k] = this.starts[j]));
      unchecked((ids[k] = this.ids[j]));
      unchecked((series[k] = this.series[j]));
      unchecked((methods[k] = this.methods[j]));
      unchecked((tickets[k] = this.tickets[j]));
      unchecked((untimed[k] = this.untimedBefore[j]));
    }
    this.starts = starts;
    this.ids = ids;
    this.series = series;
    this.methods = methods;
    this.tickets = tickets;
    this.untimedBefore = untimed;
    this.head = 0;
  }
}
