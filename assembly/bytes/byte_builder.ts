// A growable byte buffer, cleared and reused rather than reallocated (the
// rare reads sitio rewrites, a response head held back across reads).

export class ByteBuilder {
  private buf: Uint8Array;
  length: i32 = 0;

  constructor(capacity: i32) {
    this.buf = new Uint8Array(max(capacity, 64));
  }

  /** Start of the bytes written so far (valid until the next append). */
  get dataStart(): usize {
    return this.buf.dataStart;
  }

  append(ptr: usize, len: i32): void {
    if (len <= 0) return;
    this.reserve(len);
    memory.copy(this.buf.dataStart + <usize>this.length, ptr, <usize>len);
    this.length += len;
  }

  /** Empties the buffer, keeping its memory (up to `keep` bytes; a larger one is let go). */
  clear(keep: i32 = 64 * 1024): void {
    this.length = 0;
    if (this.buf.length > keep) this.buf = new Uint8Array(64);
  }

  appendBytes(bytes: Uint8Array): void {
    this.append(bytes.dataStart, bytes.length);
  }

  /** Appends the UTF-8 encoding of `s`. */
  appendString(s: string): void {
    let b = String.UTF8.encode(s);
    this.append(changetype<usize>(b), b.byteLength);
  }

  /** The bytes written so far (a view; no copy). */
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }

  private reserve(more: i32): void {
    let need = this.length + more;
    if (need <= this.buf.length) return;
    let bigger = new Uint8Array(max(need, this.buf.length << 1));
    memory.copy(bigger.dataStart, this.buf.dataStart, <usize>this.length);
    this.buf = bigger;
  }
}
