// Incremental HTTP/1.x request parser over raw downstream bytes.
//
// Pull style: `execute(ptr, len)` consumes bytes until one event happens or the
// bytes run out, and returns how many it consumed; the caller reads `event`
// and calls again with the rest. Any split of the stream, down to one byte per
// call, yields the same events. Memory per parser is bounded: the method and
// at most MAX_TARGET_BYTES of the request target are kept, header names and
// values are matched on the fly, bodies are skipped by count.
//
// Pure: no host calls, so it is unit-tested on byte tables in Node.

import { latin1 } from "../latin1";

/** What the last `execute` call found. */
export enum RequestEvent {
  /** Nothing yet: all bytes consumed, feed more. */
  None = 0,
  /** A request head (request line + headers) is complete: read `method`, `target`. */
  Head = 1,
  /** The bytes are not (or no longer) HTTP/1.x; the parser is now opaque. */
  Error = 2,
}

/** Request target bytes kept; the endpoint label never needs more. */
export const MAX_TARGET_BYTES = 1024;
/** Longest accepted method token. */
const MAX_METHOD_BYTES = 24;
/** Longest accepted request head (request line + headers), as Envoy's default. */
export const MAX_HEAD_BYTES = 60 * 1024;
/** Client bytes held while a protocol switch awaits the upstream's answer; beyond this the connection is opaque. */
export const MAX_SWITCH_HOLD_BYTES = 16 * 1024;
/** What follows the request line of the HTTP/2 connection preface. */
const PRI_PREFACE_REST = "\r\nSM\r\n\r\n";

// states
const S_START = 0;
const S_METHOD = 1;
const S_TARGET_START = 2;
const S_TARGET = 3;
const S_VERSION = 4;
const S_LINE_LF = 5;
const S_HEADER_START = 6;
const S_HEADER_NAME = 7;
const S_HEADER_VALUE_START = 8;
const S_HEADER_VALUE = 9;
const S_HEADER_LF = 10;
const S_HEADERS_LF = 11;
const S_BODY = 12;
const S_CHUNK_SIZE = 13;
const S_CHUNK_EXT = 14;
const S_CHUNK_SIZE_LF = 15;
const S_CHUNK_DATA = 16;
const S_CHUNK_DATA_CR = 17;
const S_CHUNK_DATA_LF = 18;
const S_TRAILER_START = 19;
const S_TRAILER = 20;
const S_TRAILER_LF = 21;
const S_TRAILERS_LF = 22;
/** After an error, a protocol switch, or a request that closes the connection. */
const S_OPAQUE = 23;
/** After a CONNECT/Upgrade request: bytes are held until the upstream accepts or refuses (`resolveSwitch`). */
const S_SWITCH_WAIT = 24;
/** After "PRI * HTTP/2.0\r\n": the rest of the HTTP/2 connection preface. */
const S_PRI_PREFACE = 25;

// headers sitio cares about
const H_OTHER = 0;
const H_CONTENT_LENGTH = 1;
const H_TRANSFER_ENCODING = 2;
const H_CONNECTION = 3;
const H_UPGRADE = 4;

/** Max. header name bytes compared against the names above. */
const NAME_BYTES = 20;
/** Max. header value bytes kept for token matching (Connection, Transfer-Encoding). */
const VALUE_BYTES = 64;

/** RFC 9110 tchar. */
export function isTokenChar(c: i32): bool {
  if (c >= 97 && c <= 122) return true; // a-z
  if (c >= 65 && c <= 90) return true; // A-Z
  if (c >= 48 && c <= 57) return true; // 0-9
  // ! # $ % & ' * + - . ^ _ ` | ~
  return c == 33 || (c >= 35 && c <= 39) || c == 42 || c == 43 || c == 45 || c == 46 || c == 94 || c == 95 || c == 96 || c == 124 || c == 126;
}

function lower(c: i32): i32 {
  return c >= 65 && c <= 90 ? c + 32 : c;
}

function hexValue(c: i32): i32 {
  if (c >= 48 && c <= 57) return c - 48;
  c = lower(c);
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

export class Http1RequestParser {
  // ---- results, valid after `execute` returns with `event == Head`
  event: RequestEvent = RequestEvent.None;
  method: string = "";
  target: string = "";
  /** The target was longer than MAX_TARGET_BYTES; `target` holds its start. */
  targetTruncated: bool = false;
  /** The request asks for a protocol switch (CONNECT, or Upgrade with Connection: upgrade). */
  upgrade: bool = false;
  /** Bytes consumed since the parser went opaque (not HTTP, or past a protocol switch). */
  opaqueBytes: u64 = 0;
  /**
   * Requests begun so far (bumped on the first byte of each request line). The
   * codec timestamps a request's first byte by watching this change.
   */
  started: u32 = 0;

  // ---- internal state
  private state: i32 = S_START;
  private methodBuf: Uint8Array = new Uint8Array(MAX_METHOD_BYTES);
  private methodLen: i32 = 0;
  private targetBuf: Uint8Array | null = null;
  private targetLen: i32 = 0;
  private versionPos: i32 = 0;
  private major: i32 = 0;
  private minor: i32 = 0;
  private headBytes: i32 = 0;
  private header: i32 = H_OTHER;
  private nameBuf: Uint8Array = new Uint8Array(NAME_BYTES);
  private nameLen: i32 = 0;
  private valueBuf: Uint8Array = new Uint8Array(VALUE_BYTES);
  private valueLen: i32 = 0;
  private contentLength: i64 = -1;
  private chunked: bool = false;
  private hasTransferEncoding: bool = false;
  private connClose: bool = false;
  private connKeepAlive: bool = false;
  private connUpgrade: bool = false;
  private hasUpgrade: bool = false;
  private remaining: u64 = 0;
  private chunkDigits: i32 = 0;
  /** The last request asked for a switch: once it (and its body) ends, wait for the upstream's answer. */
  private switchPending: bool = false;
  private held: Uint8Array | null = null;
  private heldLen: i32 = 0;

  /** True once the parser has stopped reading HTTP on this connection. */
  get opaque(): bool {
    return this.state == S_OPAQUE;
  }

  /** Stops parsing: every further byte is opaque (after a protocol switch). */
  goOpaque(): void {
    this.state = S_OPAQUE;
  }

  /**
   * True after a CONNECT or Upgrade request (and its body): the bytes that
   * follow are held, not parsed, until `resolveSwitch` says what they are.
   */
  get awaitingSwitch(): bool {
    return this.state == S_SWITCH_WAIT;
  }

  /**
   * The upstream answered the last CONNECT/Upgrade request. Accepted (101, or
   * 2xx to CONNECT): the held bytes and all later ones are opaque. Refused:
   * parsing resumes; returns the held bytes, which the caller must feed to
   * `execute` again before any newer bytes (null when none were held). Also
   * valid while the request's body is still arriving.
   */
  resolveSwitch(accepted: bool): Uint8Array | null {
    let held = this.held;
    let n = this.heldLen;
    this.held = null;
    this.heldLen = 0;
    this.switchPending = false;
    if (accepted) {
      this.opaqueBytes += <u64>n;
      this.state = S_OPAQUE;
      return null;
    }
    if (this.state != S_SWITCH_WAIT) return null;
    this.messageComplete();
    if (held === null || n == 0) return null;
    return held.subarray(0, n);
  }

  /** Consumes bytes until one event or the end of the data; returns the count consumed. */
  execute(ptr: usize, len: i32): i32 {
    this.event = RequestEvent.None;
    let i = 0;
    while (i < len) {
      let s = this.state;
      if (s == S_OPAQUE) {
        this.opaqueBytes += <u64>(len - i);
        return len;
      }
      if (s == S_SWITCH_WAIT) {
        this.hold(ptr + <usize>i, len - i);
        return len;
      }
      if (s == S_BODY || s == S_CHUNK_DATA) {
        let avail = <u64>(len - i);
        let take = this.remaining < avail ? this.remaining : avail;
        i += <i32>take;
        this.remaining -= take;
        if (this.remaining == 0) {
          if (s == S_BODY) {
            this.messageComplete();
          } else {
            this.state = S_CHUNK_DATA_CR;
          }
        }
        continue;
      }
      let c = <i32>load<u8>(ptr + <usize>i);
      i++;
      if (s < S_BODY && s != S_START) {
        if (++this.headBytes > MAX_HEAD_BYTES) return this.fail(i, len);
      }
      if (!this.step(s, c)) return this.fail(i, len);
      if (this.event != RequestEvent.None) return i;
    }
    return i;
  }

  private fail(consumed: i32, len: i32): i32 {
    this.state = S_OPAQUE;
    this.event = RequestEvent.Error;
    // the offending byte and the rest of this read are opaque
    this.opaqueBytes += <u64>(len - consumed + 1);
    return len;
  }

  /** One byte of head or framing; false on a protocol error. */
  private step(s: i32, c: i32): bool {
    switch (s) {
      case S_START: {
        if (c == 13 || c == 10) return true; // empty lines between requests
        if (!isTokenChar(c)) return false;
        this.resetMessage();
        this.started++;
        this.methodBuf[0] = <u8>c;
        this.methodLen = 1;
        this.headBytes = 1;
        this.state = S_METHOD;
        return true;
      }
      case S_METHOD: {
        if (c == 32) {
          this.state = S_TARGET_START;
          return true;
        }
        if (!isTokenChar(c) || this.methodLen == MAX_METHOD_BYTES) return false;
        this.methodBuf[this.methodLen++] = <u8>c;
        return true;
      }
      case S_TARGET_START: {
        if (c <= 32 || c == 127) return false;
        this.state = S_TARGET;
        this.keepTargetByte(c);
        return true;
      }
      case S_TARGET: {
        if (c == 32) {
          this.state = S_VERSION;
          this.versionPos = 0;
          return true;
        }
        if (c < 32 || c == 127) return false;
        this.keepTargetByte(c);
        return true;
      }
      case S_VERSION: {
        // "HTTP/" DIGIT "." DIGIT, then CR LF
        let p = this.versionPos++;
        if (p < 5) return c == <i32>"HTTP/".charCodeAt(p);
        if (p == 5) {
          if (c < 48 || c > 57) return false;
          this.major = c - 48;
          return true;
        }
        if (p == 6) return c == 46;
        if (p == 7) {
          if (c < 48 || c > 57) return false;
          this.minor = c - 48;
          return true;
        }
        if (c == 13) {
          this.state = S_LINE_LF;
          return true;
        }
        return false;
      }
      case S_LINE_LF: {
        if (c != 10) return false;
        this.state = this.isPri() ? S_PRI_PREFACE : S_HEADER_START;
        this.versionPos = 0;
        return true;
      }
      case S_PRI_PREFACE: {
        // the HTTP/2 preface is a switch that needs no answer: no request is counted
        if (c != <i32>PRI_PREFACE_REST.charCodeAt(this.versionPos++)) return false;
        if (this.versionPos == PRI_PREFACE_REST.length) this.state = S_OPAQUE;
        return true;
      }
      case S_HEADER_START: {
        if (c == 13) {
          this.state = S_HEADERS_LF;
          return true;
        }
        if (!isTokenChar(c)) return false;
        this.nameBuf[0] = <u8>lower(c);
        this.nameLen = 1;
        this.state = S_HEADER_NAME;
        return true;
      }
      case S_HEADER_NAME: {
        if (c == 58) {
          this.header = this.classifyName();
          this.valueLen = 0;
          if (this.header == H_CONTENT_LENGTH) {
            if (this.contentLength >= 0) this.header = -H_CONTENT_LENGTH; // a repeat: must match
          }
          this.state = S_HEADER_VALUE_START;
          this.pendingLength = 0;
          this.sawDigit = false;
          return true;
        }
        if (!isTokenChar(c)) return false;
        if (this.nameLen < NAME_BYTES) this.nameBuf[this.nameLen] = <u8>lower(c);
        this.nameLen++;
        return true;
      }
      case S_HEADER_VALUE_START: {
        if (c == 32 || c == 9) return true;
        this.state = S_HEADER_VALUE;
        return this.step(S_HEADER_VALUE, c);
      }
      case S_HEADER_VALUE: {
        if (c == 13) {
          this.state = S_HEADER_LF;
          return this.endHeaderValue();
        }
        if ((c < 32 && c != 9) || c == 127) return false;
        return this.headerValueByte(c);
      }
      case S_HEADER_LF: {
        if (c != 10) return false;
        this.state = S_HEADER_START;
        return true;
      }
      case S_HEADERS_LF: {
        if (c != 10) return false;
        return this.headersComplete();
      }
      case S_CHUNK_SIZE: {
        let h = hexValue(c);
        if (h >= 0) {
          if (++this.chunkDigits > 15) return false;
          this.remaining = (this.remaining << 4) | <u64>h;
          return true;
        }
        if (this.chunkDigits == 0) return false;
        if (c == 59 || c == 32 || c == 9) {
          this.state = S_CHUNK_EXT;
          return true;
        }
        if (c == 13) {
          this.state = S_CHUNK_SIZE_LF;
          return true;
        }
        return false;
      }
      case S_CHUNK_EXT: {
        if (c == 13) {
          this.state = S_CHUNK_SIZE_LF;
          return true;
        }
        return c >= 32 || c == 9;
      }
      case S_CHUNK_SIZE_LF: {
        if (c != 10) return false;
        this.state = this.remaining == 0 ? S_TRAILER_START : S_CHUNK_DATA;
        return true;
      }
      case S_CHUNK_DATA_CR: {
        if (c != 13) return false;
        this.state = S_CHUNK_DATA_LF;
        return true;
      }
      case S_CHUNK_DATA_LF: {
        if (c != 10) return false;
        this.state = S_CHUNK_SIZE;
        this.chunkDigits = 0;
        this.remaining = 0;
        return true;
      }
      case S_TRAILER_START: {
        if (c == 13) {
          this.state = S_TRAILERS_LF;
          return true;
        }
        if (!isTokenChar(c)) return false;
        this.state = S_TRAILER;
        return true;
      }
      case S_TRAILER: {
        if (c == 13) {
          this.state = S_TRAILER_LF;
          return true;
        }
        return c >= 32 || c == 9;
      }
      case S_TRAILER_LF: {
        if (c != 10) return false;
        this.state = S_TRAILER_START;
        return true;
      }
      case S_TRAILERS_LF: {
        if (c != 10) return false;
        this.messageComplete();
        return true;
      }
    }
    return false;
  }

  private pendingLength: i64 = 0;
  private sawDigit: bool = false;

  private keepTargetByte(c: i32): void {
    let buf: Uint8Array;
    if (this.targetBuf === null) {
      buf = new Uint8Array(128);
      this.targetBuf = buf;
    } else {
      buf = this.targetBuf!;
    }
    if (this.targetLen == buf.length) {
      if (buf.length >= MAX_TARGET_BYTES) {
        this.targetTruncated = true;
        return;
      }
      let bigger = new Uint8Array(buf.length << 1);
      bigger.set(buf);
      buf = bigger;
      this.targetBuf = bigger;
    }
    buf[this.targetLen++] = <u8>c;
  }

  private classifyName(): i32 {
    let n = this.nameLen;
    if (n == 14 && this.nameIs("content-length")) return H_CONTENT_LENGTH;
    if (n == 17 && this.nameIs("transfer-encoding")) return H_TRANSFER_ENCODING;
    if (n == 10 && this.nameIs("connection")) return H_CONNECTION;
    if (n == 7 && this.nameIs("upgrade")) return H_UPGRADE;
    return H_OTHER;
  }

  private nameIs(name: string): bool {
    for (let i = 0; i < name.length; i++) {
      if (<i32>this.nameBuf[i] != name.charCodeAt(i)) return false;
    }
    return true;
  }

  private headerValueByte(c: i32): bool {
    let h = this.header;
    if (h == H_CONTENT_LENGTH || h == -H_CONTENT_LENGTH) {
      if (c >= 48 && c <= 57) {
        if (this.valueLen > 0) return false; // digits after trailing whitespace
        this.sawDigit = true;
        this.pendingLength = this.pendingLength * 10 + (c - 48);
        return this.pendingLength <= 0x3fffffffffffff;
      }
      if (c == 32 || c == 9) {
        this.valueLen = 1; // trailing whitespace seen
        return true;
      }
      return false;
    }
    if (h == H_TRANSFER_ENCODING || h == H_CONNECTION) {
      if (this.valueLen < VALUE_BYTES) this.valueBuf[this.valueLen] = <u8>lower(c);
      this.valueLen++;
    }
    return true;
  }

  private endHeaderValue(): bool {
    let h = this.header;
    if (h == H_CONTENT_LENGTH || h == -H_CONTENT_LENGTH) {
      if (!this.sawDigit) return false;
      if (h == -H_CONTENT_LENGTH && this.pendingLength != this.contentLength) return false;
      this.contentLength = this.pendingLength;
    } else if (h == H_TRANSFER_ENCODING) {
      this.hasTransferEncoding = true;
      // chunked must be the final coding
      this.chunked = this.valueEndsWithToken("chunked");
    } else if (h == H_CONNECTION) {
      if (this.valueHasToken("close")) this.connClose = true;
      if (this.valueHasToken("keep-alive")) this.connKeepAlive = true;
      if (this.valueHasToken("upgrade")) this.connUpgrade = true;
    } else if (h == H_UPGRADE) {
      this.hasUpgrade = true;
    }
    return true;
  }

  /** Comma-separated token list in valueBuf contains `token` (case-insensitive). */
  private valueHasToken(token: string): bool {
    let n = min(this.valueLen, VALUE_BYTES);
    let i = 0;
    while (i < n) {
      while (i < n && (this.valueBuf[i] == 32 || this.valueBuf[i] == 9 || this.valueBuf[i] == 44)) i++;
      let start = i;
      while (i < n && this.valueBuf[i] != 44) i++;
      let end = i;
      while (end > start && (this.valueBuf[end - 1] == 32 || this.valueBuf[end - 1] == 9)) end--;
      if (end - start == token.length) {
        let same = true;
        for (let k = 0; k < token.length; k++) {
          if (<i32>this.valueBuf[start + k] != token.charCodeAt(k)) {
            same = false;
            break;
          }
        }
        if (same) return true;
      }
    }
    return false;
  }

  private valueEndsWithToken(token: string): bool {
    let n = this.valueLen;
    if (n > VALUE_BYTES) return false;
    let end = n;
    while (end > 0 && (this.valueBuf[end - 1] == 32 || this.valueBuf[end - 1] == 9)) end--;
    let start = end - token.length;
    if (start < 0) return false;
    for (let k = 0; k < token.length; k++) {
      if (<i32>this.valueBuf[start + k] != token.charCodeAt(k)) return false;
    }
    return start == 0 || this.valueBuf[start - 1] == 44 || this.valueBuf[start - 1] == 32 || this.valueBuf[start - 1] == 9;
  }

  private headersComplete(): bool {
    // A request with Transfer-Encoding must end in chunked, and not also carry Content-Length.
    if (this.hasTransferEncoding && (!this.chunked || this.contentLength >= 0)) return false;
    this.method = latin1(changetype<usize>(this.methodBuf.buffer), this.methodLen);
    let tb = this.targetBuf;
    this.target = tb === null ? "" : latin1(changetype<usize>(tb.buffer), this.targetLen);
    let connect = this.method == "CONNECT";
    this.upgrade = connect || (this.hasUpgrade && this.connUpgrade);
    this.event = RequestEvent.Head;
    // CONNECT switches right after its head (a body is not read), Upgrade after its body
    this.switchPending = this.upgrade;
    if (connect) {
      this.state = S_SWITCH_WAIT;
    } else if (this.chunked) {
      this.state = S_CHUNK_SIZE;
      this.chunkDigits = 0;
      this.remaining = 0;
    } else if (this.contentLength > 0) {
      this.state = S_BODY;
      this.remaining = <u64>this.contentLength;
    } else {
      this.messageComplete();
    }
    return true;
  }

  private messageComplete(): void {
    if (this.switchPending) {
      this.state = S_SWITCH_WAIT;
      return;
    }
    let persistent = this.major == 1 && this.minor >= 1 ? !this.connClose : this.connKeepAlive && !this.connClose;
    this.state = persistent ? S_START : S_OPAQUE;
  }

  private isPri(): bool {
    let m = this.methodBuf;
    return this.methodLen == 3 && m[0] == 80 && m[1] == 82 && m[2] == 73; // "PRI"
  }

  /** Keeps bytes that arrive while a switch is pending; past the cap they and all later bytes are opaque. */
  private hold(ptr: usize, len: i32): void {
    let n = this.heldLen;
    if (n + len > MAX_SWITCH_HOLD_BYTES) {
      this.opaqueBytes += <u64>(n + len);
      this.held = null;
      this.heldLen = 0;
      this.state = S_OPAQUE;
      return;
    }
    let size = this.held === null ? 0 : this.held!.length;
    if (size < n + len) {
      let bigger = new Uint8Array(min(MAX_SWITCH_HOLD_BYTES, max(256, max(n + len, size << 1))));
      if (n > 0) memory.copy(bigger.dataStart, this.held!.dataStart, <usize>n);
      this.held = bigger;
    }
    memory.copy(this.held!.dataStart + <usize>n, ptr, <usize>len);
    this.heldLen = n + len;
  }

  private resetMessage(): void {
    this.switchPending = false;
    this.targetLen = 0;
    this.targetTruncated = false;
    this.upgrade = false;
    this.header = H_OTHER;
    this.contentLength = -1;
    this.chunked = false;
    this.hasTransferEncoding = false;
    this.connClose = false;
    this.connKeepAlive = false;
    this.connUpgrade = false;
    this.hasUpgrade = false;
    this.remaining = 0;
  }
}
