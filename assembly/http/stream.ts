// HttpStream: one per HTTP request. Notes the request's method, path and
// start time, swaps 404 responses for the custom page, and reports the
// finished request once, in onLog. Hooks in the order Envoy calls them.
//
// A gRPC call (content-type application/grpc…, over HTTP/2) is one stream
// too: it is reported in the sitio_grpc_* families instead, with the outcome
// its grpc-status gives (trailers, or the headers of a trailers-only
// response), and never gets the custom 404 page (docs/grpc.md).

import { FilterHeadersStatus, FilterTrailersStatus, HeaderMapType, LogLevel, WasmResult, headerValue, incrementMetric, log, logLevel, nowNs, property, propertyU64, sendLocalResponse } from "../abi/host";
import { GRPC_NO_STATUS, admitsEndpoint, admitsGrpcEndpoint, grpcOutcome, grpcStatusCode } from "../labels/label_values";
import { ENDPOINT_CANDIDATE, GrpcMetrics, HttpMetrics } from "../metrics/http_metrics";
import { HttpRoot } from "./root";
import { decimal } from "../bytes/decimal";

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

export class HttpStream {
  private root: HttpRoot;
  private metrics: HttpMetrics;
  private startNs: u64 = 0;
  private method: string = "";
  private path: string = "";
  private status: string = "";
  private replaced: bool = false;
  private reported: bool = false;
  /** The request is a gRPC call: counted in sitio_grpc_*. */
  private grpc: bool = false;
  /** The grpc-status the response carried ("" until one is seen). */
  private grpcStatus: string = "";

  constructor(public contextId: u32, root: HttpRoot) {
    this.root = root;
    this.metrics = root.metrics!;
  }

  /** proxy_on_request_headers: the request starts here. */
  onRequestHeaders(headers: u32, endOfStream: bool): FilterHeadersStatus {
    this.startNs = nowNs();
    this.method = headerValue(HeaderMapType.RequestHeaders, ":method");
    this.path = headerValue(HeaderMapType.RequestHeaders, ":path");
    this.grpc = isGrpc(headerValue(HeaderMapType.RequestHeaders, "content-type"));
    return FilterHeadersStatus.Continue;
  }

  /**
   * proxy_on_response_headers: upstream and Envoy's own (local) responses both pass here.
   * A 404 is answered again with the custom page: a local response sent while response
   * headers are being encoded goes straight to the codec in Envoy 1.40 (sendDirectLocalReply),
   * with its own Content-Length and no body for HEAD. Rewriting the body instead would miss
   * 404s that end at the headers (the router's own 404 has no body callback).
   * A gRPC call keeps its response; a trailers-only one carries its grpc-status here.
   */
  onResponseHeaders(headers: u32, endOfStream: bool): FilterHeadersStatus {
    if (this.grpc) {
      let s = headerValue(HeaderMapType.ResponseHeaders, "grpc-status");
      if (s.length > 0) this.grpcStatus = s;
      return FilterHeadersStatus.Continue;
    }
    this.status = headerValue(HeaderMapType.ResponseHeaders, ":status");
    let root = this.root;
    if (this.status == "404" && root.config.custom404 && !this.replaced) {
      this.replaced = true;
      let r = sendLocalResponse(404, CUSTOM_404_DETAILS, root.custom404Body, root.custom404Headers);
      if (r == WasmResult.Ok) {
        incrementMetric(this.metrics.custom404, 1);
        return FilterHeadersStatus.StopIteration;
      }
      if (logLevel() <= LogLevel.Warn) log(LogLevel.Warn, "sitio: custom 404 not sent: " + decimal(r));
    }
    return FilterHeadersStatus.Continue;
  }

  /** proxy_on_response_trailers: a gRPC call's grpc-status, after its response messages. */
  onResponseTrailers(trailers: u32): FilterTrailersStatus {
    if (this.grpc) {
      let s = headerValue(HeaderMapType.ResponseTrailers, "grpc-status");
      if (s.length > 0) this.grpcStatus = s;
    }
    return FilterTrailersStatus.Continue;
  }

  /** proxy_on_log: the stream is over (completed, answered locally, or reset); count it once. */
  onLog(): void {
    if (this.reported) return;
    this.reported = true;
    let end = nowNs();
    if (this.startNs == 0) {
      // No request-headers callback (e.g. Envoy refused the request): the access-log phase still has the headers.
      this.startNs = end;
      this.method = headerValue(HeaderMapType.RequestHeaders, ":method");
      this.path = headerValue(HeaderMapType.RequestHeaders, ":path");
      this.grpc = isGrpc(headerValue(HeaderMapType.RequestHeaders, "content-type"));
    }
    let durationNs = end > this.startNs ? end - this.startNs : 0;
    if (this.grpc) {
      this.reportGrpc(durationNs);
      return;
    }
    // The status seen in onResponseHeaders is final (a custom 404 keeps 404); only a stream
    // that never reached that hook needs the access-log phase's headers.
    let status = this.status.length > 0 ? this.status : headerValue(HeaderMapType.ResponseHeaders, ":status");
    let metrics = this.metrics;
    let endpoint = metrics.endpointIndex(this.path);
    // a new endpoint gets in with a response from the upstream (not Envoy's own local reply) that is not a 4xx
    if (endpoint == ENDPOINT_CANDIDATE && admitsEndpoint(statusCode(status)) && property("response.code_details") == VIA_UPSTREAM) {
      endpoint = metrics.admitCandidate();
    }
    metrics.report(this.method, endpoint, status, durationNs);
  }

  private reportGrpc(durationNs: u64): void {
    let value = this.grpcStatus;
    if (value.length == 0) {
      // a stream whose response hooks did not run: the access-log phase's trailers, then headers
      value = headerValue(HeaderMapType.ResponseTrailers, "grpc-status");
      if (value.length == 0) value = headerValue(HeaderMapType.ResponseHeaders, "grpc-status");
    }
    let status = grpcStatusCode(value);
    let details = property("response.code_details");
    let code = grpcOutcome(status, details == MAX_DURATION_TIMEOUT, status == GRPC_NO_STATUS && clientReset());
    let metrics = this.root.grpcMetrics!;
    let endpoint = metrics.endpointIndex(this.path);
    // a new method gets in with a grpc-status from the upstream other than UNIMPLEMENTED
    if (endpoint == ENDPOINT_CANDIDATE && admitsGrpcEndpoint(status) && details == VIA_UPSTREAM) {
      endpoint = metrics.admitCandidate();
    }
    metrics.report(endpoint, code, durationNs);
  }
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
function isGrpc(contentType: string): bool {
  const prefix = "application/grpc";
  let n = prefix.length;
  if (contentType.length < n) return false;
  for (let i = 0; i < n; i++) if (contentType.charCodeAt(i) != prefix.charCodeAt(i)) return false;
  if (contentType.length == n) return true;
  let c = contentType.charCodeAt(n);
  return c == 43 /* + */ || c == 59 /* ; */;
}

/** `:status` as a number (0 when it is not three digits). */
function statusCode(status: string): i32 {
  if (status.length != 3) return 0;
  let code = 0;
  for (let i = 0; i < 3; i++) {
    let c = status.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return 0;
    code = code * 10 + c;
  }
  return code;
}
