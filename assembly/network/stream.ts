// NetworkStream: one per downstream connection. Hands each direction's bytes
// to the plugin's protocol decoder, matches and times requests and responses
// (ExchangeTracker), turns the decoder's events into metrics (TcpMetrics),
// and, for a protocol with custom pages, lets the 404 rewriter replace
// upstream 404 responses. Hooks in the order Envoy calls them.
//
// Reads go through the host's scratch block in windows of at most
// READ_WINDOW bytes, so a large read allocates nothing; body bytes the
// decoder need not see are skipped without being read at all.

import { BufferType, Bytes, FilterStatus, nowNs, readBuffer, writeBuffer } from "../abi/host";
import { SCRATCH_MAX_BYTES } from "../abi/host_memory";
import { ByteBuilder } from "../bytes/byte_builder";
import { ContextPool } from "../abi/context_pool";
import { Decoder, DecoderEvent } from "../codec/decoder";
import { Custom404Rewriter } from "../codec/http1_custom_404";
import { EndpointSeries, TcpMetrics } from "../metrics/tcp_metrics";
import { ExchangeTracker, Matched, Pushed } from "./exchange_tracker";
import { CustomPage } from "../codec/http1_custom_404";
import { Protocol } from "../codec/registry";

/** One reusable view for every read of every connection (the VM runs one callback at a time). */
const data = new Bytes();
/** A second view, for re-reading the start of an upstream read that turns out to need rewriting. */
const earlier = new Bytes();
/** The replacement of an upstream read being rewritten. */
const rewritten = new ByteBuilder(4096);
/** Bytes read from the host at a time: what the scratch block serves without allocating. */
const READ_WINDOW: u32 = <u32>SCRATCH_MAX_BYTES;

export class NetworkStream {
  private streams: NetworkStreams;
  private metrics: TcpMetrics;
  private decoder: Decoder;
  private tracker: ExchangeTracker = new ExchangeTracker();
  private rewriter: Custom404Rewriter | null = null;
  private open: bool = false;
  /** When the request being decoded started (its first byte's callback). */
  private requestStartNs: u64 = 0;
  /** When the decoder began holding client bytes for a protocol switch. */
  private holdSinceNs: u64 = 0;
  /** The upstream side is no longer decoded: its bytes pass unread. */
  private upstreamOff: bool = false;
  private upstreamClosed: bool = false;
  private opaqueReported: u64 = 0;
  /** The series of the connection's first counted exchange, when the protocol counts connection bytes by endpoint (TLS). */
  private byteSeries: EndpointSeries | null = null;
  /** Bytes of the connection before that series was known. */
  private earlyRx: i64 = 0;
  private earlyTx: i64 = 0;

  constructor(
    public contextId: u32,
    streams: NetworkStreams,
  ) {
    this.streams = streams;
    this.metrics = streams.metrics;
    this.decoder = streams.protocol.newDecoder();
    let page = streams.page;
    if (page !== null) this.rewriter = new Custom404Rewriter(page);
  }

  /** Serves a new connection with this object (pooled by NetworkStreams). */
  reuse(contextId: u32): void {
    this.contextId = contextId;
    this.decoder.reset();
    this.tracker.clear();
    let rewriter = this.rewriter;
    if (rewriter !== null) rewriter.reset();
    this.requestStartNs = 0;
    this.holdSinceNs = 0;
    this.upstreamOff = false;
    this.upstreamClosed = false;
    this.opaqueReported = 0;
    this.byteSeries = null;
    this.earlyRx = 0;
    this.earlyTx = 0;
  }

  /** The connection was accepted (proxy_on_context_create; sitio does not export proxy_on_new_connection). */
  onNewConnection(): void {
    this.open = true;
    this.metrics.connectionOpened();
  }

  // ---------------------------------------------------------------- client → upstream

  /** proxy_on_downstream_data: client bytes on their way upstream (observed, never changed). */
  onDownstreamData(size: u32, endOfStream: bool): u32 {
    if (size == 0) return FilterStatus.Continue;
    let metrics = this.metrics;
    metrics.received(size);
    if (metrics.bytesByEndpoint) this.exchangeBytes(size, 0);
    let d = this.decoder;
    if (d.downstreamStopped()) {
      if (d.downstreamRestOpaque()) metrics.unparsed(size);
      return FilterStatus.Continue;
    }
    let now = nowNs();
    for (let pos: u32 = 0; pos < size; pos += READ_WINDOW) {
      if (!readBuffer(BufferType.NetworkDownstreamData, pos, min(READ_WINDOW, size - pos), data)) break;
      let ptr = data.ptr;
      let len = data.len;
      let off = 0;
      while (off < len) {
        off += d.downstream(ptr + <usize>off, len - off);
        this.downstreamEvents(d.event, now);
        if (d.downstreamStopped()) {
          // the rest of the read is not decoded (and counted as opaque, unless it is the protocol's own payload)
          if (d.downstreamRestOpaque()) d.opaqueDownstreamBytes += <u64>(len - off) + <u64>(size - pos - <u32>len);
          off = len;
          pos = size;
        }
      }
      data.release();
    }
    this.reportOpaque();
    return FilterStatus.Continue;
  }

  private downstreamEvents(ev: i32, now: u64): void {
    if (ev == DecoderEvent.None) return;
    if ((ev & DecoderEvent.RequestStart) != 0) this.requestStartNs = now;
    if ((ev & DecoderEvent.Held) != 0) this.holdSinceNs = now;
    if ((ev & DecoderEvent.Request) != 0) this.request();
    if ((ev & DecoderEvent.MalformedRequest) != 0) this.metrics.malformed(true);
    if ((ev & DecoderEvent.Failure) != 0) this.metrics.failure(this.decoder);
  }

  /** The decoder reported a request: count it now if its series is known, else when its response says whether its endpoint gets in. */
  private request(): void {
    let d = this.decoder;
    let metrics = this.metrics;
    metrics.requestSeen();
    let s = metrics.requestSeries(d);
    let method = metrics.lastMethod;
    let ticket = metrics.ticket;
    if (this.upstreamOff) {
      // no response will be read: decided now
      this.count(s !== null ? s : metrics.admittedSeries(method, ticket, false));
      return;
    }
    let pushed = this.tracker.push(this.requestStartNs, s, method, ticket, d.requestId, d.matchesById);
    if (pushed == Pushed.Stored) {
      if (s !== null) this.count(s);
      return;
    }
    if (pushed == Pushed.Untimed) metrics.untimedRequest();
    else metrics.duplicateRequest();
    this.count(s !== null ? s : metrics.admittedSeries(method, ticket, false));
  }

  /** Counts a request in series `s`; the first one counted also gets the connection's bytes when the protocol counts them by endpoint. */
  private count(s: EndpointSeries): void {
    let metrics = this.metrics;
    metrics.request(s);
    if (this.byteSeries === null && metrics.bytesByEndpoint) {
      this.byteSeries = s;
      metrics.endpointBytes(s, this.earlyRx, this.earlyTx);
      this.earlyRx = 0;
      this.earlyTx = 0;
    }
  }

  /** Connection bytes, under the series of its first exchange once known (TLS: its server name). */
  private exchangeBytes(rx: i64, tx: i64): void {
    let s = this.byteSeries;
    if (s !== null) {
      this.metrics.endpointBytes(s, rx, tx);
    } else {
      this.earlyRx += rx;
      this.earlyTx += tx;
    }
  }

  private reportOpaque(): void {
    let opaque = this.decoder.opaqueDownstreamBytes;
    if (opaque > this.opaqueReported) {
      this.metrics.unparsed(opaque - this.opaqueReported);
      this.opaqueReported = opaque;
    }
  }

  // ---------------------------------------------------------------- upstream → client

  /** proxy_on_upstream_data: upstream bytes on their way to the client (a custom 404 page may replace some). */
  onUpstreamData(size: u32, endOfStream: bool): u32 {
    if (size == 0) {
      if (endOfStream) this.upstreamEnded();
      return FilterStatus.Continue;
    }
    let metrics = this.metrics;
    if (this.upstreamOff) {
      metrics.sent(size);
      if (metrics.bytesByEndpoint) this.exchangeBytes(0, size);
      return FilterStatus.Continue;
    }
    let now = nowNs();
    let d = this.decoder;
    let rewriter = this.rewriter;
    /** Some window of this read was changed: `rewritten` holds the read's replacement so far. */
    let changed = false;
    let pos: u32 = 0;
    while (pos < size) {
      let n: u32;
      let windowChanged = false;
      let skippable = this.upstreamOff ? u64.MAX_VALUE : d.upstreamSkippable();
      let canSkip = skippable > 0 && (rewriter === null || rewriter.dropping || (rewriter.idle && !changed));
      if (this.upstreamOff) {
        // decoding stopped mid-read: the rest passes as it is
        n = size - pos;
        if (changed) {
          if (!readBuffer(BufferType.NetworkUpstreamData, pos, n, data)) break;
          rewritten.append(data.ptr, data.len);
          data.release();
        }
        pos += n;
        continue;
      }
      if (canSkip) {
        n = <u32>min<u64>(skippable, <u64>(size - pos));
        if (rewriter !== null) rewriter.beginWindow(0);
        d.skipUpstream(<i32>n);
        this.upstreamEvents(d.event, <i32>n, now);
        if (rewriter !== null) windowChanged = rewriter.endWindow(d, <i32>n);
        if (windowChanged) changed = this.startRewrite(changed, pos);
        if (changed && windowChanged) rewritten.append(rewriter!.outputStart, rewriter!.outputLength);
      } else {
        n = min(READ_WINDOW, size - pos);
        if (!readBuffer(BufferType.NetworkUpstreamData, pos, n, data)) break;
        let ptr = data.ptr;
        let len = data.len;
        if (rewriter !== null) rewriter.beginWindow(ptr);
        let off = 0;
        while (off < len && !this.upstreamOff) {
          off += d.upstream(ptr + <usize>off, len - off);
          this.upstreamEvents(d.event, off, now);
        }
        if (rewriter !== null) windowChanged = rewriter.endWindow(d, len);
        if (windowChanged) {
          changed = this.startRewrite(changed, pos);
          rewritten.append(rewriter!.outputStart, rewriter!.outputLength);
        } else if (changed) {
          rewritten.append(ptr, len);
        }
        data.release();
      }
      pos += n;
    }
    let sent: i64 = size;
    if (changed) {
      writeBuffer(BufferType.NetworkUpstreamData, 0, size, rewritten.dataStart, rewritten.length);
      sent = rewritten.length;
    }
    metrics.sent(sent);
    if (metrics.bytesByEndpoint) this.exchangeBytes(0, sent);
    if (rewriter !== null) metrics.replaced404(rewriter.takeReplaced());
    // the upstream's FIN: a body that runs until the close ends here
    if (endOfStream) this.upstreamEnded();
    return FilterStatus.Continue;
  }

  /** The first change to this read: the replacement starts with the bytes before it, unchanged (read again). */
  private startRewrite(changed: bool, pos: u32): bool {
    if (changed) return true;
    rewritten.clear();
    if (pos > 0 && readBuffer(BufferType.NetworkUpstreamData, 0, pos, earlier)) {
      rewritten.append(earlier.ptr, earlier.len);
      earlier.release();
    }
    return true;
  }

  /** The decoder's upstream events, `off` bytes into the current window. */
  private upstreamEvents(ev: i32, off: i32, now: u64): void {
    if (ev == DecoderEvent.None) return;
    let d = this.decoder;
    let rewriter = this.rewriter;
    let stopped = (ev & DecoderEvent.UpstreamStopped) != 0;
    let ended = (ev & DecoderEvent.ResponseEnd) != 0;
    if ((ev & DecoderEvent.ResponseHead) != 0) {
      if (d.unmatchedResponse) this.metrics.unmatchedResponse();
      if (rewriter !== null) {
        // a head that stops the decoding (nothing to frame it by) is never rewritten
        if (stopped && !ended) rewriter.stopped();
        else rewriter.responseHead(d, off, ended);
      }
    }
    if (ended) {
      this.responseEnd(now);
      if (rewriter !== null) rewriter.responseEnd(off);
    }
    if ((ev & DecoderEvent.MalformedResponse) != 0) this.metrics.malformed(false);
    if ((ev & DecoderEvent.Failure) != 0) this.metrics.failure(d);
    if (stopped) {
      if (rewriter !== null) rewriter.stopped();
      this.stopUpstream();
    }
    if (d.hasReplay()) this.replay();
    this.reportOpaque();
  }

  /** A response ended: its request (in order, or by id) is counted if it waited for admission, and timed. */
  private responseEnd(now: u64): void {
    let d = this.decoder;
    let metrics = this.metrics;
    let tracker = this.tracker;
    let m = d.matchesById ? tracker.matchId(d.responseId) : tracker.matchFront();
    if (m == Matched.Nothing) {
      metrics.response(d, null);
      metrics.unmatchedResponse();
      return;
    }
    if (m == Matched.Untimed) {
      metrics.response(d, null);
      return;
    }
    let s: EndpointSeries | null = tracker.matchedSeries;
    if (s === null) {
      s = metrics.admittedSeries(tracker.matchedMethod, tracker.matchedTicket, metrics.admits(d));
      this.count(s);
    }
    metrics.response(d, s);
    metrics.duration(s, tracker.matchedStartNs, now);
  }

  /** Client bytes held for a switch the upstream refused: decode them now, timed from when holding began. */
  private replay(): void {
    let d = this.decoder;
    let since = this.holdSinceNs;
    while (d.hasReplay()) {
      d.replay();
      this.downstreamEvents(d.event, since);
    }
  }

  /** The upstream side is decoded no more: requests still waiting will get no response sitio can read. */
  private stopUpstream(): void {
    if (this.upstreamOff) return;
    this.upstreamOff = true;
    this.settlePending();
  }

  /** Counts every request still waiting for admission (under its endpoint if admitted meanwhile, else `other`). */
  private settlePending(): void {
    let tracker = this.tracker;
    let metrics = this.metrics;
    while (tracker.drainOne()) {
      if (tracker.matchedSeries === null) this.count(metrics.admittedSeries(tracker.matchedMethod, tracker.matchedTicket, false));
    }
  }

  /** The upstream sent its last byte (its FIN on proxy_on_upstream_data, or the end of the connection, whichever sitio sees first). */
  private upstreamEnded(): void {
    if (this.upstreamClosed) return;
    this.upstreamClosed = true;
    let rewriter = this.rewriter;
    if (rewriter !== null) rewriter.upstreamClosed();
    if (this.upstreamOff) return;
    let ev = this.decoder.upstreamClosed();
    this.upstreamEvents(ev, 0, nowNs());
  }

  /** proxy_on_delete: the connection is over (however it ended); the object may serve a later connection. */
  onDelete(): void {
    if (!this.open) return;
    this.open = false;
    this.upstreamEnded();
    this.settlePending();
    this.metrics.connectionClosed();
    this.streams.release(this);
  }
}

/**
 * What the connections of one plugin configuration share — the metrics, the
 * protocol, the custom 404 page — and a few idle connection objects to reuse,
 * so a new connection allocates nothing. Its root makes one per accepted
 * configuration.
 */
export class NetworkStreams {
  private pool: ContextPool<NetworkStream> = new ContextPool<NetworkStream>();

  constructor(
    public metrics: TcpMetrics,
    public protocol: Protocol,
    public page: CustomPage | null,
  ) {}

  /** A connection object for a new connection: an idle one, or a new one. */
  open(contextId: u32): NetworkStream {
    let s = this.pool.take();
    if (s === null) return new NetworkStream(contextId, this);
    s.reuse(contextId);
    return s;
  }

  /** A connection is over: its object may serve a later one. */
  release(stream: NetworkStream): void {
    this.pool.give(stream);
  }

  /** Lets half of the idle objects go (each tick). */
  shrink(): void {
    this.pool.shrink();
  }
}
