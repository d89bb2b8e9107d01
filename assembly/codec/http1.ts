// HTTP/1.x codec: counts each request once, by method and endpoint, from the
// raw downstream bytes (keep-alive, pipelining and any split included).

import { Codec } from "./codec";
import { Http1RequestParser, RequestEvent } from "./http1_request";
import { Config } from "../config";
import { TcpMetrics } from "../network/tcp_metrics";

export class Http1Codec extends Codec {
  private requests: Http1RequestParser = new Http1RequestParser();

  constructor(config: Config, metrics: TcpMetrics) {
    super(config, metrics);
  }

  onDownstream(ptr: usize, len: i32, nowNs: u64): void {
    let p = this.requests;
    let before = p.opaqueBytes;
    let off = 0;
    while (off < len) {
      off += p.execute(ptr + <usize>off, len - off);
      if (p.event == RequestEvent.Head) {
        this.metrics.request(p.method, p.target, p.targetTruncated);
      }
    }
    let opaque = p.opaqueBytes - before;
    if (opaque > 0) this.metrics.unparsed(opaque);
  }

  onUpstream(ptr: usize, len: i32, nowNs: u64): Uint8Array | null {
    return null;
  }
}
