// NetworkStream: one per downstream connection. Counts the connection and its
// bytes, and hands the bytes to the plugin's protocol codec.

import { Bytes, BufferType, FilterStatus, incrementMetric, readBuffer, nowNs, writeBuffer } from "../abi/host";
import { Codec } from "../codec/codec";
import { newCodec } from "../codec/registry";
import { NetworkRoot } from "./root";
import { TcpMetrics } from "./tcp_metrics";

/** One reusable view for every read of every connection (the VM is single-threaded). */
const data = new Bytes();

export class NetworkStream {
  private metrics: TcpMetrics;
  private codec: Codec;
  private open: bool = false;

  constructor(public contextId: u32, root: NetworkRoot) {
    this.metrics = root.metrics!;
    this.codec = newCodec(root.config, this.metrics);
  }

  /** The connection was accepted (proxy_on_context_create; sitio does not export proxy_on_new_connection). */
  onNewConnection(): void {
    this.open = true;
    incrementMetric(this.metrics.connections, 1);
    incrementMetric(this.metrics.active, 1);
  }

  /** proxy_on_downstream_data: client bytes on their way upstream (observed, never changed). */
  onDownstreamData(size: u32, endOfStream: bool): u32 {
    if (size == 0) return FilterStatus.Continue;
    incrementMetric(this.metrics.rxBytes, size);
    if (readBuffer(BufferType.NetworkDownstreamData, 0, size, data)) {
      this.codec.onDownstream(data.ptr, data.len, nowNs());
      data.release();
    }
    return FilterStatus.Continue;
  }

  /** proxy_on_downstream_connection_close. */
  onDownstreamConnectionClose(peer: u32): void {
    this.codec.onDownstreamClose(nowNs());
  }

  /** proxy_on_upstream_data: upstream bytes on their way to the client. */
  onUpstreamData(size: u32, endOfStream: bool): u32 {
    if (size == 0) return FilterStatus.Continue;
    // the bytes the client gets: the codec may replace or withhold some (custom 404 page)
    let sent: i64 = size;
    if (readBuffer(BufferType.NetworkUpstreamData, 0, size, data)) {
      let replacement = this.codec.onUpstream(data.ptr, data.len, nowNs());
      data.release();
      if (replacement) {
        writeBuffer(BufferType.NetworkUpstreamData, 0, size, replacement.dataStart, replacement.length);
        sent = replacement.length;
      }
    }
    incrementMetric(this.metrics.txBytes, sent);
    return FilterStatus.Continue;
  }

  /** proxy_on_upstream_connection_close (Envoy calls it when the upstream ends its stream). */
  onUpstreamConnectionClose(peer: u32): void {
    this.codec.onUpstreamClose(nowNs());
  }

  /** proxy_on_done / proxy_on_delete: the connection is over (runs its effect once). */
  onDone(): void {
    if (!this.open) return;
    this.open = false;
    incrementMetric(this.metrics.active, -1);
    this.metrics.reportMemory();
  }
}
