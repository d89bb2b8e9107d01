// The network filter's metric series for one plugin (one listener), defined
// once per VM and looked up in O(1) on the data path. Codecs report requests
// and responses here; this file owns labels, caps and units.

import { incrementMetric, recordMetric } from "../abi/host";
import { Config } from "../config";
import { EndpointLabels, methodLabel } from "../endpoints";
import {
  label,
  TCP_ACTIVE_CONNECTIONS,
  TCP_CONNECTIONS_TOTAL,
  TCP_DUPLICATE_REQUESTS_TOTAL,
  TCP_MALFORMED_MESSAGES_TOTAL,
  TCP_REQUEST_DURATION_MS,
  TCP_REQUESTS_LAST_10S,
  TCP_REQUESTS_LAST_1S,
  TCP_REQUESTS_TOTAL,
  TCP_RESPONSES_LAST_10S,
  TCP_RESPONSES_LAST_1S,
  TCP_RESPONSES_TOTAL,
  TCP_RX_BYTES_TOTAL,
  TCP_TX_BYTES_TOTAL,
  TCP_UNMATCHED_RESPONSES_TOTAL,
  TCP_UNPARSED_BYTES_TOTAL,
  TCP_UNTIMED_REQUESTS_TOTAL,
  TCP_CUSTOM_404_TOTAL,
} from "../metrics";
import { RateWindow } from "./rate_window";

/** The series of one (method, endpoint) pair. */
export class EndpointSeries {
  constructor(public requests: u32, public duration: u32) {}
}

export class TcpMetrics {
  readonly pluginLabel: string;
  readonly connections: u32;
  readonly active: u32;
  readonly rxBytes: u32;
  readonly txBytes: u32;
  readonly unparsedBytes: u32;
  /** Responses that answer no request sitio is waiting for. */
  readonly unmatchedResponses: u32;
  /** Requests past the per-connection cap of pending requests: their responses are counted, not timed. */
  readonly untimedRequests: u32;
  private duplicateRequests: u32;
  private malformedDownstream: u32;
  private malformedUpstream: u32;
  private requestRate: RateWindow;
  private responseRate: RateWindow;
  /** Upstream 404 responses rewritten to the configured page. */
  readonly custom404: u32;
  private endpoints: EndpointLabels;
  private series: Map<string, EndpointSeries> = new Map();
  private responses: Map<string, u32> = new Map();

  constructor(plugin: string, config: Config) {
    this.endpoints = new EndpointLabels(config);
    let p = label("plugin", plugin);
    this.pluginLabel = p;
    this.connections = TCP_CONNECTIONS_TOTAL.series(p);
    this.active = TCP_ACTIVE_CONNECTIONS.series(p);
    this.rxBytes = TCP_RX_BYTES_TOTAL.series(p);
    this.txBytes = TCP_TX_BYTES_TOTAL.series(p);
    this.unparsedBytes = TCP_UNPARSED_BYTES_TOTAL.series(p);
    this.unmatchedResponses = TCP_UNMATCHED_RESPONSES_TOTAL.series(p);
    this.duplicateRequests = TCP_DUPLICATE_REQUESTS_TOTAL.series(p);
    this.untimedRequests = TCP_UNTIMED_REQUESTS_TOTAL.series(p);
    this.malformedDownstream = TCP_MALFORMED_MESSAGES_TOTAL.series(label("direction", "downstream") + p);
    this.malformedUpstream = TCP_MALFORMED_MESSAGES_TOTAL.series(label("direction", "upstream") + p);
    this.requestRate = new RateWindow(TCP_REQUESTS_LAST_1S.series(p), TCP_REQUESTS_LAST_10S.series(p));
    this.responseRate = new RateWindow(TCP_RESPONSES_LAST_1S.series(p), TCP_RESPONSES_LAST_10S.series(p));
    this.custom404 = TCP_CUSTOM_404_TOTAL.series(p);
  }

  /** A new configuration for the same plugin (series already defined stay as they are). */
  reconfigure(config: Config): void {
    this.endpoints.reconfigure(config);
  }

  /** Counts one request; returns its endpoint's series (for the response's duration). */
  request(method: string, target: string, targetTruncated: bool): EndpointSeries {
    let s = this.seriesOf(methodLabel(method), this.endpoints.label(target, targetTruncated));
    this.countRequest(s);
    return s;
  }

  /**
   * The series for labels the codec has already bounded: fixed words of its
   * protocol, never client text (e.g. Foo's method "REQ"). Kept by the codec,
   * so the per-request path is `countRequest` alone.
   */
  fixedSeries(method: string, endpoint: string): EndpointSeries {
    return this.seriesOf(method, endpoint);
  }

  /** Counts one request of a series. */
  countRequest(s: EndpointSeries): void {
    incrementMetric(s.requests, 1);
    this.requestRate.add();
  }

  /**
   * Counts one response (`status`: a small fixed set chosen by the codec, e.g. "2xx")
   * and records its request's duration, first request byte to last response byte.
   */
  response(s: EndpointSeries, status: string, startNs: u64, endNs: u64): void {
    this.untimedResponse(status);
    recordMetric(s.duration, endNs > startNs ? (endNs - startNs) / 1000000 : 0);
  }

  /** Counts one response whose request was not remembered (no duration). */
  untimedResponse(status: string): void {
    let id: u32;
    if (this.responses.has(status)) {
      id = this.responses.get(status);
    } else {
      id = TCP_RESPONSES_TOTAL.series(label("status", status) + this.pluginLabel);
      this.responses.set(status, id);
    }
    incrementMetric(id, 1);
    this.responseRate.add();
  }

  /** Counts a response that answers no request the codec is waiting for. */
  unmatchedResponse(): void {
    incrementMetric(this.unmatchedResponses, 1);
  }

  /** Counts a request reusing the id of a request still waiting for its response. */
  duplicateRequest(): void {
    incrementMetric(this.duplicateRequests, 1);
  }

  /** Counts a request not awaited (no duration) because its connection has too many waiting. */
  untimedRequest(): void {
    incrementMetric(this.untimedRequests, 1);
  }

  /** Counts a message that does not follow the protocol; `downstream`: sent by the client. */
  malformed(downstream: bool): void {
    incrementMetric(downstream ? this.malformedDownstream : this.malformedUpstream, 1);
  }

  /** proxy_on_tick (every second): the sliding windows move on. */
  tick(): void {
    this.requestRate.tick();
    this.responseRate.tick();
  }

  /** The plugin is going away: its events leave the shared window gauges. */
  close(): void {
    this.requestRate.clear();
    this.responseRate.clear();
  }

  /** Counts bytes that were passed through without being decoded. */
  unparsed(bytes: u64): void {
    incrementMetric(this.unparsedBytes, <i64>bytes);
  }

  private seriesOf(m: string, endpoint: string): EndpointSeries {
    let key = m + " " + endpoint;
    if (this.series.has(key)) return this.series.get(key);
    let labels = label("method", m) + label("endpoint", endpoint) + this.pluginLabel;
    let s = new EndpointSeries(TCP_REQUESTS_TOTAL.series(labels), TCP_REQUEST_DURATION_MS.series(labels));
    this.series.set(key, s);
    return s;
  }
}
