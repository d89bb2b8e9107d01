// HttpStream: one per HTTP request. Notes the request's method, path and
// start time, swaps 404 responses for the custom page, and reports the
// finished request once, in onLog. Hooks in the order Envoy calls them.

import { FilterHeadersStatus, HeaderMapType, LogLevel, WasmResult, headerValue, incrementMetric, log, logLevel, nowNs, property, sendLocalResponse } from "../abi/host";
import { admitsEndpoint } from "../labels/label_values";
import { ENDPOINT_CANDIDATE, HttpMetrics } from "../metrics/http_metrics";
import { HttpRoot } from "./root";
import { decimal } from "../bytes/decimal";

/** `response_code_details` of the custom 404 (shown by Envoy's access log as %RESPONSE_CODE_DETAILS%). */
const CUSTOM_404_DETAILS = String.UTF8.encode("sitio_custom_404");

export class HttpStream {
  private root: HttpRoot;
  private metrics: HttpMetrics;
  private startNs: u64 = 0;
  private method: string = "";
  private path: string = "";
  private status: string = "";
  private replaced: bool = false;
  private reported: bool = false;

  constructor(public contextId: u32, root: HttpRoot) {
    this.root = root;
    this.metrics = root.metrics!;
  }

  /** proxy_on_request_headers: the request starts here. */
  onRequestHeaders(headers: u32, endOfStream: bool): FilterHeadersStatus {
    this.startNs = nowNs();
    this.method = headerValue(HeaderMapType.RequestHeaders, ":method");
    this.path = headerValue(HeaderMapType.RequestHeaders, ":path");
    return FilterHeadersStatus.Continue;
  }

  /**
   * proxy_on_response_headers: upstream and Envoy's own (local) responses both pass here.
   * A 404 is answered again with the custom page: a local response sent while response
   * headers are being encoded goes straight to the codec in Envoy 1.40 (sendDirectLocalReply),
   * with its own Content-Length and no body for HEAD. Rewriting the body instead would miss
   * 404s that end at the headers (the router's own 404 has no body callback).
   */
  onResponseHeaders(headers: u32, endOfStream: bool): FilterHeadersStatus {
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
    let metrics = this.metrics;
    let endpoint = metrics.endpointIndex(this.path);
    // a new endpoint gets in with a response from the upstream (not Envoy's own local reply) that is not a 4xx
    if (endpoint == ENDPOINT_CANDIDATE && admitsEndpoint(statusCode(status)) && property("response.code_details") == "via_upstream") {
      endpoint = metrics.admitCandidate();
    }
    metrics.report(this.method, endpoint, status, end > this.startNs ? end - this.startNs : 0);
  }
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
