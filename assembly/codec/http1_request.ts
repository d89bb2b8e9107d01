// Incremental HTTP/1.x request parser over raw downstream bytes.
//
// Pull style: `execute(ptr, len)` consumes bytes until one event happens or the
// bytes run out, and returns how many it consumed; the caller reads `event`
// and calls again with the rest. Any split of the stream, down to one byte per
// call, yields the same events. Memory per parser is bounded: the method and
// at most MAX_TARGET_BYTES of the request target are kept, header names and
// values are matched on the fly, bodies are skipped by count. One state
// transition per byte.
//
// The grammar is llhttp's strict mode (the parser in Node.js), checked against
// its test corpus by tests/host/conformance.test.ts and tests/envoy/conformance.test.ts:
// its method list (with RTSP and ICE request lines), one Content-Length,
// Transfer-Encoding only with `chunked` last and never with Content-Length;
// plus the leniencies of Envoy's own codec, so that every request Envoy
// would accept is counted (docs/http1.md, "Leniencies"): bare LF line ends,
// blanks after a chunk size, obs-fold in fields that do not frame the message.
// Where llhttp reports a request head and then an error (a Transfer-Encoding
// without chunked), the head is counted too. After a CONNECT or Upgrade request
// (and its body) the following bytes are held until the codec reports the
// upstream's answer (`resolveSwitch`); the HTTP/2 preface switches at once.
//
// Pure: no host calls, so it is unit-tested on byte tables in Node.

import { AT, BACKSLASH, COLON, COMMA, CR, DOT, EQUALS, HASH, HTAB, LF, QUESTION, QUOTE, SEMICOLON, SLASH, SP, STAR } from "../bytes/ascii";
import {
  hexValue,
  isAlpha,
  isAuthorityChar,
  isDigit,
  isHeaderValueChar,
  isListElementChar,
  isQuotedText,
  isTokenChar,
  isUrlChar,
  toLower,
} from "./http1_chars";
import { bytesAre, FieldName, H_CONNECTION, H_CONTENT_LENGTH, H_OTHER, H_PROXY_CONNECTION, H_TRANSFER_ENCODING, H_UPGRADE } from "./http1_framing";
import { isConnect, isPreface, MAX_METHOD_BYTES, methodIndex, methodName, methodProtocols, PROTOCOL_HTTP, PROTOCOL_ICE, PROTOCOL_RTSP } from "./http1_methods";

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
/** Longest accepted request head (request line + headers), as Envoy's default; also bounds trailers. */
export const MAX_HEAD_BYTES = 60 * 1024;
/** Client bytes held while a protocol switch awaits the upstream's answer; beyond this the connection is opaque. */
export const MAX_SWITCH_HOLD_BYTES = 16 * 1024;

// ---- states. The head states (S_METHOD .. S_HEADERS_LF) are contiguous: their bytes count against MAX_HEAD_BYTES.
const S_START = 0;
const S_METHOD = 1;
const S_URL_START = 2;
const S_URL_SCHEMA = 3;
const S_URL_SLASH1 = 4;
const S_URL_SLASH2 = 5;
const S_URL_SERVER = 6;
const S_URL_SERVER_AT = 7;
const S_URL_PATH = 8;
const S_URL_QUERY = 9;
const S_URL_FRAGMENT = 10;
const S_URL_LF = 11; // CR right after the target: HTTP/0.9
const S_PROTO_START = 12;
const S_PROTO = 13;
const S_PROTO_SLASH = 14;
const S_MAJOR = 15;
const S_DOT = 16;
const S_MINOR = 17;
const S_LINE_CR = 18;
const S_LINE_LF = 19;
const S_PREFACE = 20;
const S_FIELD_START = 21;
const S_FIELD = 22;
const S_VALUE_WS = 23;
const S_VALUE_EMPTY_LF = 24;
const S_VALUE_EMPTY_END = 25;
const S_VALUE = 26;
const S_VALUE_LENGTH = 27;
const S_VALUE_CODINGS = 28;
const S_VALUE_CONNECTION = 29;
const S_VALUE_LF = 30;
const S_VALUE_END = 31;
const S_HEADERS_LF = 32;
const S_BODY = 33;
const S_CHUNK_SIZE_START = 34;
const S_CHUNK_SIZE = 35;
const S_CHUNK_EXT_START = 36;
const S_CHUNK_EXT_NAME = 37;
const S_CHUNK_EXT_VALUE = 38;
const S_CHUNK_EXT_QUOTED = 39;
const S_CHUNK_EXT_QUOTED_PAIR = 40;
const S_CHUNK_EXT_QUOTED_END = 41;
const S_CHUNK_SIZE_LF = 42;
const S_CHUNK_DATA = 43;
const S_CHUNK_DATA_CR = 44;
const S_CHUNK_DATA_LF = 45;
/** After a message that ends the connection: only CR/LF may follow. */
const S_CLOSED = 46;
/** After an error, a protocol switch, or data after a closing message. */
const S_OPAQUE = 47;
/** After a CONNECT/Upgrade request: bytes are held until the upstream accepts or refuses (`resolveSwitch`). */
const S_SWITCH_WAIT = 48;
const S_CHUNK_SIZE_WS = 49;

/** Longest Connection option sitio looks for ("keep-alive"). */
const OPTION_BYTES = 10;

// Transfer-Encoding list, one coding at a time
const TE_MATCH = 0; // matching "chunked"
const TE_CHUNKED = 1; // "chunked" seen, spaces may follow
const TE_OTHER = 2; // another coding
const TE_OWS = 3; // after a comma

const CHUNKED = "chunked";
const PREFACE = "\r\n\r\nSM\r\n\r\n";
const U64_MAX: u64 = 0xffffffffffffffff;

export class Http1RequestParser {
  // ---- results, valid after `execute` returns with `event == Head`
  event: RequestEvent = RequestEvent.None;
  /** The method, one of http1_methods.ts's constant names. */
  method: string = "";
  /** The request target's first `targetLength` bytes (at most MAX_TARGET_BYTES). */
  target: Uint8Array = new Uint8Array(0);
  targetLength: i32 = 0;
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
  private methodAt: i32 = -1;
  private protocols: i32 = 0;
  private protocol: i32 = 0;
  private protocolPos: i32 = 0;
  private major: i32 = 0;
  private minor: i32 = 0;
  private matchPos: i32 = 0;
  private headBytes: i32 = 0;
  private trailing: bool = false;
  private header: i32 = H_OTHER;
  private name: FieldName = new FieldName();
  // Content-Length
  private hasContentLength: bool = false;
  private contentLength: u64 = 0;
  private pendingLength: u64 = 0;
  private lengthDone: bool = false;
  // Transfer-Encoding
  private hasTransferEncoding: bool = false;
  private chunked: bool = false;
  private codingState: i32 = TE_MATCH;
  // Connection / Upgrade
  private optionBuf: Uint8Array = new Uint8Array(OPTION_BYTES);
  private optionLen: i32 = 0;
  private optionDone: bool = false;
  private connClose: bool = false;
  private connKeepAlive: bool = false;
  private connUpgrade: bool = false;
  private hasUpgrade: bool = false;
  // body
  private remaining: u64 = 0;
  // protocol switch
  /** The last request asked for a switch: once it (and its body) ends, wait for the upstream's answer. */
  private switchPending: bool = false;
  private held: Uint8Array | null = null;
  private heldLen: i32 = 0;

  /** True once the parser has stopped reading HTTP on this connection. */
  get opaque(): bool {
    return this.state == S_OPAQUE;
  }

  /** Back to the start of a new connection (the target and hold buffers are kept for reuse). */
  reset(): void {
    this.state = S_START;
    this.event = RequestEvent.None;
    this.opaqueBytes = 0;
    this.started = 0;
    this.headBytes = 0;
    this.methodLen = 0;
    this.heldLen = 0;
    this.resetMessage();
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
      if (s == S_FIELD) {
        // a field name's token bytes, in one go (the framing ones are kept, lower-cased)
        let n = this.name.addRun(ptr + <usize>i, len - i);
        if (n > 0) {
          let room = MAX_HEAD_BYTES - this.headBytes;
          if (n > room) return this.fail(i + room + 1, len);
          this.headBytes += n;
          i += n;
          continue;
        }
      } else if (s == S_VALUE || s == S_URL_PATH || s == S_URL_QUERY) {
        // Most of a request's bytes are runs that change nothing but the count: a field
        // value's, a path's, a query's. They are taken in one go (the target's kept).
        let j = i;
        if (s == S_VALUE) {
          while (j < len && isHeaderValueChar(<i32>load<u8>(ptr + <usize>j))) j++;
        } else if (s == S_URL_PATH) {
          while (j < len && isUrlChar(<i32>load<u8>(ptr + <usize>j))) j++;
        } else {
          while (j < len && (isUrlChar(<i32>load<u8>(ptr + <usize>j)) || load<u8>(ptr + <usize>j) == QUESTION)) j++;
        }
        let n = j - i;
        if (n > 0) {
          let room = MAX_HEAD_BYTES - this.headBytes;
          if (n > room) return this.fail(i + room + 1, len); // the byte past the limit, as one at a time
          this.headBytes += n;
          if (s != S_VALUE) this.keepTargetBytes(ptr + <usize>i, n);
          i = j;
          continue;
        }
      }
      let c = <i32>load<u8>(ptr + <usize>i);
      i++;
      if (s >= S_METHOD && s <= S_HEADERS_LF) {
        if (++this.headBytes > MAX_HEAD_BYTES) return this.fail(i, len);
      }
      if (!this.step(s, c)) return this.fail(i, len);
      if (this.event != RequestEvent.None) return i;
    }
    return i;
  }

  /** The byte just consumed breaks the grammar: it and everything after it are opaque. */
  private fail(consumed: i32, len: i32): i32 {
    this.state = S_OPAQUE;
    this.event = RequestEvent.Error;
    this.opaqueBytes += <u64>(len - consumed + 1);
    return len;
  }

  /** The message so far is accepted but nothing after the byte just consumed is (llhttp reports such errors after the byte). */
  private failAfter(): bool {
    this.state = S_OPAQUE;
    this.event = RequestEvent.Error;
    return true;
  }

  /** One byte in state `s`; false on a protocol error at this byte. */
  private step(s: i32, c: i32): bool {
    switch (s) {
      // ---------------------------------------------------------------- request line
      case S_START: {
        if (c == CR || c == LF) return true; // empty lines between requests
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
        if (c == SP) {
          let m = methodIndex(this.methodBuf, this.methodLen);
          if (m < 0) return false;
          this.methodAt = m;
          this.protocols = methodProtocols(m);
          this.state = S_URL_START;
          return true;
        }
        if (!isTokenChar(c) || this.methodLen == MAX_METHOD_BYTES) return false;
        this.methodBuf[this.methodLen++] = <u8>c;
        return true;
      }
      case S_URL_START: {
        if (c == SP) return true; // more spaces before the target
        if (isConnect(this.methodBuf, this.methodLen)) return this.step(S_URL_SERVER, c); // authority-form
        if (c == SLASH || c == STAR /* * */) return this.urlByte(S_URL_PATH, c);
        if (isAlpha(c)) return this.urlByte(S_URL_SCHEMA, c); // absolute-form
        return false;
      }
      case S_URL_SCHEMA: {
        if (isAlpha(c)) return this.urlByte(S_URL_SCHEMA, c);
        if (c == COLON) return this.urlByte(S_URL_SLASH1, c);
        return false;
      }
      case S_URL_SLASH1: {
        return c == SLASH && this.urlByte(S_URL_SLASH2, c);
      }
      case S_URL_SLASH2: {
        return c == SLASH && this.urlByte(S_URL_SERVER, c);
      }
      case S_URL_SERVER:
      case S_URL_SERVER_AT: {
        if (c == SLASH) return this.urlByte(S_URL_PATH, c);
        if (c == QUESTION) return this.urlByte(S_URL_QUERY, c);
        if (isAuthorityChar(c)) return this.urlByte(s, c);
        if (c == AT) return s == S_URL_SERVER && this.urlByte(S_URL_SERVER_AT, c);
        return this.urlEnd(c);
      }
      case S_URL_PATH: {
        if (isUrlChar(c)) return this.urlByte(S_URL_PATH, c);
        if (c == QUESTION) return this.urlByte(S_URL_QUERY, c);
        if (c == HASH) return this.urlByte(S_URL_FRAGMENT, c);
        return this.urlEnd(c);
      }
      case S_URL_QUERY: {
        if (isUrlChar(c) || c == QUESTION) return this.urlByte(S_URL_QUERY, c);
        if (c == HASH) return this.urlByte(S_URL_FRAGMENT, c);
        return this.urlEnd(c);
      }
      case S_URL_FRAGMENT: {
        if (isUrlChar(c) || c == QUESTION || c == HASH) return this.urlByte(S_URL_FRAGMENT, c);
        return this.urlEnd(c);
      }
      case S_URL_LF: {
        if (c != LF) return false;
        this.http09();
        return true;
      }
      case S_PROTO_START: {
        if (c == SP) return true; // more spaces before the version
        if (c == 72 /* H */) this.protocol = PROTOCOL_HTTP;
        else if (c == 82 /* R */) this.protocol = PROTOCOL_RTSP;
        else if (c == 73 /* I */) this.protocol = PROTOCOL_ICE;
        else return false;
        this.protocolPos = 1;
        this.state = S_PROTO;
        return true;
      }
      case S_PROTO: {
        let name = this.protocol == PROTOCOL_HTTP ? "HTTP" : this.protocol == PROTOCOL_RTSP ? "RTSP" : "ICE";
        if (c != name.charCodeAt(this.protocolPos)) return false;
        if (++this.protocolPos == name.length) this.state = S_PROTO_SLASH;
        return true;
      }
      case S_PROTO_SLASH: {
        // the method must belong to the protocol named (llhttp: RTSP and ICE have their own lists)
        if ((this.protocols & this.protocol) == 0 || c != SLASH) return false;
        this.state = S_MAJOR;
        return true;
      }
      case S_MAJOR: {
        if (!isDigit(c)) return false;
        this.major = c - 48;
        this.state = S_DOT;
        return true;
      }
      case S_DOT: {
        if (c != DOT) return false;
        this.state = S_MINOR;
        return true;
      }
      case S_MINOR: {
        if (!isDigit(c)) return false;
        this.minor = c - 48;
        let v = this.major * 10 + this.minor;
        if (v != 9 && v != 10 && v != 11 && v != 20) return false; // 0.9, 1.0, 1.1, 2.0
        if (isPreface(this.methodBuf, this.methodLen)) {
          this.state = S_PREFACE;
          this.matchPos = 0;
        } else {
          this.state = S_LINE_CR;
        }
        return true;
      }
      case S_LINE_CR: {
        if (c == LF) {
          // leniency: a bare LF ends the request line, as Envoy's own codec (and most servers) accept
          this.state = S_FIELD_START;
          return true;
        }
        if (c != CR) return false;
        this.state = S_LINE_LF;
        return true;
      }
      case S_LINE_LF: {
        if (c != LF) return false;
        this.state = S_FIELD_START;
        return true;
      }
      case S_PREFACE: {
        // the rest of the HTTP/2 connection preface: no HTTP/1 request, the connection is HTTP/2 from here
        if (c != PREFACE.charCodeAt(this.matchPos)) return false;
        if (++this.matchPos == PREFACE.length) this.state = S_OPAQUE;
        return true;
      }

      // ---------------------------------------------------------------- header fields (and trailers)
      case S_FIELD_START: {
        if (c == CR) {
          this.state = S_HEADERS_LF;
          return true;
        }
        if (c == LF) return this.step(S_HEADERS_LF, c); // leniency: a bare LF ends the head
        this.state = S_FIELD;
        return this.name.start(c); // refuses a space after the request line
      }
      case S_FIELD: {
        if (c == COLON) return this.fieldComplete();
        return this.name.add(c); // refuses a space before the colon
      }
      case S_VALUE_WS: {
        if (c == SP || c == HTAB) return true;
        if (c == CR) {
          this.state = S_VALUE_EMPTY_LF;
          return true;
        }
        if (c == LF) {
          this.state = S_VALUE_EMPTY_END; // leniency: a bare LF ends the line
          return true;
        }
        return this.valueStart(c);
      }
      case S_VALUE_EMPTY_LF: {
        if (c != LF) return false;
        this.state = S_VALUE_EMPTY_END;
        return true;
      }
      case S_VALUE_EMPTY_END: {
        if (c == SP || c == HTAB) return this.fold();
        if (this.header == H_CONTENT_LENGTH) return false; // an empty Content-Length
        return this.step(S_FIELD_START, c);
      }
      case S_VALUE: {
        if (c == CR) {
          this.state = S_VALUE_LF;
          return true;
        }
        if (c == LF) {
          this.state = S_VALUE_END; // leniency: a bare LF ends the line
          return true;
        }
        return isHeaderValueChar(c);
      }
      case S_VALUE_LENGTH: {
        if (isDigit(c)) {
          if (this.lengthDone) return false; // digits after whitespace
          let d = <u64>(c - 48);
          if (this.pendingLength > (U64_MAX - d) / 10) return false; // overflow
          this.pendingLength = this.pendingLength * 10 + d;
          return true;
        }
        if (c == SP || c == HTAB) {
          this.lengthDone = true;
          return true;
        }
        if (c == CR || c == LF) {
          this.hasContentLength = true;
          this.contentLength = this.pendingLength;
          this.state = c == CR ? S_VALUE_LF : S_VALUE_END;
          return true;
        }
        return false;
      }
      case S_VALUE_CODINGS: {
        return this.codingByte(c);
      }
      case S_VALUE_CONNECTION: {
        return this.optionByte(c);
      }
      case S_VALUE_LF: {
        if (c != LF) return false;
        this.state = S_VALUE_END;
        return true;
      }
      case S_VALUE_END: {
        if (c == SP || c == HTAB) return this.fold();
        if (this.header == H_TRANSFER_ENCODING) this.chunked = this.codingState == TE_CHUNKED;
        return this.step(S_FIELD_START, c);
      }
      case S_HEADERS_LF: {
        if (c != LF) return false;
        if (this.trailing) {
          this.messageComplete();
          return true;
        }
        return this.headersComplete();
      }

      // ---------------------------------------------------------------- chunked framing
      case S_CHUNK_SIZE_START: {
        let h = hexValue(c);
        if (h < 0) return false;
        this.remaining = <u64>h;
        this.state = S_CHUNK_SIZE;
        return true;
      }
      case S_CHUNK_SIZE: {
        let h = hexValue(c);
        if (h >= 0) {
          if (this.remaining > U64_MAX >> 4) return false; // overflow
          this.remaining = (this.remaining << 4) | <u64>h;
          return true;
        }
        if (c == CR) {
          this.state = S_CHUNK_SIZE_LF;
          return true;
        }
        if (c == SEMICOLON) {
          this.state = S_CHUNK_EXT_START;
          return true;
        }
        if (c == SP || c == HTAB) {
          this.state = S_CHUNK_SIZE_WS; // leniency: blanks after the size, as Envoy's codec accepts
          return true;
        }
        return false;
      }
      case S_CHUNK_EXT_START: {
        if (c == SP || c == CR) return false;
        return this.step(S_CHUNK_EXT_NAME, c);
      }
      case S_CHUNK_EXT_NAME: {
        if (isTokenChar(c)) {
          this.state = S_CHUNK_EXT_NAME;
          return true;
        }
        if (c == EQUALS) {
          this.state = S_CHUNK_EXT_VALUE;
          return true;
        }
        return this.chunkExtEnd(c);
      }
      case S_CHUNK_EXT_VALUE: {
        if (c == QUOTE) {
          this.state = S_CHUNK_EXT_QUOTED;
          return true;
        }
        if (isTokenChar(c)) return true;
        return this.chunkExtEnd(c);
      }
      case S_CHUNK_EXT_QUOTED: {
        if (c == QUOTE) {
          this.state = S_CHUNK_EXT_QUOTED_END;
          return true;
        }
        if (c == BACKSLASH) {
          this.state = S_CHUNK_EXT_QUOTED_PAIR;
          return true;
        }
        return isQuotedText(c);
      }
      case S_CHUNK_EXT_QUOTED_PAIR: {
        if (!isHeaderValueChar(c)) return false;
        this.state = S_CHUNK_EXT_QUOTED;
        return true;
      }
      case S_CHUNK_EXT_QUOTED_END: {
        return this.chunkExtEnd(c);
      }
      case S_CHUNK_SIZE_LF: {
        if (c != LF) return false;
        if (this.remaining == 0) {
          // last chunk: trailer fields follow, with the same rules as header fields
          this.trailing = true;
          this.headBytes = 0;
          this.state = S_FIELD_START;
        } else {
          this.state = S_CHUNK_DATA;
        }
        return true;
      }
      case S_CHUNK_SIZE_WS: {
        if (c == SP || c == HTAB) return true;
        return this.chunkExtEnd(c); // `;` or CR, as after an extension
      }
      case S_CHUNK_DATA_CR: {
        if (c == LF) {
          this.state = S_CHUNK_SIZE_START; // leniency: a bare LF after chunk data
          return true;
        }
        if (c != CR) return false;
        this.state = S_CHUNK_DATA_LF;
        return true;
      }
      case S_CHUNK_DATA_LF: {
        if (c != LF) return false;
        this.state = S_CHUNK_SIZE_START;
        return true;
      }
      case S_CLOSED: {
        // the client said the connection ends here; a server reads no further request
        return c == CR || c == LF;
      }
    }
    return false;
  }

  // ---------------------------------------------------------------- request target

  private urlByte(next: i32, c: i32): bool {
    this.keepTargetByte(c);
    this.state = next;
    return true;
  }

  /** A byte that may end the target: a space (the version follows) or CR LF / LF (HTTP/0.9, no version). */
  private urlEnd(c: i32): bool {
    if (c == SP) {
      this.state = S_PROTO_START;
      return true;
    }
    if (c == CR) {
      this.state = S_URL_LF;
      return true;
    }
    if (c == LF) {
      this.http09();
      return true;
    }
    return false;
  }

  private http09(): void {
    this.major = 0;
    this.minor = 9;
    this.state = S_FIELD_START;
  }

  /** keepTargetByte for `n` bytes at `p`. */
  private keepTargetBytes(p: usize, n: i32): void {
    let have = this.targetLength;
    let keep = min(n, MAX_TARGET_BYTES - have);
    if (keep < n) this.targetTruncated = true;
    if (keep <= 0) return;
    let buf = this.target;
    if (have + keep > buf.length) {
      let size = buf.length == 0 ? 128 : buf.length;
      while (size < have + keep) size <<= 1;
      let bigger = new Uint8Array(min(size, MAX_TARGET_BYTES));
      memory.copy(bigger.dataStart, buf.dataStart, <usize>have);
      buf = bigger;
      this.target = bigger;
    }
    memory.copy(buf.dataStart + <usize>have, p, <usize>keep);
    this.targetLength = have + keep;
  }

  private keepTargetByte(c: i32): void {
    let buf = this.target;
    let n = this.targetLength;
    if (n == buf.length) {
      if (n >= MAX_TARGET_BYTES) {
        this.targetTruncated = true;
        return;
      }
      // grows 128, 256, … MAX_TARGET_BYTES once per parser (parsers are reused), never per request
      let bigger = new Uint8Array(n == 0 ? 128 : n << 1);
      memory.copy(bigger.dataStart, buf.dataStart, <usize>n);
      buf = bigger;
      this.target = bigger;
    }
    unchecked((buf[n] = <u8>c));
    this.targetLength = n + 1;
  }

  // ---------------------------------------------------------------- header fields

  private fieldComplete(): bool {
    let h = this.name.kind();
    if (h == H_PROXY_CONNECTION) h = H_CONNECTION; // llhttp reads both alike
    this.header = h;
    // a request with both is a smuggling attempt (RFC 9112 §6.1); llhttp reports it after the colon
    if (h == H_TRANSFER_ENCODING && this.hasContentLength) return this.failAfter();
    if (h == H_CONTENT_LENGTH && this.hasTransferEncoding) return this.failAfter();
    this.state = S_VALUE_WS;
    return true;
  }

  /** The first byte of a non-empty field value. */
  private valueStart(c: i32): bool {
    let h = this.header;
    if (h == H_CONTENT_LENGTH) {
      if (this.hasContentLength) return false; // a second Content-Length, even an equal one
      this.pendingLength = 0;
      this.lengthDone = false;
      this.state = S_VALUE_LENGTH;
      return this.step(S_VALUE_LENGTH, c);
    }
    if (h == H_TRANSFER_ENCODING) {
      if (this.chunked) return false; // nothing may follow chunked
      this.hasTransferEncoding = true;
      this.codingState = TE_MATCH;
      this.matchPos = 0;
      this.state = S_VALUE_CODINGS;
      return this.codingByte(c);
    }
    if (h == H_CONNECTION) {
      this.optionLen = 0;
      this.optionDone = false;
      this.state = S_VALUE_CONNECTION;
      return this.optionByte(c);
    }
    if (h == H_UPGRADE) this.hasUpgrade = true;
    this.state = S_VALUE;
    return this.step(S_VALUE, c);
  }

  /** Transfer-Encoding: is the last coding exactly `chunked`? */
  private codingByte(c: i32): bool {
    let t = this.codingState;
    if (t == TE_OWS) {
      if (c == SP || c == HTAB) return true;
      this.codingState = TE_MATCH;
      this.matchPos = 0;
      t = TE_MATCH;
    }
    if (t == TE_MATCH) {
      if (toLower(c) == CHUNKED.charCodeAt(this.matchPos)) {
        if (++this.matchPos == CHUNKED.length) this.codingState = TE_CHUNKED;
        return true;
      }
      this.codingState = TE_OTHER;
      t = TE_OTHER;
    } else if (t == TE_CHUNKED) {
      if (c == SP) return true;
      if (c == COMMA) return false; // chunked must be the final coding
      if (c != CR && c != LF) {
        this.codingState = TE_OTHER;
        t = TE_OTHER;
      }
    }
    if (c == CR || c == LF) {
      this.state = c == CR ? S_VALUE_LF : S_VALUE_END;
      return true;
    }
    if (t == TE_OTHER && c == COMMA) {
      this.codingState = TE_OWS;
      return true;
    }
    return isHeaderValueChar(c);
  }

  /** Connection: collects each comma-separated option and notes close, keep-alive and upgrade. */
  private optionByte(c: i32): bool {
    if (c == CR || c == LF || c == COMMA) {
      this.optionComplete();
      if (c == CR) {
        this.state = S_VALUE_LF;
      } else if (c == LF) {
        this.state = S_VALUE_END;
      } else {
        this.optionLen = 0;
        this.optionDone = false;
      }
      return true;
    }
    if (c == SP || c == HTAB) {
      if (this.optionLen > 0) this.optionDone = true; // whitespace after the option
      return true;
    }
    if (!isListElementChar(c)) return false;
    if (this.optionDone || this.optionLen >= OPTION_BYTES) {
      this.optionLen = OPTION_BYTES + 1; // not one sitio looks for
      return true;
    }
    this.optionBuf[this.optionLen++] = <u8>toLower(c);
    return true;
  }

  private optionComplete(): void {
    let n = this.optionLen;
    if (n == 5 && bytesAre(this.optionBuf, 0, "close")) this.connClose = true;
    else if (n == 10 && bytesAre(this.optionBuf, 0, "keep-alive")) this.connKeepAlive = true;
    else if (n == 7 && bytesAre(this.optionBuf, 0, "upgrade")) this.connUpgrade = true;
  }

  /**
   * A line starting with a blank continues the previous field's value
   * (obs-fold). Leniency: accepted, as Envoy's codec does, for fields that do
   * not decide framing or the connection; on Content-Length,
   * Transfer-Encoding, Connection or Upgrade it is a protocol error (two
   * readers could disagree on the value: request smuggling).
   */
  private fold(): bool {
    if (this.header != H_OTHER) return false;
    this.state = S_VALUE;
    return true;
  }

  // ---------------------------------------------------------------- chunk extensions

  private chunkExtEnd(c: i32): bool {
    if (c == SEMICOLON) {
      this.state = S_CHUNK_EXT_START;
      return true;
    }
    if (c == CR) {
      this.state = S_CHUNK_SIZE_LF;
      return true;
    }
    return false;
  }

  // ---------------------------------------------------------------- message boundaries

  private headersComplete(): bool {
    let connect = isConnect(this.methodBuf, this.methodLen);
    this.method = methodName(this.methodAt);
    this.upgrade = connect || (this.hasUpgrade && this.connUpgrade);
    this.event = RequestEvent.Head;
    this.switchPending = this.upgrade;
    let hasBody = this.chunked || this.contentLength > 0;
    if (this.upgrade && (connect || !hasBody)) {
      this.switchProtocols(); // CONNECT's body is not read
    } else if (this.chunked) {
      this.state = S_CHUNK_SIZE_START;
    } else if (this.hasTransferEncoding) {
      // RFC 9112 §6.3: a request whose last coding is not chunked has no determinable length
      this.failAfter();
      this.event = RequestEvent.Head;
    } else if (this.contentLength > 0) {
      this.state = S_BODY;
      this.remaining = this.contentLength;
    } else {
      this.messageComplete();
    }
    return true;
  }

  private messageComplete(): void {
    if (this.switchPending) {
      this.switchProtocols(); // after the body of an Upgrade request
      return;
    }
    // llhttp's rule: HTTP/1.1 (major and minor > 0) persists unless "close"; older versions need "keep-alive"
    let persistent = this.major > 0 && this.minor > 0 ? !this.connClose : this.connKeepAlive;
    this.state = persistent ? S_START : S_CLOSED;
  }

  /** The bytes after this point belong to the protocol the request switches to, if the upstream agrees. */
  private switchProtocols(): void {
    this.state = S_SWITCH_WAIT;
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
    this.targetLength = 0;
    this.targetTruncated = false;
    this.upgrade = false;
    this.protocols = 0;
    this.protocol = 0;
    this.major = 0;
    this.minor = 0;
    this.trailing = false;
    this.header = H_OTHER;
    this.hasContentLength = false;
    this.contentLength = 0;
    this.hasTransferEncoding = false;
    this.chunked = false;
    this.connClose = false;
    this.connKeepAlive = false;
    this.connUpgrade = false;
    this.hasUpgrade = false;
    this.remaining = 0;
  }
}
