// The custom 404 page at L4: upstream HTTP/1.x 404 responses replaced on the
// wire, on top of the decoder's response events.
//
// The status line is kept byte for byte, and so is every header except the
// ones that describe the old body (Content-Length, Transfer-Encoding,
// Content-Type, Content-Encoding); then the page's Content-Type and
// Content-Length, then the page. A response to HEAD gets the same head and no
// page bytes. The original body is dropped whatever its framing. Every other
// byte passes unchanged; while a head whose status is not known yet (or is
// 404) is incomplete, its bytes are held back, at most MAX_HELD_HEAD_BYTES.
//
// The network stream drives it window by window (a window is one stretch of
// an upstream read): beginWindow, then the decoder's events in order with the
// window offset they happened at, then endWindow, which returns the bytes to
// forward for the window, or null when they pass unchanged. Pure: no host
// calls.

import { ByteBuilder } from "../bytes/byte_builder";
import { CR, LF } from "../bytes/ascii";
import { Decoder } from "./decoder";
import { decimal } from "../bytes/decimal";

/** Bytes of a 404 head withheld across reads before giving up on rewriting it (it then passes untouched). */
export const MAX_HELD_HEAD_BYTES = 32 * 1024;

/** Header names (lower case) whose value belonged to the replaced body. */
const DROPPED: string[] = ["content-length", "transfer-encoding", "content-type", "content-encoding"];

/** The bytes of the page and its content type, encoded once per configuration. */
export class CustomPage {
  readonly body: Uint8Array;
  /** "Content-Type: …\r\nContent-Length: …\r\n\r\n" */
  readonly headerTail: Uint8Array;

  constructor(contentType: string, body: string) {
    let bytes = Uint8Array.wrap(String.UTF8.encode(body));
    this.body = bytes;
    let tail = "Content-Type: " + contentType + "\r\nContent-Length: " + decimal(bytes.length) + "\r\n\r\n";
    this.headerTail = Uint8Array.wrap(String.UTF8.encode(tail));
  }
}

/** Appends to `out` the custom page response for the 404 head at `head` (`len` bytes, ending in the blank line). */
export function writeCustom404(head: usize, len: i32, page: CustomPage, bodyless: bool, out: ByteBuilder): void {
  let lineStart = 0;
  let first = true;
  while (lineStart < len) {
    let end = lineEnd(head, lineStart, len);
    if (end == lineStart || end == len) break; // the blank line closing the head
    let next = load<u8>(head + <usize>end) == CR ? end + 2 : end + 1;
    if (first || !isDropped(head + <usize>lineStart, end - lineStart)) out.append(head + <usize>lineStart, next - lineStart);
    first = false;
    lineStart = next;
  }
  out.appendBytes(page.headerTail);
  if (!bodyless) out.appendBytes(page.body);
}

/** Index of the CR LF (or bare LF) that ends the line starting at `from` (or `len`). */
function lineEnd(head: usize, from: i32, len: i32): i32 {
  for (let i = from; i < len; i++) {
    let c = <i32>load<u8>(head + <usize>i);
    if (c == LF) return i;
    if (c == CR && i + 1 < len && load<u8>(head + <usize>(i + 1)) == LF) return i;
  }
  return len;
}

function isDropped(line: usize, len: i32): bool {
  let colon = 0;
  while (colon < len && load<u8>(line + <usize>colon) != 58) colon++;
  for (let d = 0; d < DROPPED.length; d++) {
    let name = unchecked(DROPPED[d]);
    if (name.length != colon) continue;
    let same = true;
    for (let k = 0; k < colon; k++) {
      let c = <i32>load<u8>(line + <usize>k);
      if (c >= 65 && c <= 90) c += 32;
      if (c != name.charCodeAt(k)) {
        same = false;
        break;
      }
    }
    if (same) return true;
  }
  return false;
}

/** The bytes every window's output is built in (one VM runs one callback at a time). */
const output = new ByteBuilder(4096);

export class Custom404Rewriter {
  /** Upstream 404 responses replaced since `takeReplaced` was last called. */
  private replaced: u32 = 0;
  /** The start of a response head withheld from the client until its status is known. */
  private held: ByteBuilder = new ByteBuilder(64);
  private holding: bool = false;
  /** The current response head grew past MAX_HELD_HEAD_BYTES: it is not rewritten. */
  private givenUp: bool = false;
  /** Inside the body of a replaced 404: its bytes are dropped. */
  private swallowing: bool = false;
  /** Rewriting stopped for good (the upstream is no longer decoded): bytes pass as they come. */
  private off: bool = false;

  // ---- the window being processed
  private windowPtr: usize = 0;
  /** The window's output is being built in `output` (null result otherwise: the window passes unchanged). */
  private changed: bool = false;
  /** Window bytes before this index are already in the output (or dropped). */
  private emitFrom: i32 = 0;

  constructor(private page: CustomPage) {}

  /** Back to the state of a new connection. */
  reset(): void {
    this.replaced = 0;
    this.held.clear(MAX_HELD_HEAD_BYTES);
    this.holding = false;
    this.givenUp = false;
    this.swallowing = false;
    this.off = false;
  }

  /** The 404 responses replaced since the last call (the caller counts them). */
  takeReplaced(): u32 {
    let n = this.replaced;
    this.replaced = 0;
    return n;
  }

  /** Inside a replaced 404's body: upstream bytes may be skipped unread (they are dropped anyway). */
  get dropping(): bool {
    return this.swallowing;
  }

  /** Neither holding a head nor dropping a body: bytes skipped unread pass unchanged. */
  get idle(): bool {
    return !this.holding && !this.swallowing;
  }

  beginWindow(ptr: usize): void {
    this.windowPtr = ptr;
    this.changed = false;
    this.emitFrom = 0;
  }

  /** The decoder reported a response head ending at window offset `end` (`bodyless`: it also ended the response). */
  responseHead(d: Decoder, end: i32, bodyless: bool): void {
    if (this.off) return;
    if (d.interim) {
      this.flushHeld();
      return;
    }
    let giveUp = this.givenUp;
    this.givenUp = false;
    if (d.status != 404 || giveUp) {
      this.flushHeld();
      return;
    }
    // the head: withheld bytes from earlier windows, then the rest of it in this one
    let heldLen = this.holding ? this.held.length : 0;
    let inWindow = d.headBytes - heldLen;
    let start = end - inWindow;
    this.emitUpTo(start);
    if (!this.holding) {
      writeCustom404(this.windowPtr + <usize>start, inWindow, this.page, d.responseToHead, output);
    } else {
      this.held.append(this.windowPtr + <usize>start, inWindow);
      writeCustom404(this.held.dataStart, this.held.length, this.page, d.responseToHead, output);
      this.holding = false;
      this.held.clear(MAX_HELD_HEAD_BYTES);
    }
    this.emitFrom = end;
    this.swallowing = !bodyless;
    this.replaced++;
  }

  /** The decoder reported the end of a response at window offset `end`. */
  responseEnd(end: i32): void {
    if (this.swallowing) {
      this.change();
      this.emitFrom = end;
      this.swallowing = false;
    }
  }

  /** The upstream is decoded no more: what is held, and everything after, passes through. */
  stopped(): void {
    if (this.off) return;
    this.off = true;
    this.swallowing = false;
    this.flushHeld();
  }

  /** The upstream closed: a head still withheld is lost with the connection (the response was cut short anyway). */
  upstreamClosed(): void {
    this.holding = false;
    this.held.clear(MAX_HELD_HEAD_BYTES);
  }

  /**
   * The window (`len` bytes) is done; `d` tells whether a response head is
   * still incomplete at its end. True when the window's bytes are replaced by
   * `outputStart`/`outputLength` (valid until the next window); false when they
   * pass unchanged.
   */
  endWindow(d: Decoder, len: i32): bool {
    if (this.swallowing) {
      this.change();
      this.emitFrom = len;
    } else if (!this.off && d.inResponseHead() && (d.status == 0 || d.status == 404) && !this.givenUp) {
      let heldLen = this.holding ? this.held.length : 0;
      if (d.headBytes > MAX_HELD_HEAD_BYTES) {
        this.givenUp = true;
        this.flushHeld();
      } else {
        let inWindow = d.headBytes - heldLen;
        this.emitUpTo(len - inWindow);
        this.held.append(this.windowPtr + <usize>(len - inWindow), inWindow);
        this.holding = true;
        this.emitFrom = len;
      }
    } else {
      this.flushHeld();
    }
    if (!this.changed) return false;
    this.emitUpTo(len);
    return true;
  }

  /** A window skipped unread (only while `idle` or `dropping`): true when it is dropped (its output is empty). */
  skippedWindow(): bool {
    if (!this.swallowing) return false;
    output.clear();
    return true;
  }

  /** The replacement of the last window (see endWindow). */
  get outputStart(): usize {
    return output.dataStart;
  }

  get outputLength(): i32 {
    return output.length;
  }

  /** Forwards a withheld head start (it precedes every byte of the current window). */
  private flushHeld(): void {
    if (!this.holding) return;
    this.holding = false;
    this.change();
    output.append(this.held.dataStart, this.held.length);
    this.held.clear(MAX_HELD_HEAD_BYTES);
  }

  /** Copies the window's bytes up to `end` into the output. */
  private emitUpTo(end: i32): void {
    this.change();
    if (end > this.emitFrom) {
      output.append(this.windowPtr + <usize>this.emitFrom, end - this.emitFrom);
      this.emitFrom = end;
    }
  }

  private change(): void {
    if (this.changed) return;
    this.changed = true;
    output.clear();
  }
}
