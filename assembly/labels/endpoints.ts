// Endpoint labels from request targets: the path, its id segments collapsed,
// escaped (label_values.ts), bounded. Works on bytes into a caller's buffer:
// no string is built unless a new series is defined.
//
//   /a/b?x=1#f          → /a/b
//   http://host:8080/x  → /x          (absolute-form)
//   http://host         → /
//   host:443 (CONNECT)  → host:443    (authority-form stays)
//   *                   → *           (asterisk-form)
//   /users/42           → /users/{id} (with "collapse": ["numbers"])
//   longer than MAX_ENDPOINT_BYTES once escaped → other

import { DASH, HASH, QUESTION, SLASH, isDigit } from "../bytes/ascii";
import { finishEscaping, mustEscape, writeEscaped } from "./label_values";

/** Longest endpoint label kept; longer ones are counted as `other`. */
export const MAX_ENDPOINT_BYTES = 256;

/** Room an endpoint label is written into: the longest label, plus escaping done before the length check. */
export const ENDPOINT_BUFFER_BYTES = MAX_ENDPOINT_BYTES + 64;

/** The id-segment rules of one plugin (`endpoints.collapse`, `endpoints.placeholder`). */
export class CollapseRules {
  constructor(
    public numbers: bool,
    public uuids: bool,
    public placeholder: Uint8Array,
  ) {}
}

function isHexByte(c: i32): bool {
  return isDigit(c) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

/** `len` bytes at `p` are one or more ASCII digits. */
function isNumberSegment(p: usize, len: i32): bool {
  if (len <= 0) return false;
  for (let i = 0; i < len; i++) if (!isDigit(<i32>load<u8>(p + <usize>i))) return false;
  return true;
}

/** `len` bytes at `p` are a UUID in its 8-4-4-4-12 hex form (any case, any version). */
function isUuidSegment(p: usize, len: i32): bool {
  if (len != 36) return false;
  for (let i = 0; i < 36; i++) {
    let c = <i32>load<u8>(p + <usize>i);
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != DASH) return false;
    } else if (!isHexByte(c)) {
      return false;
    }
  }
  return true;
}

/** Where the path of a request target starts and ends (`start == end`: the path is empty, i.e. "/"). */
function pathStart(p: usize, len: i32): i32 {
  if (len == 0 || load<u8>(p) == SLASH) return 0;
  // absolute-form: scheme "://" authority [path]
  for (let i = 0; i + 2 < len; i++) {
    let c = <i32>load<u8>(p + <usize>i);
    if (c == SLASH || c == QUESTION || c == HASH) break;
    if (c == 58 /* : */ && load<u8>(p + <usize>(i + 1)) == SLASH && load<u8>(p + <usize>(i + 2)) == SLASH) {
      for (let j = i + 3; j < len; j++) {
        let d = <i32>load<u8>(p + <usize>j);
        if (d == SLASH) return j;
        if (d == QUESTION || d == HASH) return len; // no path: "/"
      }
      return len;
    }
  }
  return 0; // authority-form (CONNECT) or asterisk-form: kept whole
}

/**
 * Writes the endpoint label of the request target in `len` bytes at `p` to
 * `out` (ENDPOINT_BUFFER_BYTES long) and returns its length, or -1 when the
 * label is `other`. `truncated`: the parser kept only the target's first
 * bytes; unless they already include the end of the path (a `?` or `#`), the
 * path is unknown and the label is `other`.
 */
export function endpointLabel(p: usize, len: i32, truncated: bool, rules: CollapseRules, out: Uint8Array): i32 {
  let start = pathStart(p, len);
  let end = len;
  for (let i = start; i < len; i++) {
    let c = <i32>load<u8>(p + <usize>i);
    if (c == QUESTION || c == HASH) {
      end = i;
      break;
    }
  }
  if (truncated && end == len) return -1;
  if (end <= start) {
    store<u8>(out.dataStart, SLASH);
    return 1;
  }
  let n = 0;
  let limit = MAX_ENDPOINT_BYTES + 3; // room to notice "too long" without overrunning `out`
  let collapse = (rules.numbers || rules.uuids) && load<u8>(p + <usize>start) == SLASH;
  let seg = start;
  while (seg < end) {
    // one segment: a "/" (if any) and the bytes up to the next "/"
    let segEnd = seg + 1;
    while (segEnd < end && load<u8>(p + <usize>segEnd) != SLASH) segEnd++;
    let body = load<u8>(p + <usize>seg) == SLASH ? seg + 1 : seg;
    if (collapse && body > seg) {
      let sp = p + <usize>body;
      let sl = segEnd - body;
      if ((rules.numbers && isNumberSegment(sp, sl)) || (rules.uuids && isUuidSegment(sp, sl))) {
        let ph = rules.placeholder;
        if (n + 1 + ph.length > limit) return -1;
        store<u8>(out.dataStart + <usize>n, SLASH);
        n++;
        memory.copy(out.dataStart + <usize>n, ph.dataStart, <usize>ph.length);
        n += ph.length;
        seg = segEnd;
        continue;
      }
    }
    for (let i = seg; i < segEnd; i++) {
      if (n + 3 > limit) return -1;
      let c = <i32>load<u8>(p + <usize>i);
      if (mustEscape(c)) n = writeEscaped(out, n, c);
      else {
        store<u8>(out.dataStart + <usize>n, <u8>c);
        n++;
      }
    }
    seg = segEnd;
  }
  n = finishEscaping(out, n);
  return n > MAX_ENDPOINT_BYTES ? -1 : n;
}

/**
 * Writes the label of a host name (a TLS server_name) to `out`
 * (ENDPOINT_BUFFER_BYTES long) and returns its length, or -1 when the label
 * is `other` (`truncated`: only its start was kept; or too long once
 * escaped). Host names are case-insensitive (RFC 4343): ASCII letters are
 * lower-cased, so `Example.COM` and `example.com` share a series.
 */
export function hostLabel(p: usize, len: i32, truncated: bool, out: Uint8Array): i32 {
  if (truncated || len == 0) return -1;
  let n = 0;
  let limit = MAX_ENDPOINT_BYTES + 3;
  for (let i = 0; i < len; i++) {
    if (n + 3 > limit) return -1;
    let c = <i32>load<u8>(p + <usize>i);
    if (c >= 65 && c <= 90) c += 32;
    if (mustEscape(c)) n = writeEscaped(out, n, c);
    else {
      store<u8>(out.dataStart + <usize>n, <u8>c);
      n++;
    }
  }
  n = finishEscaping(out, n);
  return n > MAX_ENDPOINT_BYTES ? -1 : n;
}
