// What the HTTP/1.x request and response parsers read the same way: the
// header field names that decide a message's framing, and byte-for-byte
// matching of the lower-cased names and tokens they keep. Each parser keeps
// its own grammar for the values (the request side is llhttp's strict one,
// the response side only observes).
//
// Pure: no host calls.

import { isTokenChar, toLower } from "./http1_chars";

// header fields that decide framing, as `FieldName.kind` reports them
export const H_OTHER = 0;
export const H_CONTENT_LENGTH = 1;
export const H_TRANSFER_ENCODING = 2;
export const H_CONNECTION = 3;
export const H_PROXY_CONNECTION = 4;
export const H_UPGRADE = 5;

/** Name bytes kept: the longest name of a framing header ("transfer-encoding"); longer names are counted, not kept. */
const NAME_BYTES = 17;

/** The lower-cased bytes at `buf[start..]` are `text` (the caller checks that they exist). */
export function bytesAre(buf: Uint8Array, start: i32, text: string): bool {
  let b = buf.dataStart + <usize>start;
  let t = changetype<usize>(text);
  let n = text.length;
  for (let k = 0; k < n; k++) {
    if (<u32>load<u8>(b + <usize>k) != <u32>load<u16>(t + ((<usize>k) << 1))) return false;
  }
  return true;
}

/** A header (or trailer) field name read one byte at a time, without allocation. */
export class FieldName {
  private buf: Uint8Array = new Uint8Array(NAME_BYTES);
  private len: i32 = 0;

  /** The name's first byte; false when it is not a token byte. */
  start(c: i32): bool {
    if (!isTokenChar(c)) return false;
    unchecked((this.buf[0] = <u8>toLower(c)));
    this.len = 1;
    return true;
  }

  /** A further byte of the name (before the colon); false when it is not a token byte. */
  add(c: i32): bool {
    if (!isTokenChar(c)) return false;
    if (this.len < NAME_BYTES) unchecked((this.buf[this.len] = <u8>toLower(c)));
    this.len++;
    return true;
  }

  /**
   * Further bytes of the name: the token bytes at `p` (up to `len`), taken in
   * one go; returns how many (the first byte that is not a token byte ends the run).
   */
  addRun(p: usize, len: i32): i32 {
    let n = 0;
    let have = this.len;
    let kept = this.buf.dataStart + <usize>have;
    while (n < len) {
      let c = <i32>load<u8>(p + <usize>n);
      if (!isTokenChar(c)) break;
      if (have + n < NAME_BYTES) store<u8>(kept + <usize>n, <u8>toLower(c));
      n++;
    }
    this.len = have + n;
    return n;
  }

  /** Which framing header the complete name is (H_OTHER for any other). */
  kind(): i32 {
    let n = this.len;
    if (n == 14 && bytesAre(this.buf, 0, "content-length")) return H_CONTENT_LENGTH;
    if (n == 17 && bytesAre(this.buf, 0, "transfer-encoding")) return H_TRANSFER_ENCODING;
    if (n == 10 && bytesAre(this.buf, 0, "connection")) return H_CONNECTION;
    if (n == 16 && bytesAre(this.buf, 0, "proxy-connection")) return H_PROXY_CONNECTION;
    if (n == 7 && bytesAre(this.buf, 0, "upgrade")) return H_UPGRADE;
    return H_OTHER;
  }
}
