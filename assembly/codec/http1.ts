// The HTTP/1.x decoder: requests from the client's bytes (keep-alive,
// pipelining and any split included), responses from the upstream's, and the
// protocol switches between them (CONNECT, Upgrade, the HTTP/2 preface),
// after which both directions pass through unread.
//
// The request parser (http1_request.ts) and the response parser
// (http1_response.ts) do the byte work; this file joins them: a response's
// framing depends on the request it answers (no body for HEAD; a 2xx to
// CONNECT opens a tunnel), which PendingFraming remembers in order.

import { Decoder, DecoderEvent } from "./decoder";
import { PendingFraming, REQUEST_CONNECT, REQUEST_HEAD, REQUEST_SWITCH } from "./http1_pending";
import { Http1RequestParser, RequestEvent } from "./http1_request";
import { Http1ResponseParser, ResponseEvent } from "./http1_response";

export class Http1Decoder extends Decoder {
  private requests: Http1RequestParser = new Http1RequestParser();
  private responses: Http1ResponseParser = new Http1ResponseParser();
  private framing: PendingFraming = new PendingFraming();
  private requestsStarted: u32 = 0;
  /** Client bytes held during a switch the upstream refused, to be decoded now (see hasReplay). */
  private replayBytes: Uint8Array | null = null;
  private replayAt: i32 = 0;

  constructor() {
    super();
  }

  reset(): void {
    this.event = DecoderEvent.None;
    this.requests.reset();
    this.responses.reset();
    this.framing.clear();
    this.requestsStarted = 0;
    this.replayBytes = null;
    this.replayAt = 0;
    this.unmatchedResponse = false;
    this.responseToHead = false;
    this.opaqueDownstreamBytes = 0;
    this.status = 0;
    this.interim = false;
    this.headBytes = 0;
  }

  // ---------------------------------------------------------------- requests

  downstream(ptr: usize, len: i32): i32 {
    let p = this.requests;
    let before = p.opaqueBytes;
    let wasHolding = p.awaitingSwitch;
    let n = p.execute(ptr, len);
    let ev = DecoderEvent.None;
    if (p.started != this.requestsStarted) {
      this.requestsStarted = p.started;
      ev |= DecoderEvent.RequestStart;
    }
    if (p.event == RequestEvent.Head) ev |= this.requestHead();
    if (!wasHolding && p.awaitingSwitch) ev |= DecoderEvent.Held;
    this.opaqueDownstreamBytes += p.opaqueBytes - before;
    this.event = ev;
    return n;
  }

  private requestHead(): i32 {
    let p = this.requests;
    this.method = p.method;
    this.target = p.target;
    this.targetLength = p.targetLength;
    this.targetTruncated = p.targetTruncated;
    let flags: u8 = 0;
    if (p.method == "HEAD") flags |= REQUEST_HEAD;
    if (p.method == "CONNECT") flags |= REQUEST_CONNECT;
    if (p.upgrade) flags |= REQUEST_SWITCH;
    this.framing.push(flags);
    return DecoderEvent.Request;
  }

  hasReplay(): bool {
    return this.replayBytes !== null;
  }

  replay(): i32 {
    let bytes = this.replayBytes!;
    let at = this.replayAt;
    let n = this.downstream(bytes.dataStart + <usize>at, bytes.length - at);
    this.replayAt = at + n;
    if (this.replayAt >= bytes.length) {
      this.replayBytes = null;
      this.replayAt = 0;
    }
    return n;
  }

  // ---------------------------------------------------------------- responses

  upstream(ptr: usize, len: i32): i32 {
    let r = this.responses;
    if (r.opaque) {
      this.event = DecoderEvent.None;
      return len;
    }
    let front = this.framing.frontFlags;
    r.requestIsHead = (front & REQUEST_HEAD) != 0;
    r.requestIsConnect = (front & REQUEST_CONNECT) != 0;
    let n = r.execute(ptr, len);
    this.event = this.responseEvents(r.event);
    return n;
  }

  private responseEvents(re: i32): i32 {
    let r = this.responses;
    let ev = DecoderEvent.None;
    this.status = r.status;
    this.headBytes = r.headBytes;
    if ((re & ResponseEvent.Error) != 0) return DecoderEvent.UpstreamStopped;
    if ((re & ResponseEvent.Head) != 0) {
      let framing = this.framing;
      this.unmatchedResponse = false;
      if (framing.empty || framing.frontUnknown) {
        // nothing to frame it by: an answer to no request, or to one whose method was not remembered
        this.unmatchedResponse = framing.empty;
        r.goOpaque();
        return DecoderEvent.ResponseHead | DecoderEvent.UpstreamStopped;
      }
      let front = framing.frontFlags;
      this.interim = r.interim;
      this.responseToHead = (front & REQUEST_HEAD) != 0;
      ev |= DecoderEvent.ResponseHead;
      if (!r.interim && ((front & REQUEST_SWITCH) != 0 || r.status == 101)) ev |= this.resolveSwitch(r.status, front);
    }
    if ((re & ResponseEvent.Complete) != 0) {
      ev |= DecoderEvent.ResponseEnd;
      this.framing.pop();
    }
    if (r.opaque && (ev & DecoderEvent.UpstreamStopped) == 0) ev |= DecoderEvent.UpstreamStopped;
    return ev;
  }

  /** The upstream answered a CONNECT/Upgrade request (or sent 101): switch both directions, or resume parsing the held bytes. */
  private resolveSwitch(status: i32, flags: u8): i32 {
    let accepted = status == 101 || ((flags & REQUEST_CONNECT) != 0 && status >= 200 && status < 300);
    let p = this.requests;
    if (accepted) {
      let before = p.opaqueBytes;
      p.resolveSwitch(true);
      this.opaqueDownstreamBytes += p.opaqueBytes - before;
      return DecoderEvent.None;
    }
    this.replayBytes = p.resolveSwitch(false);
    this.replayAt = 0;
    return DecoderEvent.None;
  }

  upstreamSkippable(): u64 {
    return this.responses.opaque ? 0 : this.responses.skippable;
  }

  skipUpstream(n: i32): i32 {
    // the parser skips body bytes by count without reading them; any pointer will do
    return this.upstream(0, n);
  }

  inResponseHead(): bool {
    return this.responses.inHead;
  }

  upstreamStopped(): bool {
    return this.responses.opaque;
  }

  upstreamClosed(): i32 {
    let r = this.responses;
    if (r.opaque) return DecoderEvent.None;
    if (r.finish()) {
      this.status = r.status;
      this.framing.pop();
      return DecoderEvent.ResponseEnd | DecoderEvent.UpstreamStopped;
    }
    return DecoderEvent.UpstreamStopped;
  }

  downstreamStopped(): bool {
    return this.requests.opaque;
  }
}
