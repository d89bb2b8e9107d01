// The HTTP filter's metrics for one plugin (one HCM filter) in one VM: a
// finished request becomes its series here. Same label policy and the same
// endpoint admission as the network filter; series are defined once and
// found again without building strings.

import { incrementMetric, recordMetric } from "../abi/host";
import { Config } from "../config/config";
import { CollapseRules, ENDPOINT_BUFFER_BYTES, endpointLabel } from "../labels/endpoints";
import { EndpointTable } from "../labels/endpoint_table";
import { OTHER, grpcCodeLabel, statusKeyLabel } from "../labels/label_values";
import { GRPC_REQUEST_DURATION, GRPC_REQUESTS_TOTAL, HTTP_CUSTOM_404_TOTAL, HTTP_REQUEST_DURATION, HTTP_REQUESTS_TOTAL } from "./metric_table";
import { collapseRules } from "./tcp_metrics";

/** The series of one (method, endpoint) pair: its duration, and its request counter by status. */
class MethodSeries {
  /** label_values.statusKey of each request counter. */
  statuses: i32[] = [];
  requests: u32[] = [];
  constructor(
    public method: string,
    public duration: u32,
  ) {}
}

class SeriesByMethod {
  list: MethodSeries[] = [];
}

const labelBuffer = new Uint8Array(ENDPOINT_BUFFER_BYTES);

/** `PathEndpoints.index`: the request counts under `other`. */
export const ENDPOINT_OTHER: i32 = -1;
/** `PathEndpoints.index`: the endpoint is not admitted yet. */
export const ENDPOINT_CANDIDATE: i32 = -2;

/**
 * One table of L7 endpoints (HTTP paths, or gRPC methods): a request's `:path`
 * through the plugin's collapse rules to an index, and the admission of the
 * last one found not admitted yet.
 */
export class PathEndpoints {
  private rules: CollapseRules;
  private table: EndpointTable;
  private candidateLength: i32 = 0;

  constructor(scope: string, config: Config) {
    this.rules = collapseRules(config);
    this.table = new EndpointTable(scope, config.maxEndpoints);
  }

  reconfigure(config: Config): void {
    this.rules = collapseRules(config);
    this.table.reconfigure(config.maxEndpoints);
  }

  /**
   * The endpoint of an L7 `:path` (its first `len` bytes at `p`; `truncated`:
   * it was longer): its index if it is admitted, ENDPOINT_OTHER when it cannot
   * have a series of its own, or ENDPOINT_CANDIDATE when it is not admitted yet
   * (`admitCandidate` lets it in).
   */
  index(p: usize, len: i32, truncated: bool): i32 {
    if (len == 0) return ENDPOINT_OTHER; // no :path: Envoy refused the request before parsing it
    len = endpointLabel(p, len, truncated, this.rules, labelBuffer);
    if (len < 0) return ENDPOINT_OTHER;
    let i = this.table.find(labelBuffer, len);
    if (i >= 0) return i;
    this.candidateLength = len;
    return ENDPOINT_CANDIDATE;
  }

  /** Admits the endpoint `index` just found not admitted (the caller has the evidence); its index, or ENDPOINT_OTHER when the cap is reached. */
  admitCandidate(): i32 {
    let i = this.table.admit(labelBuffer, this.candidateLength);
    return i >= 0 ? i : ENDPOINT_OTHER;
  }

  label(index: i32): string {
    return this.table.label(index);
  }
}

export class HttpMetrics {
  private plugin: string;
  readonly custom404: u32;
  /** The plugin's HTTP endpoints: a request's index (`report` takes it) and admission. */
  readonly endpoints: PathEndpoints;
  private byEndpoint: Array<SeriesByMethod | null> = [];
  private other: SeriesByMethod = new SeriesByMethod();

  constructor(rootId: string, plugin: string, config: Config) {
    this.plugin = plugin;
    this.custom404 = HTTP_CUSTOM_404_TOTAL.series([plugin]);
    this.endpoints = new PathEndpoints(rootId + "/" + plugin, config);
  }

  /**
   * Counts one finished request of an endpoint index (or ENDPOINT_OTHER /
   * ENDPOINT_CANDIDATE: `other`), its method label and status key
   * (label_values.statusKey), and records its duration (µs).
   */
  report(method: string, endpoint: i32, status: i32, durationNs: u64): void {
    let by = this.other;
    let label = OTHER;
    if (endpoint >= 0) {
      by = this.endpointSeries(endpoint);
      label = this.endpoints.label(endpoint);
    }
    let series = this.methodSeries(by, method, label);
    incrementMetric(this.requestsOf(series, label, status), 1);
    recordMetric(series.duration, durationNs / 1000); // microseconds
  }

  private endpointSeries(index: i32): SeriesByMethod {
    let by = this.byEndpoint;
    while (by.length <= index) by.push(null);
    let list = unchecked(by[index]);
    if (list === null) {
      list = new SeriesByMethod();
      unchecked((by[index] = list));
    }
    return list;
  }

  private methodSeries(by: SeriesByMethod, method: string, endpoint: string): MethodSeries {
    let list = by.list;
    for (let i = 0; i < list.length; i++) {
      let s = unchecked(list[i]);
      if (s.method == method) return s;
    }
    let s = new MethodSeries(method, HTTP_REQUEST_DURATION.series([method, endpoint, this.plugin]));
    list.push(s);
    return s;
  }

  private requestsOf(series: MethodSeries, endpoint: string, status: i32): u32 {
    let statuses = series.statuses;
    for (let i = 0; i < statuses.length; i++) {
      if (unchecked(statuses[i]) == status) return unchecked(series.requests[i]);
    }
    let id = HTTP_REQUESTS_TOTAL.series([series.method, endpoint, statusKeyLabel(status), this.plugin]);
    statuses.push(status);
    series.requests.push(id);
    return id;
  }
}

/** The series of one gRPC endpoint: its duration, and its call counter by grpc_code. */
class GrpcSeries {
  codes: string[] = [];
  requests: u32[] = [];
  constructor(public duration: u32) {}
}

/**
 * The gRPC calls of one plugin in one VM (sitio_grpc_*): the endpoint is the
 * call's `:path` (`/pkg.Service/Method`), through the same endpoint label
 * policy as HTTP, with admission and cap of its own (a table of its own in
 * the shared data, so gRPC methods and HTTP paths each have
 * `endpoints.max_distinct` slots).
 */
export class GrpcMetrics {
  private plugin: string;
  /** The plugin's gRPC methods: a call's index (`report` takes it) and admission. */
  readonly endpoints: PathEndpoints;
  private byEndpoint: Array<GrpcSeries | null> = [];
  private other: GrpcSeries | null = null;

  constructor(rootId: string, plugin: string, config: Config) {
    this.plugin = plugin;
    // plugin names hold no "/": this scope cannot meet an HTTP table's
    this.endpoints = new PathEndpoints(rootId + "/" + plugin + "/grpc", config);
  }

  /** Counts one finished call of an endpoint index (or ENDPOINT_OTHER / ENDPOINT_CANDIDATE: `other`) with its outcome (label_values.grpcOutcome) and records its duration (µs). */
  report(endpoint: i32, code: i32, durationNs: u64): void {
    let series: GrpcSeries;
    let label = OTHER;
    if (endpoint >= 0) {
      label = this.endpoints.label(endpoint);
      series = this.endpointSeries(endpoint, label);
    } else {
      let other = this.other;
      if (other === null) {
        other = new GrpcSeries(GRPC_REQUEST_DURATION.series([OTHER, this.plugin]));
        this.other = other;
      }
      series = other;
    }
    incrementMetric(this.requestsOf(series, label, grpcCodeLabel(code)), 1);
    recordMetric(series.duration, durationNs / 1000); // microseconds
  }

  private endpointSeries(index: i32, label: string): GrpcSeries {
    let by = this.byEndpoint;
    while (by.length <= index) by.push(null);
    let s = unchecked(by[index]);
    if (s === null) {
      s = new GrpcSeries(GRPC_REQUEST_DURATION.series([label, this.plugin]));
      unchecked((by[index] = s));
    }
    return s;
  }

  private requestsOf(series: GrpcSeries, endpoint: string, code: string): u32 {
    let codes = series.codes;
    for (let i = 0; i < codes.length; i++) {
      if (unchecked(codes[i]) == code) return unchecked(series.requests[i]);
    }
    let id = GRPC_REQUESTS_TOTAL.series([endpoint, code, this.plugin]);
    codes.push(code);
    series.requests.push(id);
    return id;
  }
}
