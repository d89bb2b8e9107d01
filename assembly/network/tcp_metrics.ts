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
  TCP_REQUEST_DURATION_MS,
  TCP_REQUESTS_TOTAL,
  TCP_RESPONSES_TOTAL,
  TCP_RX_BYTES_TOTAL,
  TCP_TX_BYTES_TOTAL,
  TCP_UNPARSED_BYTES_TOTAL,
} from "../metrics";

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
  }

  /** A new configuration for the same plugin (series already defined stay as they are). */
  reconfigure(config: Config): void {
    this.endpoints.reconfigure(config);
  }

  /** Counts one request; returns its endpoint's series (for the response's duration). */
  request(method: string, target: string, targetTruncated: bool): EndpointSeries {
    let m = methodLabel(method);
    let endpoint = this.endpoints.label(target, targetTruncated);
    let key = m + " " + endpoint;
    let s: EndpointSeries;
    if (this.series.has(key)) {
      s = this.series.get(key);
    } else {
      let labels = label("method", m) + label("endpoint", endpoint) + this.pluginLabel;
      s = new EndpointSeries(TCP_REQUESTS_TOTAL.series(labels), TCP_REQUEST_DURATION_MS.series(labels));
      this.series.set(key, s);
    }
    incrementMetric(s.requests, 1);
    return s;
  }

  /**
   * Counts one response (`status`: a small fixed set chosen by the codec, e.g. "2xx")
   * and records its request's duration, first request byte to last response byte.
   */
  response(s: EndpointSeries, status: string, startNs: u64, endNs: u64): void {
    let id: u32;
    if (this.responses.has(status)) {
      id = this.responses.get(status);
    } else {
      id = TCP_RESPONSES_TOTAL.series(label("status", status) + this.pluginLabel);
      this.responses.set(status, id);
    }
    incrementMetric(id, 1);
    recordMetric(s.duration, endNs > startNs ? (endNs - startNs) / 1000000 : 0);
  }

  /** Counts bytes that were passed through without being decoded. */
  unparsed(bytes: u64): void {
    incrementMetric(this.unparsedBytes, <i64>bytes);
  }
}
