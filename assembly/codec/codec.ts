// The protocol codec interface of the network (L4) filter.
//
// Like MetaProtocol's codecs, a codec only frames and decodes one protocol's
// bytes; the connection lifecycle, metrics and timing are shared. One codec
// instance serves one connection and holds that connection's protocol state.
// A codec never throws: bytes it cannot decode are reported as unparsed and
// passed through untouched.

import { Config } from "../config";
import { TcpMetrics } from "../network/tcp_metrics";

export abstract class Codec {
  constructor(protected config: Config, protected metrics: TcpMetrics) {}

  /** Bytes from the client, in order, as they arrive (any split). */
  abstract onDownstream(ptr: usize, len: i32, nowNs: u64): void;

  /**
   * Bytes from the upstream, in order. Returns null to forward them untouched,
   * or the bytes to forward in their place.
   */
  abstract onUpstream(ptr: usize, len: i32, nowNs: u64): Uint8Array | null;

  /** The client closed its side: no more downstream bytes. */
  onDownstreamClose(nowNs: u64): void {}

  /** The upstream closed its side: no more upstream bytes (ends a body that runs until the close). */
  onUpstreamClose(nowNs: u64): void {}
}
