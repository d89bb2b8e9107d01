// HttpStream: one per HTTP request. Notes the request's method, path and
// start time, swaps 404 responses for the custom page, and reports the
// finished request once, in onLog. Hooks in the order Envoy calls them.
//
// A gRPC call (content-type application/grpc…, over HTTP/2) is one stream
// too: it is reported in the sitio_grpc_* families instead, with the outcome
// its grpc-status gives (trailers, or the headers of a trailers-only
// response), and never gets the custom 404 page (docs/grpc.md).

import {
  Bytes,
  FilterHeadersStatus,
  FilterTrailersStatus,
  HeaderMapType,
  HeaderPairs,
  LogLevel,
  WasmResult,
  incrementMetric,
  log,
  logLevel,
  nowNs,
  property,
  propertyU64,
  readHeader,
  readHeaderPairs,
  sendLocalResponse,
} from "../abi/host";
import { decimal } from "../bytes/decimal";
import { ContextPool } from "../abi/context_pool";
import { MAX_TARGET_BYTES } from "../codec/http1_request";
import {
  GRPC_NO_STATUS,
  NO_STATUS,
  admitsEndpoint,
  admitsGrpcEndpoint,
  grpcOutcome,
  grpcStatusCode,
  methodLabelOf,
  statusCodeOf,
  statusKey,
} from "../labels/label_values";
import { OTHER } from "../labels/label_values";
import { ENDPOINT_CANDIDATE, GrpcMetrics, HttpMetrics } from "../metrics/http_metrics";

/** `response_code_details` of the custom 404 (shown by Envoy's access log as %RESPONSE_CODE_DETAILS%). */
const CUSTOM_404_DETAILS = String.UTF8.encode("sitio_custom_404");

/** `response.code_details` of a response from the upstream (not Envoy's own local reply). */
const VIA_UPSTREAM = "via_upstream";
/**
 * `response.code_details` of a stream Envoy ended at its maximum duration: for
 * gRPC, the call's grpc-timeout (route `max_stream_duration.grpc_timeout_header_max`).
 * Envoy answers DEADLINE_EXCEEDED itself before the response starts (sitio
 * reads that grpc-status), and resets the stream after.
 */
const MAX_DURATION_TIMEOUT = "max_duration_timeout";

// Header names read one at a time, encoded once.
const STATUS = String.UTF8.encode(":status");
const GRPC_STATUS = String.UTF8.encode("grpc-status");

/** One view for every header read (the VM runs one callback at a time). */
const headers = new Bytes();
const pairs = new HeaderPairs();

export class HttpStream {
  private streams: HttpStreams;
  private startNs: u64 = 0;
  /** The method's label (a constant string). */
  private method: string = OTHER;
  /** The first bytes of `:path` (at most MAX_TARGET_BYTES), and whether there were more. */
  private path: Uint8Array = new Uint8Array(MAX_TARGET_BYTES);
  private pathLength: i32 = 0;
  private pathTruncated: bool = false;
  /** The response's `:status` as a number (NO_STATUS until one is seen). */
  private status: i32 = NO_STATUS;
  private replaced: bool = false;
  private reported: bool = false;
  /** The request is a gRPC call: counted in sitio_grpc_*. */
  private grpc: bool = false;
  /** The grpc-status the response carried (GRPC_NO_STATUS until one is seen). */
  private grpcStatus: i32 = GRPC_NO_STATUS;

  constructor(
    public contextId: u32,
    streams: HttpStreams,
  ) {
    this.streams = streams;
  }

  /** Serves a new request with this object (pooled by HttpStreams). */
  reuse(contextId: u32): void {
    this.contextId = contextId;
    this.startNs = 0;
    this.method = OTHER;
    this.pathLength = 0;
    this.pathTruncated = false;
    this.status = NO_STATUS;
    this.replaced = false;
    this.reported = false;
    this.grpc = false;
    this.grpcStatus = GRPC_NO_STATUS;
  }

  /** proxy_on_request_headers: the request starts here. */
  onRequestHeaders(headerCount: u32, endOfStream: bool): FilterHeadersStatus {
    this.startNs = nowNs();
    this.readRequestHeaders();
    return FilterHeadersStatus.Continue;
  }

  /** :method, :path and content-type, from one read of the request's headers. */
  private readRequestHeaders(): void {
    if (!readHeaderPairs(HeaderMapType.RequestHeaders, headers)) return;
    let h = pairs;
    h.start(headers);
    while (h.next()) {
      if (h.nameLength == 0 || h.nameLength > 12) continue;
      if (h.nameIs(":method")) {
        this.method = methodLabelOf(h.value, h.valueLength);
      } else if (h.nameIs(":path")) {
        let n = h.valueLength;
        this.pathTruncated = n > MAX_TARGET_BYTES;
        if (n > MAX_TARGET_BYTES) n = MAX_TARGET_BYTES;
        memory.copy(this.path.dataStart, h.value, <usize>n);
        this.pathLength = n;
      } else if (h.nameIs("content-type")) {
        this.grpc = isGrpc(h.value, h.valueLength);
      }
    }
    headers.release();
  }

  /**
   * proxy_on_response_headers: upstream and Envoy's own (local) responses both pass here.
   * A 404 is answered again with the custom page: a local response sent while response
   * headers are being encoded goes straight to the codec in Envoy 1.40 (sendDirectLocalReply),
   * with its own Content-Length and no body for HEAD. Rewriting the body instead would miss
   * 404s that end at the headers (the router's own 404 has no body callback).
   * A gRPC call keeps its response; a trailers-only one carries its grpc-status here.
   */
  onResponseHeaders(headerCount: u32, endOfStream: bool): FilterHeadersStatus {
    if (this.grpc) {
      this.readGrpcStatus(HeaderMapType.ResponseHeaders);
      return FilterHeadersStatus.Continue;
    }
    this.status = readStatus();
    let shared = this.streams;
    if (this.status == 404 && shared.custom404 && !this.replaced) {
      this.replaced = true;
      let r = sendLocalResponse(404, CUSTOM_404_DETAILS, shared.custom404Body, shared.custom404Headers);
      if (r == WasmResult.Ok) {
        incrementMetric(shared.metrics.custom404, 1);
        return FilterHeadersStatus.StopIteration;
      }
      if (logLevel() <= LogLevel.Warn) log(LogLevel.Warn, "sitio: custom 404 not sent: " + decimal(r));
    }
    return FilterHeadersStatus.Continue;
  }

  /** proxy_on_response_trailers: a gRPC call's grpc-status, after its response messages. */
  onResponseTrailers(trailerCount: u32): FilterTrailersStatus {
    if (this.grpc) this.readGrpcStatus(HeaderMapType.ResponseTrailers);
    return FilterTrailersStatus.Continue;
  }

  private readGrpcStatus(map: HeaderMapType): void {
    if (!readHeader(map, GRPC_STATUS, headers)) return;
    let s = grpcStatusCode(headers.ptr, headers.len);
    headers.release();
    if (s != GRPC_NO_STATUS) this.grpcStatus = s;
  }

  /** proxy_on_log: the stream is over (completed, answered locally, or reset); count it once. */
  onLog(): void {
    if (this.reported) return;
    this.reported = true;
    let end = nowNs();
    if (this.startNs == 0) {
      // No request-headers callback (e.g. Envoy refused the request): the access-log phase still has the headers.
      this.startNs = end;
      this.readRequestHeaders();
    }
    let durationNs = end > this.startNs ? end - this.startNs : 0;
    if (this.grpc) {
      this.reportGrpc(durationNs);
      return;
    }
    // The status seen in onResponseHeaders is final (a custom 404 keeps 404); only a stream
    // that never reached that hook needs the access-log phase's headers.
    let status = this.status != NO_STATUS ? this.status : readStatus();
    let metrics = this.streams.metrics;
    let endpoint = metrics.endpoints.index(this.path.dataStart, this.pathLength, this.pathTruncated);
    // a new endpoint gets in with a response from the upstream (not Envoy's own local reply) that is not a 4xx
    if (endpoint == ENDPOINT_CANDIDATE && admitsEndpoint(status) && property("response.code_details") == VIA_UPSTREAM) {
      endpoint = metrics.endpoints.admitCandidate();
    }
    metrics.report(this.method, endpoint, statusKey(status), durationNs);
  }

  private reportGrpc(durationNs: u64): void {
    if (this.grpcStatus == GRPC_NO_STATUS) {
      // a stream whose response hooks did not run: the access-log phase's trailers, then headers
      this.readGrpcStatus(HeaderMapType.ResponseTrailers);
      if (this.grpcStatus == GRPC_NO_STATUS) this.readGrpcStatus(HeaderMapType.ResponseHeaders);
    }
    let status = this.grpcStatus;
    let details = property("response.code_details");
    let code = grpcOutcome(status, details == MAX_DURATION_TIMEOUT, status == GRPC_NO_STATUS && clientReset());
    let metrics = this.streams.grpcMetrics;
    let endpoint = metrics.endpoints.index(this.path.dataStart, this.pathLength, this.pathTruncated);
    // a new method gets in with a grpc-status from the upstream other than UNIMPLEMENTED
    if (endpoint == ENDPOINT_CANDIDATE && admitsGrpcEndpoint(status) && details == VIA_UPSTREAM) {
      endpoint = metrics.endpoints.admitCandidate();
    }
    metrics.report(endpoint, code, durationNs);
  }

  /** proxy_on_delete: the request is over; the object may serve a later one. */
  onDelete(): void {
    this.streams.release(this);
  }
}

/**
 * What the requests of one plugin configuration share — the metrics, the
 * custom 404 page encoded once — and a few idle request objects to reuse, so
 * a new request allocates nothing. Its root makes one per accepted configuration.
 */
export class HttpStreams {
  private pool: ContextPool<HttpStream> = new ContextPool<HttpStream>();

  constructor(
    public metrics: HttpMetrics,
    /** gRPC calls (content-type application/grpc…) are counted here, not in `metrics`. */
    public grpcMetrics: GrpcMetrics,
    public custom404: bool,
    public custom404Body: ArrayBuffer,
    public custom404Headers: ArrayBuffer,
  ) {}

  /** A request object for a new request: an idle one, or a new one. */
  open(contextId: u32): HttpStream {
    let s = this.pool.take();
    if (s === null) return new HttpStream(contextId, this);
    s.reuse(contextId);
    return s;
  }

  /** A request is over: its object may serve a later one. */
  release(stream: HttpStream): void {
    this.pool.give(stream);
  }

  /** Lets half of the idle objects go (each tick). */
  shrink(): void {
    this.pool.shrink();
  }
}

/** The response's `:status` as a number, or NO_STATUS. */
function readStatus(): i32 {
  if (!readHeader(HeaderMapType.ResponseHeaders, STATUS, headers)) return NO_STATUS;
  let code = statusCodeOf(headers.ptr, headers.len);
  headers.release();
  return code;
}

/**
 * Envoy's response flags (`response.flags`, one bit per core flag, numbered as
 * StreamInfo::CoreResponseFlag; both values measured in Envoy 1.40): the
 * downstream connection went away (DC, details `downstream_remote_disconnect`)
 * or the client reset the stream (DR, details `http2.remote_reset`).
 */
const DOWNSTREAM_CONNECTION_TERMINATION: u64 = 1 << 14;
const DOWNSTREAM_REMOTE_RESET: u64 = 1 << 28;

/** The client ended the stream before its response did: it reset it, or its connection closed. */
function clientReset(): bool {
  let flags = propertyU64("response.flags", 0);
  return (flags & (DOWNSTREAM_CONNECTION_TERMINATION | DOWNSTREAM_REMOTE_RESET)) != 0;
}

/**
 * A gRPC request: content-type `application/grpc`, alone or followed by `+`
 * (`application/grpc+proto`) or `;` (parameters), as Envoy's own
 * Grpc::Common::hasGrpcContentType reads it; `application/grpc-web…` is not
 * gRPC (its status travels in the body) and stays an HTTP request.
 */
function isGrpc(p: usize, len: i32): bool {
  const prefix = "application/grpc";
  let n = prefix.length;
  if (len < n) return false;
  for (let i = 0; i < n; i++) if (<i32>load<u8>(p + <usize>i) != prefix.charCodeAt(i)) return false;
  if (len == n) return true;
  let c = <i32>load<u8>(p + <usize>n);
  return c == 43 /* + */ || c == 59 /* ; */;
}
