// Incremental parser of Foo protocol lines (seed 001), one direction of a connection:
//
//   Msg  := Type <whitespace> Seq [<whitespace> Data] '\n'
//   Type := "REQ" | "ACK" | "NAK"
//   Seq  := <integer>
//   Data := <UTF-8 string without newline>
//
// Pull style, like http1_request.ts: `execute(ptr, len)` consumes bytes
// until one line is complete or found malformed, or the bytes run out, and
// returns how many it consumed; the caller reads `event` and calls again with
// the rest. Every decision is made byte by byte, so any split of the stream,
// down to one byte per call, yields the same events. Nothing of a line is
// kept but its type and sequence number: memory is constant.
//
// Choices where the grammar is loose:
// - whitespace is one or more spaces or tabs; a line may end in "\r\n";
// - Seq is 1 to 18 decimal digits (leading zeros allowed: "007" is 7);
// - Data must be valid UTF-8 without NUL;
// - a line is at most MAX_LINE_BYTES bytes, its '\n' included;
// - a malformed line is reported once, as soon as it is known to be wrong,
//   and the parser skips to the next '\n': one bad line never hides the next.
//
// Pure: no host calls.

/** What the last `execute` call found. */
export enum FooEvent {
  /** Nothing yet: all bytes consumed, feed more. */
  None = 0,
  /** A well-formed line: read `type`, `seq`. */
  Message = 1,
  /** A line that breaks the grammar (or has a type this direction never sends). */
  Malformed = 2,
}

/** Message types. */
export enum FooType {
  Req = 1,
  Ack = 2,
  Nak = 3,
}

/** Longest accepted line, '\n' included. */
export const MAX_LINE_BYTES = 4096;
/** Most digits of a sequence number (always fits in a u64). */
const MAX_SEQ_DIGITS = 18;

// states
const S_START = 0;
const S_TYPE1 = 1;
const S_TYPE2 = 2;
const S_TYPE_END = 3;
const S_SEQ_START = 4;
const S_SEQ = 5;
const S_DATA = 6;
const S_CR = 7;
/** Inside a malformed line, until its '\n'. */
const S_SKIP = 8;

const LF = 10;
const CR = 13;

function isBlank(c: i32): bool {
  return c == 32 || c == 9;
}

export class FooLineParser {
  event: FooEvent = FooEvent.None;
  type: FooType = FooType.Req;
  seq: u64 = 0;
  /** Lines begun so far (bumped on each line's first byte): the decoder times a request from it. */
  started: u32 = 0;
  /** Bytes of malformed lines so far (they pass through undecoded). */
  opaqueBytes: u64 = 0;

  private state: i32 = S_START;
  private lineBytes: i32 = 0;
  private digits: i32 = 0;
  /** UTF-8 continuation bytes still expected in Data, and the range the next one must be in. */
  private utf8Need: i32 = 0;
  private utf8Lo: i32 = 0x80;
  private utf8Hi: i32 = 0xbf;

  /** `requests`: this direction carries REQ (client to server); otherwise ACK and NAK. */
  constructor(private requests: bool) {}

  /** Back to the start of a new connection. */
  reset(): void {
    this.event = FooEvent.None;
    this.state = S_START;
    this.opaqueBytes = 0;
    this.started = 0;
  }

  /** Consumes bytes until one event happens or the bytes run out; returns the bytes consumed. */
  execute(ptr: usize, len: i32): i32 {
    this.event = FooEvent.None;
    let i = 0;
    while (i < len) {
      let c = <i32>load<u8>(ptr + <usize>i);
      i++;
      let state = this.state;
      if (state == S_SKIP) {
        this.opaqueBytes++;
        if (c == LF) this.state = S_START;
        continue;
      }
      if (state == S_START) {
        this.started++;
        this.lineBytes = 0;
        this.seq = 0;
        this.digits = 0;
        this.utf8Need = 0;
      }
      this.lineBytes++;
      if (c != LF && this.lineBytes >= MAX_LINE_BYTES) {
        this.fail(c);
        return i;
      }
      this.step(state, c);
      if (this.event != FooEvent.None) return i;
    }
    return i;
  }

  private step(state: i32, c: i32): void {
    switch (state) {
      case S_START: {
        if (this.requests) {
          if (c == 82 /* R */) this.startType(FooType.Req);
          else this.fail(c);
        } else if (c == 65 /* A */) this.startType(FooType.Ack);
        else if (c == 78 /* N */) this.startType(FooType.Nak);
        else this.fail(c);
        break;
      }
      case S_TYPE1: {
        // REQ, ACK, NAK: the second letters are E, C, A
        let t = this.type;
        let expected = t == FooType.Req ? 69 : t == FooType.Ack ? 67 : 65;
        if (c == expected) this.state = S_TYPE2;
        else this.fail(c);
        break;
      }
      case S_TYPE2: {
        // the third letters are Q, K, K
        let expected = this.type == FooType.Req ? 81 : 75;
        if (c == expected) this.state = S_TYPE_END;
        else this.fail(c);
        break;
      }
      case S_TYPE_END: {
        if (isBlank(c)) this.state = S_SEQ_START;
        else this.fail(c);
        break;
      }
      case S_SEQ_START: {
        if (isBlank(c)) break;
        if (c >= 48 && c <= 57) {
          this.seq = <u64>(c - 48);
          this.digits = 1;
          this.state = S_SEQ;
        } else this.fail(c);
        break;
      }
      case S_SEQ: {
        if (c >= 48 && c <= 57) {
          if (this.digits == MAX_SEQ_DIGITS) {
            this.fail(c);
            break;
          }
          this.seq = this.seq * 10 + <u64>(c - 48);
          this.digits++;
        } else if (isBlank(c)) this.state = S_DATA;
        else if (c == CR) this.state = S_CR;
        else if (c == LF) this.complete();
        else this.fail(c);
        break;
      }
      case S_DATA: {
        if (c == LF) {
          if (this.utf8Need > 0) this.fail(c);
          else this.complete();
        } else if (!this.dataByte(c)) this.fail(c);
        break;
      }
      case S_CR: {
        if (c == LF) this.complete();
        else this.fail(c);
        break;
      }
    }
  }

  private startType(t: FooType): void {
    this.type = t;
    this.state = S_TYPE1;
  }

  /** One byte of Data (not '\n'): false when it makes Data invalid UTF-8 or is NUL. */
  private dataByte(c: i32): bool {
    if (this.utf8Need > 0) {
      if (c < this.utf8Lo || c > this.utf8Hi) return false;
      this.utf8Need--;
      this.utf8Lo = 0x80;
      this.utf8Hi = 0xbf;
      return true;
    }
    if (c < 0x80) return c != 0;
    // RFC 3629 well-formed sequences: no overlong forms, no surrogates, nothing past U+10FFFF.
    if (c >= 0xc2 && c <= 0xdf) return this.expect(1, 0x80, 0xbf);
    if (c == 0xe0) return this.expect(2, 0xa0, 0xbf);
    if (c == 0xed) return this.expect(2, 0x80, 0x9f);
    if (c >= 0xe1 && c <= 0xef) return this.expect(2, 0x80, 0xbf);
    if (c == 0xf0) return this.expect(3, 0x90, 0xbf);
    if (c >= 0xf1 && c <= 0xf3) return this.expect(3, 0x80, 0xbf);
    if (c == 0xf4) return this.expect(3, 0x80, 0x8f);
    return false;
  }

  private expect(need: i32, lo: i32, hi: i32): bool {
    this.utf8Need = need;
    this.utf8Lo = lo;
    this.utf8Hi = hi;
    return true;
  }

  private complete(): void {
    this.event = FooEvent.Message;
    this.state = S_START;
  }

  /** The line is malformed at byte `c`: report it and skip to its end. */
  private fail(c: i32): void {
    this.event = FooEvent.Malformed;
    this.opaqueBytes += <u64>this.lineBytes;
    this.state = c == LF ? S_START : S_SKIP;
  }
}
