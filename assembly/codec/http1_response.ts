// Incremental HTTP/1.x response parser over raw upstream bytes.
//
// Pull style, like http1_request.ts: `execute(ptr, len)` consumes bytes until
// one event happens or the bytes run out, and returns how many it consumed;
// the caller reads `event` and calls again with the rest. Any split of the
// stream, down to one byte per call, yields the same events at the same
// stream offsets. Memory per parser is fixed: header names and values are
// matched on the fly, bodies are skipped by count.
//
// Framing (RFC 9112 §6.3), decided when the head is complete:
//   1xx other than 101: interim, no body, does not complete the request;
//   101, or 2xx to CONNECT: no body, then the connection leaves HTTP (opaque);
//   a response to HEAD, 204, 304: no body;
//   Transfer-Encoding ending in chunked: chunked (extensions and trailers skipped);
//   other Transfer-Encoding, or no length at all: the body runs until the upstream closes (`finish`);
//   Content-Length: that many bytes.
// Lenient where servers are: a bare LF ends a line (status line, header
// lines, the head, after chunk data, trailers).
// The parser cannot see the request, so the caller says what it was
// (`requestIsHead`, `requestIsConnect`) before feeding the response.
//
// Pure: no host calls, so it is unit-tested on byte tables in Node.

import { COLON, CR, DOT, HTAB, LF, SEMICOLON, SP } from "../bytes/ascii";
import { hexValue, isHeaderValueChar, isTokenChar, toLower } from "./http1_chars";
import { bytesAre, FieldName, H_CONNECTION, H_CONTENT_LENGTH, H_OTHER, H_TRANSFER_ENCODING } from "./http1_framing";

/** What the last `execute` call found (bit flags: a response without a body is Head | Complete at once). */
export enum ResponseEvent {
  /** Nothing yet: all bytes consumed, feed more. */
  None = 0,
  /** A status line and headers are complete: read `status`, `interim`. */
  Head = 1,
  /** A final response is complete (its last byte was the last one consumed). */
  Complete = 2,
  /** The bytes are not (or no longer) HTTP/1.x; the parser is now opaque. */
  Error = 4,
}

/** Longest accepted response head (status line + headers), as Envoy's default. */
export const MAX_RESPONSE_HEAD_BYTES = 60 * 1024;

// states
const S_START = 0;
const S_VERSION = 1;
const S_STATUS = 2;
const S_REASON = 3;
const S_LINE_LF = 4;
const S_HEADER_START = 5;
const S_HEADER_NAME = 6;
const S_HEADER_VALUE = 7;
const S_HEADER_LF = 8;
const S_HEADERS_LF = 9;
const S_BODY = 10;
const S_UNTIL_CLOSE = 11;
const S_CHUNK_SIZE = 12;
const S_CHUNK_EXT = 13;
const S_CHUNK_SIZE_LF = 14;
const S_CHUNK_DATA = 15;
const S_CHUNK_DATA_CR = 16;
const S_CHUNK_DATA_LF = 17;
const S_TRAILER_START = 18;
const S_TRAILER = 19;
const S_TRAILER_LF = 20;
const S_TRAILERS_LF = 21;
/** After an error, a protocol switch, or a response that ends the connection. */
const S_OPAQUE = 22;

/** Header value bytes kept for token matching (Connection, Transfer-Encoding). */
const VALUE_BYTES = 64;

export class Http1ResponseParser {
  // ---- set by the caller before the response's head completes
  /** The request this response answers was HEAD: no body, whatever the headers say. */
  requestIsHead: bool = false;
  /** The request this response answers was CONNECT: a 2xx ends HTTP on the connection. */
  requestIsConnect: bool = false;

  // ---- results
  event: i32 = ResponseEvent.None;
  /** Status code of the current response; 0 until its three digits are read. */
  status: i32 = 0;
  /** The head just reported is an interim (1xx, not 101) response: the request is still open. */
  interim: bool = false;
  /** Bytes of the current response head consumed so far (status line included). */
  headBytes: i32 = 0;

  // ---- internal state
  private state: i32 = S_START;
  private versionPos: i32 = 0;
  private major: i32 = 0;
  private minor: i32 = 0;
  private statusDigits: i32 = 0;
  private header: i32 = H_OTHER;
  private name: FieldName = new FieldName();
  private valueBuf: Uint8Array = new Uint8Array(VALUE_BYTES);
  private valueLen: i32 = 0;
  /** A Transfer-Encoding value outgrew valueBuf: it holds the value's last bytes only. */
  private valueCut: bool = false;
  private lengthValue: i64 = 0;
  private lengthDigits: i32 = 0;
  private lengthDone: bool = false;
  private contentLength: i64 = -1;
  private hasTransferEncoding: bool = false;
  private chunked: bool = false;
  private connClose: bool = false;
  private connKeepAlive: bool = false;
  private remaining: u64 = 0;
  private chunkDigits: i32 = 0;

  /** True once the parser has stopped reading HTTP on this connection. */
  get opaque(): bool {
    return this.state == S_OPAQUE;
  }

  /** Back to the start of a new connection. */
  reset(): void {
    this.state = S_START;
    this.event = ResponseEvent.None;
    this.headBytes = 0;
    this.requestIsHead = false;
    this.requestIsConnect = false;
    this.resetMessage();
  }

  /** Body bytes that follow now and need not be looked at (a Content-Length body or chunk data in progress; u64 max: until the close). */
  get skippable(): u64 {
    let s = this.state;
    if (s == S_BODY || s == S_CHUNK_DATA) return this.remaining;
    if (s == S_UNTIL_CLOSE) return u64.MAX_VALUE;
    return 0;
  }

  /** True while a response head (status line or headers) is partly read. */
  get inHead(): bool {
    return this.state >= S_VERSION && this.state <= S_HEADERS_LF;
  }

  /** Stops parsing: every further byte is passed through unread. */
  goOpaque(): void {
    this.state = S_OPAQUE;
  }

  /**
   * The upstream closed the connection. True when that completed a response
   * whose body runs until the close; afterwards the parser is opaque.
   */
  finish(): bool {
    let completed = this.state == S_UNTIL_CLOSE;
    this.state = S_OPAQUE;
    return completed;
  }

  /** Consumes bytes until one event or the end of the data; returns the count consumed. */
  execute(ptr: usize, len: i32): i32 {
    this.event = ResponseEvent.None;
    let i = 0;
    while (i < len) {
      let s = this.state;
      if (s == S_OPAQUE || s == S_UNTIL_CLOSE) return len;
      if (s == S_BODY || s == S_CHUNK_DATA) {
        let avail = <u64>(len - i);
        let take = this.remaining < avail ? this.remaining : avail;
        i += <i32>take;
        this.remaining -= take;
        if (this.remaining == 0) {
          if (s == S_BODY) {
            this.complete();
            return i;
          }
          this.state = S_CHUNK_DATA_CR;
        }
        continue;
      }
      if (s == S_HEADER_NAME) {
        let n = this.name.addRun(ptr + <usize>i, len - i);
        if (n > 0) {
          this.headBytes += n;
          if (this.headBytes > MAX_RESPONSE_HEAD_BYTES) return this.fail(len);
          i += n;
          continue;
        }
      } else if (s == S_REASON || (s == S_HEADER_VALUE && this.header == H_OTHER)) {
        // runs that change nothing but the count (the reason phrase, a value no framing
        // depends on) are taken in one go
        let j = i;
        while (j < len && isHeaderValueChar(<i32>load<u8>(ptr + <usize>j))) j++;
        let n = j - i;
        if (n > 0) {
          this.headBytes += n;
          if (this.headBytes > MAX_RESPONSE_HEAD_BYTES) return this.fail(len);
          i = j;
          continue;
        }
      }
      let c = <i32>load<u8>(ptr + <usize>i);
      i++;
      if (s <= S_HEADERS_LF && s != S_START) {
        if (++this.headBytes > MAX_RESPONSE_HEAD_BYTES) return this.fail(len);
      }
      if (!this.step(s, c)) return this.fail(len);
      if (this.event != ResponseEvent.None) return i;
    }
    return i;
  }

  private fail(len: i32): i32 {
    this.state = S_OPAQUE;
    this.event = ResponseEvent.Error;
    return len;
  }

  /** One byte of head or chunked framing; false on a protocol error. */
  private step(s: i32, c: i32): bool {
    switch (s) {
      case S_START: {
        if (c == CR || c == LF) return true; // stray line ends between responses
        if (c != 72) return false; // "H"
        this.resetMessage();
        this.headBytes = 1;
        this.versionPos = 1;
        this.state = S_VERSION;
        return true;
      }
      case S_VERSION: {
        // "HTTP/" DIGIT "." DIGIT SP
        let p = this.versionPos++;
        if (p < 5) return c == <i32>"HTTP/".charCodeAt(p);
        if (p == 5) {
          if (c < 48 || c > 57) return false;
          this.major = c - 48;
          return true;
        }
        if (p == 6) return c == DOT;
        if (p == 7) {
          if (c < 48 || c > 57) return false;
          this.minor = c - 48;
          return true;
        }
        if (c != SP) return false;
        this.state = S_STATUS;
        this.statusDigits = 0;
        return true;
      }
      case S_STATUS: {
        if (this.statusDigits < 3) {
          if (c < 48 || c > 57) return false;
          if (this.statusDigits == 0 && c == 48) return false;
          this.pendingStatus = this.pendingStatus * 10 + (c - 48);
          if (++this.statusDigits == 3) this.status = this.pendingStatus;
          return true;
        }
        if (c == SP) {
          this.state = S_REASON;
          return true;
        }
        if (c == CR) {
          this.state = S_LINE_LF;
          return true;
        }
        if (c == LF) {
          this.state = S_HEADER_START; // leniency: a bare LF ends a line
          return true;
        }
        return false;
      }
      case S_REASON: {
        if (c == CR) {
          this.state = S_LINE_LF;
          return true;
        }
        if (c == LF) {
          this.state = S_HEADER_START;
          return true;
        }
        return isHeaderValueChar(c);
      }
      case S_LINE_LF: {
        if (c != LF) return false;
        this.state = S_HEADER_START;
        return true;
      }
      case S_HEADER_START: {
        if (c == CR) {
          this.state = S_HEADERS_LF;
          return true;
        }
        if (c == LF) {
          this.headersComplete();
          return true;
        }
        // obs-fold (a line starting with SP/HTAB) is refused, as RFC 9112 allows
        this.state = S_HEADER_NAME;
        return this.name.start(c);
      }
      case S_HEADER_NAME: {
        if (c == COLON) {
          // Proxy-Connection and Upgrade do not frame a response
          this.header = this.name.kind();
          this.valueLen = 0;
          this.valueCut = false;
          this.lengthValue = 0;
          this.lengthDigits = 0;
          this.lengthDone = false;
          this.state = S_HEADER_VALUE;
          return true;
        }
        return this.name.add(c);
      }
      case S_HEADER_VALUE: {
        if (c == CR || c == LF) {
          this.state = c == CR ? S_HEADER_LF : S_HEADER_START;
          return this.endHeaderValue();
        }
        if (!isHeaderValueChar(c)) return false;
        return this.headerValueByte(c);
      }
      case S_HEADER_LF: {
        if (c != LF) return false;
        this.state = S_HEADER_START;
        return true;
      }
      case S_HEADERS_LF: {
        if (c != LF) return false;
        this.headersComplete();
        return true;
      }
      case S_CHUNK_SIZE: {
        let h = hexValue(c);
        if (h >= 0) {
          if (++this.chunkDigits > 15) return false;
          this.remaining = (this.remaining << 4) | <u64>h;
          return true;
        }
        if (this.chunkDigits == 0) return false;
        if (c == SEMICOLON || c == SP || c == HTAB) {
          this.state = S_CHUNK_EXT;
          return true;
        }
        if (c == CR) {
          this.state = S_CHUNK_SIZE_LF;
          return true;
        }
        return false;
      }
      case S_CHUNK_EXT: {
        if (c == CR) {
          this.state = S_CHUNK_SIZE_LF;
          return true;
        }
        return isHeaderValueChar(c);
      }
      case S_CHUNK_SIZE_LF: {
        if (c != LF) return false;
        this.state = this.remaining == 0 ? S_TRAILER_START : S_CHUNK_DATA;
        return true;
      }
      case S_CHUNK_DATA_CR: {
        if (c == LF) {
          this.state = S_CHUNK_SIZE;
          this.chunkDigits = 0;
          this.remaining = 0;
          return true;
        }
        if (c != CR) return false;
        this.state = S_CHUNK_DATA_LF;
        return true;
      }
      case S_CHUNK_DATA_LF: {
        if (c != LF) return false;
        this.state = S_CHUNK_SIZE;
        this.chunkDigits = 0;
        this.remaining = 0;
        return true;
      }
      case S_TRAILER_START: {
        if (c == CR) {
          this.state = S_TRAILERS_LF;
          return true;
        }
        if (c == LF) {
          this.complete();
          return true;
        }
        if (!isTokenChar(c)) return false;
        this.state = S_TRAILER;
        return true;
      }
      case S_TRAILER: {
        if (c == CR || c == LF) {
          this.state = c == CR ? S_TRAILER_LF : S_TRAILER_START;
          return true;
        }
        return isHeaderValueChar(c);
      }
      case S_TRAILER_LF: {
        if (c != LF) return false;
        this.state = S_TRAILER_START;
        return true;
      }
      case S_TRAILERS_LF: {
        if (c != LF) return false;
        this.complete();
        return true;
      }
    }
    return false;
  }

  private pendingStatus: i32 = 0;

  private headerValueByte(c: i32): bool {
    let h = this.header;
    if (h == H_CONTENT_LENGTH) {
      if (c >= 48 && c <= 57) {
        if (this.lengthDone) return false; // digits after whitespace: "1 2"
        this.lengthDigits++;
        this.lengthValue = this.lengthValue * 10 + (c - 48);
        return this.lengthValue <= 0x3fffffffffffff;
      }
      if (c == SP || c == HTAB) {
        if (this.lengthDigits > 0) this.lengthDone = true;
        return true;
      }
      return false;
    }
    if (h == H_TRANSFER_ENCODING && this.valueLen == VALUE_BYTES) {
      // only the last coding frames the body: keep the value's tail
      let half = VALUE_BYTES >> 1;
      memory.copy(this.valueBuf.dataStart, this.valueBuf.dataStart + <usize>half, <usize>half);
      this.valueLen = half;
      this.valueCut = true;
    }
    if (h == H_TRANSFER_ENCODING || h == H_CONNECTION) {
      if (this.valueLen < VALUE_BYTES) this.valueBuf[this.valueLen] = <u8>toLower(c);
      this.valueLen++;
    }
    return true;
  }

  private endHeaderValue(): bool {
    let h = this.header;
    if (h == H_CONTENT_LENGTH) {
      if (this.lengthDigits == 0) return false;
      // a repeated Content-Length must agree (RFC 9112 §6.3, item 5)
      if (this.contentLength >= 0 && this.contentLength != this.lengthValue) return false;
      this.contentLength = this.lengthValue;
    } else if (h == H_TRANSFER_ENCODING) {
      this.hasTransferEncoding = true;
      // the last field wins: chunked must be the final coding
      this.chunked = this.valueEndsWithToken("chunked");
    } else if (h == H_CONNECTION) {
      if (this.valueHasToken("close")) this.connClose = true;
      if (this.valueHasToken("keep-alive")) this.connKeepAlive = true;
    }
    return true;
  }

  /** The comma-separated token list in valueBuf contains `token`. */
  private valueHasToken(token: string): bool {
    let n = min(this.valueLen, VALUE_BYTES);
    let i = 0;
    while (i < n) {
      while (i < n && (this.valueBuf[i] == 32 || this.valueBuf[i] == 9 || this.valueBuf[i] == 44)) i++;
      let start = i;
      while (i < n && this.valueBuf[i] != 44) i++;
      let end = i;
      while (end > start && (this.valueBuf[end - 1] == 32 || this.valueBuf[end - 1] == 9)) end--;
      if (end - start == token.length && bytesAre(this.valueBuf, start, token)) return true;
    }
    return false;
  }

  private valueEndsWithToken(token: string): bool {
    let n = this.valueLen;
    if (n > VALUE_BYTES) return false;
    let end = n;
    while (end > 0 && (this.valueBuf[end - 1] == 32 || this.valueBuf[end - 1] == 9)) end--;
    let start = end - token.length;
    if (start < 0 || !bytesAre(this.valueBuf, start, token)) return false;
    // at the start of a cut value the byte before is gone: not known to be a whole token
    if (start == 0) return !this.valueCut;
    return this.valueBuf[start - 1] == 44 || this.valueBuf[start - 1] == 32 || this.valueBuf[start - 1] == 9;
  }

  private headersComplete(): void {
    let st = this.status;
    this.event = ResponseEvent.Head;
    if (st < 200 && st != 101) {
      // 100 Continue, 102, 103 Early Hints: more heads follow for the same request
      this.interim = true;
      this.state = S_START;
      return;
    }
    if (st == 101 || (this.requestIsConnect && st >= 200 && st < 300)) {
      // the connection now carries another protocol
      this.event = ResponseEvent.Head | ResponseEvent.Complete;
      this.state = S_OPAQUE;
      return;
    }
    if (this.requestIsHead || st == 204 || st == 304) {
      this.complete();
    } else if (this.hasTransferEncoding) {
      if (this.chunked) {
        this.state = S_CHUNK_SIZE;
        this.chunkDigits = 0;
        this.remaining = 0;
      } else {
        this.state = S_UNTIL_CLOSE;
      }
    } else if (this.contentLength > 0) {
      this.state = S_BODY;
      this.remaining = <u64>this.contentLength;
    } else if (this.contentLength == 0) {
      this.complete();
    } else {
      this.state = S_UNTIL_CLOSE;
    }
  }

  /** A final response ended: the next one may follow, unless this one ends the connection. */
  private complete(): void {
    this.event |= ResponseEvent.Complete;
    let persistent = this.major == 1 && this.minor >= 1 ? !this.connClose : this.connKeepAlive && !this.connClose;
    this.state = persistent ? S_START : S_OPAQUE;
  }

  private resetMessage(): void {
    this.status = 0;
    this.pendingStatus = 0;
    this.interim = false;
    this.header = H_OTHER;
    this.contentLength = -1;
    this.hasTransferEncoding = false;
    this.chunked = false;
    this.connClose = false;
    this.connKeepAlive = false;
    this.remaining = 0;
  }
}
