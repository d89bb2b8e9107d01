// HttpStream: one per HTTP request, on the SDK's per-stream Context. Notes the
// request's method, path and start time, swaps 404 responses for the custom
// page, and reports the finished request once, in onLog.

import {
  Context,
  FilterDataStatusValues,
  FilterHeadersStatusValues,
  GrpcStatusValues,
  send_local_response,
} from "@solo-io/proxy-runtime/runtime";
import { HeaderMapType, LogLevel, WasmResult, headerValue, incrementMetric, log, logLevel, nowNs } from "../abi/host";
import { HttpMetrics } from "./http_metrics";
import { HttpRoot } from "./root";

/** `response_code_details` of the custom 404 (shown by Envoy's access log as %RESPONSE_CODE_DETAILS%). */
const CUSTOM_404_DETAILS = "sitio_custom_404";

export class HttpStream extends Context {
  private root: HttpRoot;
  private metrics: HttpMetrics;
  private startNs: u64 = 0;
  private method: string = "";
  private path: string = "";
  private status: string = "";
  private replaced: bool = false;
  private reported: bool = false;

  constructor(context_id: u32, root: HttpRoot) {
    super(context_id, root);
    this.root = root;
    this.metrics = root.metrics!;
  }

  /** proxy_on_request_headers: the request starts here. */
  onRequestHeaders(headers: u32, end_of_stream: bool): FilterHeadersStatusValues {
    this.startNs = nowNs();
    this.method = headerValue(HeaderMapType.RequestHeaders, ":method");
    this.path = headerValue(HeaderMapType.RequestHeaders, ":path");
    return FilterHeadersStatusValues.Continue;
  }

  /** proxy_on_request_body. */
  onRequestBody(body_buffer_length: usize, end_of_stream: bool): FilterDataStatusValues {
    return FilterDataStatusValues.Continue;
  }

  /**
   * proxy_on_response_headers: upstream and Envoy's own (local) responses both pass here.
   * A 404 is answered again with the custom page: a local response sent while response
   * headers are being encoded goes straight to the codec in Envoy 1.40 (sendDirectLocalReply),
   * with its own Content-Length and no body for HEAD. Rewriting the body instead would miss
   * 404s that end at the headers (the router's own 404 has no body callback).
   */
  onResponseHeaders(headers: u32, end_of_stream: bool): FilterHeadersStatusValues {
    this.status = headerValue(HeaderMapType.ResponseHeaders, ":status");
    let config = this.root.config;
    if (this.status == "404" && config.custom404 && !this.replaced) {
      this.replaced = true;
      let r = send_local_response(404, CUSTOM_404_DETAILS, this.root.custom404Body, this.root.custom404Headers, GrpcStatusValues.InvalidCode);
      if (r == WasmResult.Ok) {
        incrementMetric(this.metrics.custom404, 1);
        return FilterHeadersStatusValues.StopIteration;
      }
      if (logLevel() <= LogLevel.Warn) log(LogLevel.Warn, "sitio: custom 404 not sent: " + r.toString());
    }
    return FilterHeadersStatusValues.Continue;
  }

  /** proxy_on_response_body. */
  onResponseBody(body_buffer_length: usize, end_of_stream: bool): FilterDataStatusValues {
    return FilterDataStatusValues.Continue;
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
    }
    // The status seen in onResponseHeaders is final (a custom 404 keeps 404); only a stream
    // that never reached that hook needs the access-log phase's headers.
    let status = this.status.length > 0 ? this.status : headerValue(HeaderMapType.ResponseHeaders, ":status");
    this.metrics.report(this.method, this.path, status, end > this.startNs ? end - this.startNs : 0);
  }

  /** proxy_on_done (the SDK's default logs on every call). */
  onDone(): bool {
    return true;
  }

  /** proxy_on_delete. */
  onDelete(): void {}
}
