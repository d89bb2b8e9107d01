// The HTTP/1.x requests of one connection still awaiting their response, as
// far as response framing needs them: one flag byte each (was it HEAD, a
// CONNECT, a protocol switch?), oldest first. HTTP/1.x answers in request
// order, so the response at hand always answers the oldest one.
//
// Bounded: at most MAX_PENDING_REQUESTS are remembered. Past the cap, plain
// requests (whose responses frame as usual) are only counted, in order; a
// request whose response would frame differently (HEAD, CONNECT, Upgrade)
// cannot be remembered, so the framing of its response, and of everything
// after it, is unknown: `frontUnknown` tells the decoder when it gets there,
// and the decoder stops reading the upstream rather than guess.
//
// The ring grows by doubling from 4 and shrinks back when it empties, so a
// burst of pipelined requests does not keep its memory.

import { MAX_PENDING_REQUESTS } from "./decoder";

/** Request flags that change how its response is read. */
export const REQUEST_HEAD: u8 = 1;
export const REQUEST_CONNECT: u8 = 2;
/** CONNECT, or Upgrade with Connection: upgrade. */
export const REQUEST_SWITCH: u8 = 4;

const INITIAL_CAPACITY = 4;

export class PendingFraming {
  private flags: StaticArray<u8> = new StaticArray<u8>(INITIAL_CAPACITY);
  /** Per entry: plain requests past the cap that came right before it (answered before it). */
  private plainBefore: StaticArray<u32> = new StaticArray<u32>(INITIAL_CAPACITY);
  private head: i32 = 0;
  private count: i32 = 0;
  /** Plain requests past the cap after the newest entry. */
  private plainAtTail: u32 = 0;
  /** A request past the cap whose framing differs came after `plainAtTail` plain ones: nothing after it can be framed. */
  private unknownAtTail: bool = false;

  /** No request awaits a response. */
  get empty(): bool {
    return this.count == 0 && this.plainAtTail == 0 && !this.unknownAtTail;
  }

  /** The response at hand answers the request whose framing was not remembered. */
  get frontUnknown(): bool {
    return this.count == 0 && this.plainAtTail == 0 && this.unknownAtTail;
  }

  /** Flags of the request the next response answers (0 for a plain request past the cap). */
  get frontFlags(): u8 {
    if (this.count == 0 || unchecked(this.plainBefore[this.head]) > 0) return 0;
    return unchecked(this.flags[this.head]);
  }

  /** Remembers a request's flags. */
  push(flags: u8): void {
    if (this.unknownAtTail) return; // already past what can be framed
    if (this.count == MAX_PENDING_REQUESTS) {
      if (flags == 0) this.plainAtTail++;
      else this.unknownAtTail = true;
      return;
    }
    if (this.count == this.flags.length) this.resize(this.flags.length << 1);
    let cap = this.flags.length;
    let i = (this.head + this.count) % cap;
    unchecked((this.flags[i] = flags));
    unchecked((this.plainBefore[i] = this.plainAtTail));
    this.plainAtTail = 0;
    this.count++;
  }

  /** The oldest pending request got its final response. */
  pop(): void {
    if (this.count == 0) {
      if (this.plainAtTail > 0) this.plainAtTail--;
      return;
    }
    let h = this.head;
    let before = unchecked(this.plainBefore[h]);
    if (before > 0) {
      unchecked((this.plainBefore[h] = before - 1));
      return;
    }
    this.head = (h + 1) % this.flags.length;
    this.count--;
    if (this.count == 0 && this.flags.length > INITIAL_CAPACITY) this.resize(INITIAL_CAPACITY);
  }

  /** Forgets everything (a new connection). */
  clear(): void {
    this.head = 0;
    this.count = 0;
    this.plainAtTail = 0;
    this.unknownAtTail = false;
    if (this.flags.length > INITIAL_CAPACITY) this.resize(INITIAL_CAPACITY);
  }

  /** Moves the entries, oldest first, into rings of `size` (≥ count). */
  private resize(size: i32): void {
    let cap = this.flags.length;
    let flags = new StaticArray<u8>(size);
    let before = new StaticArray<u32>(size);
    for (let k = 0; k < this.count; k++) {
      let j = (this.head + k) % cap;
      unchecked((flags[k] = this.flags[j]));
      unchecked((before[k] = this.plainBefore[j]));
    }
    this.flags = flags;
    this.plainBefore = before;
    this.head = 0;
  }
}
