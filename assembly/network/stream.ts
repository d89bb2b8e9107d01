// NetworkStream: one per downstream connection. Counts the connection and its
// bytes, and hands the bytes to the plugin's protocol codec.

import { Bytes, BufferType, FilterStatus, incrementMetric, readBuffer, nowNs, writeBuffer } from "../abi/host";
import { SCRATCH_MAX_BYTES } from "../abi/host_memory";
import { ByteBuilder } from "../codec/byte_builder";
import { Codec } from "../codec/codec";
import { newCodec } from "../codec/registry";
import { NetworkRoot } from "./root";
import { TcpMetrics } from "./tcp_metrics";

/** One reusable view for every read of every connection (the VM is single-threaded). */
const data = new Bytes();
/** A second view, for re-reading the start of an upstream read that turns out to need rewriting. */
const earlier = new Bytes();
/** Bytes read from the host at a time: what the scratch block serves without allocating. */
const READ_WINDOW: u32 = <u32>SCRATCH_MAX_BYTES;

export class NetworkStream {
  private metrics: TcpMetrics;
  private codec: Codec;
  private open: bool = false;

  constructor(public contextId: u32, root: NetworkRoot) {
    let metrics = root.metrics!;
    this.metrics = metrics;
    this.codec = newCodec(root.config, metrics);
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
    let now = nowNs();
    // read in windows the scratch block serves, so a large read allocates nothing
    for (let pos: u32 = 0; pos < size; pos += READ_WINDOW) {
      if (!readBuffer(BufferType.NetworkDownstreamData, pos, min(READ_WINDOW, size - pos), data)) break;
      this.codec.onDownstream(data.ptr, data.len, now);
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
    let now = nowNs();
    // the replacement of the whole read, started at the first window the codec changes
    let out: ByteBuilder | null = null;
    for (let pos: u32 = 0; pos < size; pos += READ_WINDOW) {
      if (!readBuffer(BufferType.NetworkUpstreamData, pos, min(READ_WINDOW, size - pos), data)) break;
      let replacement = this.codec.onUpstream(data.ptr, data.len, now);
      if (replacement !== null && out === null) {
        out = new ByteBuilder(<i32>size);
        // the windows before this one went through unchanged: read them again (only a rewrite in a read larger than a window does this)
        if (pos > 0 && readBuffer(BufferType.NetworkUpstreamData, 0, pos, earlier)) {
          out.append(earlier.ptr, earlier.len);
          earlier.release();
        }
      }
      if (out !== null) {
        if (replacement !== null) out.appendBytes(replacement);
        else out.append(data.ptr, data.len);
      }
      data.release();
    }
    if (out !== null) {
      writeBuffer(BufferType.NetworkUpstreamData, 0, size, out.dataStart, out.length);
      sent = out.length;
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
