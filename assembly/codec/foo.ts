// Foo protocol codec (seed 001): the client sends `REQ <seq> [data]` lines, the
// server answers each with `ACK <seq>` or `NAK <seq>`, in any order, several
// at once. Counts each REQ as a request (method "REQ", endpoint "-") and each
// ACK/NAK as a response (status "ACK"/"NAK"), like the seed's msg_req/msg_ack/
// msg_nak; matches each reply to its request by sequence number for the
// REQ→reply duration; and counts what does not fit: replies to no waiting
// request, a REQ reusing a waiting sequence number, malformed lines. The bytes
// always pass untouched.

import { Codec } from "./codec";
import { FooEvent, FooLineParser, FooType } from "./foo_line";
import { Config } from "../config";
import { EndpointSeries, TcpMetrics } from "../network/tcp_metrics";

/** Requests awaiting a reply per connection; past this, new ones are counted as untimed. */
export const MAX_PENDING = 1024;
/** Foo requests have no endpoint; this is their label. */
const NO_ENDPOINT = "-";

export class FooCodec extends Codec {
  private requests: FooLineParser = new FooLineParser(true);
  private replies: FooLineParser = new FooLineParser(false);
  /** Sequence number → start of its REQ line (ns), for requests awaiting their reply. */
  private pending: Map<u64, u64> = new Map();
  private series: EndpointSeries | null = null;

  constructor(config: Config, metrics: TcpMetrics) {
    super(config, metrics);
  }

  onDownstream(ptr: usize, len: i32, nowNs: u64): void {
    let p = this.requests;
    let before = p.opaqueBytes;
    let off = 0;
    while (off < len) {
      off += p.execute(ptr + <usize>off, len - off, nowNs);
      if (p.event == FooEvent.Message) this.request(p.seq, p.startNs);
      else if (p.event == FooEvent.Malformed) this.metrics.malformed(true);
    }
    let opaque = p.opaqueBytes - before;
    if (opaque > 0) this.metrics.unparsed(opaque);
  }

  onUpstream(ptr: usize, len: i32, nowNs: u64): Uint8Array | null {
    let p = this.replies;
    let off = 0;
    while (off < len) {
      off += p.execute(ptr + <usize>off, len - off, nowNs);
      if (p.event == FooEvent.Message) this.reply(p.type, p.seq, nowNs);
      else if (p.event == FooEvent.Malformed) this.metrics.malformed(false);
    }
    return null;
  }

  private request(seq: u64, startNs: u64): void {
    if (this.series === null) this.series = this.metrics.fixedSeries("REQ", NO_ENDPOINT);
    this.metrics.countRequest(this.series!);
    // The first REQ of a sequence number keeps its start; its reply is matched to it.
    if (this.pending.has(seq)) this.metrics.duplicateRequest();
    else if (this.pending.size >= MAX_PENDING) this.metrics.untimedRequest();
    else this.pending.set(seq, startNs);
  }

  private reply(type: FooType, seq: u64, nowNs: u64): void {
    let status = type == FooType.Nak ? "NAK" : "ACK";
    if (!this.pending.has(seq)) {
      // Still a reply the server sent (the seed's msg_ack/msg_nak count it); it just has no duration.
      this.metrics.untimedResponse(status);
      this.metrics.unmatchedResponse();
      return;
    }
    let startNs = this.pending.get(seq);
    this.pending.delete(seq);
    this.metrics.response(this.series!, status, startNs, nowNs);
  }
}
