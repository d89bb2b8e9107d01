// The Foo decoder (seed 001): the client sends `REQ <seq> [data]` lines, the
// server answers each with `ACK <seq>` or `NAK <seq>`, in any order, several
// at once. Each REQ is a request (method "REQ", no endpoint) with its sequence
// number as id; each ACK/NAK a response (status word "ACK"/"NAK") matched by
// id; a line that breaks the grammar is malformed (foo_line.ts decodes lines).

import { Decoder, DecoderEvent } from "./decoder";
import { FooEvent, FooLineParser, FooType } from "./foo_line";

const REQ = "REQ";
const ACK = "ACK";
const NAK = "NAK";

export class FooDecoder extends Decoder {
  private requests: FooLineParser = new FooLineParser(true);
  private replies: FooLineParser = new FooLineParser(false);
  private linesStarted: u32 = 0;

  constructor() {
    super();
    this.method = REQ;
    this.clientNamesMethod = false;
    this.hasEndpoint = false;
    this.matchesById = true;
  }

  reset(): void {
    this.event = DecoderEvent.None;
    this.requests.reset();
    this.replies.reset();
    this.linesStarted = 0;
    this.opaqueDownstreamBytes = 0;
  }

  downstream(ptr: usize, len: i32): i32 {
    let p = this.requests;
    let before = p.opaqueBytes;
    let n = p.execute(ptr, len);
    let ev = DecoderEvent.None;
    if (p.started != this.linesStarted) {
      this.linesStarted = p.started;
      ev |= DecoderEvent.RequestStart;
    }
    if (p.event == FooEvent.Message) {
      this.requestId = p.seq;
      ev |= DecoderEvent.Request;
    } else if (p.event == FooEvent.Malformed) {
      ev |= DecoderEvent.MalformedRequest;
    }
    this.opaqueDownstreamBytes += p.opaqueBytes - before;
    this.event = ev;
    return n;
  }

  upstream(ptr: usize, len: i32): i32 {
    let p = this.replies;
    let n = p.execute(ptr, len);
    let ev = DecoderEvent.None;
    if (p.event == FooEvent.Message) {
      this.responseId = p.seq;
      this.statusWord = p.type == FooType.Nak ? NAK : ACK;
      ev = DecoderEvent.ResponseHead | DecoderEvent.ResponseEnd;
    } else if (p.event == FooEvent.Malformed) {
      ev = DecoderEvent.MalformedResponse;
    }
    this.event = ev;
    return n;
  }
}
