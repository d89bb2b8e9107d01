// Endpoint labels waiting for the response that decides whether they get a
// series of their own (see endpoint_table.ts), kept in one fixed ring of bytes
// per plugin: no allocation per request, and memory that does not grow with
// the number of requests in flight. A request keeps only its ticket; when the
// ring has wrapped over its label by the time the response comes (more than
// CANDIDATE_RING_BYTES of newer candidates in between), the label is gone and
// the request counts as `other` — its endpoint gets in with a later request.

/** Bytes of candidate labels a plugin keeps (each takes its length + 2). */
export const CANDIDATE_RING_BYTES = 16 * 1024;

/** The ticket of no candidate. */
export const NO_TICKET: u64 = u64.MAX_VALUE;

export class CandidateRing {
  private ring: StaticArray<u8> = new StaticArray<u8>(CANDIDATE_RING_BYTES);
  /** Bytes ever written: the ticket of the next candidate. */
  private written: u64 = 0;

  /** Keeps `len` (< 65536) bytes of `label`; returns the ticket to get them back with. */
  put(label: Uint8Array, len: i32): u64 {
    let ticket = this.written;
    this.putByte(ticket, len & 0xff);
    this.putByte(ticket + 1, len >> 8);
    for (let i = 0; i < len; i++) this.putByte(ticket + 2 + <u64>i, unchecked(label[i]));
    this.written = ticket + 2 + <u64>len;
    return ticket;
  }

  /** Copies the candidate of `ticket` into `out`; returns its length, or -1 when it has been overwritten. */
  get(ticket: u64, out: Uint8Array): i32 {
    if (ticket == NO_TICKET || ticket >= this.written) return -1;
    if (this.written - ticket > <u64>CANDIDATE_RING_BYTES) return -1;
    let len = <i32>this.getByte(ticket) | ((<i32>this.getByte(ticket + 1)) << 8);
    if (this.written - ticket < 2 + <u64>len || len > out.length) return -1;
    for (let i = 0; i < len; i++) unchecked((out[i] = this.getByte(ticket + 2 + <u64>i)));
    return len;
  }

  private putByte(at: u64, b: i32): void {
    unchecked((this.ring[<i32>(at % CANDIDATE_RING_BYTES)] = <u8>b));
  }

  private getByte(at: u64): u8 {
    return unchecked(this.ring[<i32>(at % CANDIDATE_RING_BYTES)]);
  }
}
