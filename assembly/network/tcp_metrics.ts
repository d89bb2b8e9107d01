// The network filter's metric series for one plugin (one listener), defined
// once per VM and looked up in O(1) on the data path.

import { incrementMetric } from "../abi/host";
import { OTHER, endpointOf, methodLabel } from "../endpoints";
import {
  label,
  TCP_ACTIVE_CONNECTIONS,
  TCP_CONNECTIONS_TOTAL,
  TCP_REQUESTS_TOTAL,
  TCP_RX_BYTES_TOTAL,
  TCP_TX_BYTES_TOTAL,
  TCP_UNPARSED_BYTES_TOTAL,
} from "../metrics";

/** The series of one (method, endpoint) pair. */
export class EndpointSeries {
  constructor(public requests: u32) {}
}

export class TcpMetrics {
  readonly pluginLabel: string;
  readonly connections: u32;
  readonly active: u32;
  readonly rxBytes: u32;
  readonly txBytes: u32;
  readonly unparsedBytes: u32;
  /** Distinct endpoints admitted before the rest go to `other`. */
  maxEndpoints: i32;
  private admitted: Map<string, bool> = new Map();
  private series: Map<string, EndpointSeries> = new Map();

  constructor(plugin: string, maxEndpoints: i32) {
    this.maxEndpoints = maxEndpoints;
    let p = label("plugin", plugin);
    this.pluginLabel = p;
    this.connections = TCP_CONNECTIONS_TOTAL.series(p);
    this.active = TCP_ACTIVE_CONNECTIONS.series(p);
    this.rxBytes = TCP_RX_BYTES_TOTAL.series(p);
    this.txBytes = TCP_TX_BYTES_TOTAL.series(p);
    this.unparsedBytes = TCP_UNPARSED_BYTES_TOTAL.series(p);
  }

  /** Counts one request; returns its endpoint's series. */
  request(method: string, target: string, targetTruncated: bool): EndpointSeries {
    let endpoint = this.endpointLabel(target, targetTruncated);
    let key = methodLabel(method) + " " + endpoint;
    let s: EndpointSeries;
    if (this.series.has(key)) {
      s = this.series.get(key);
    } else {
      s = new EndpointSeries(TCP_REQUESTS_TOTAL.series(label("method", methodLabel(method)) + label("endpoint", endpoint) + this.pluginLabel));
      this.series.set(key, s);
    }
    incrementMetric(s.requests, 1);
    return s;
  }

  /** Counts bytes that were passed through without being decoded. */
  unparsed(bytes: u64): void {
    incrementMetric(this.unparsedBytes, <i64>bytes);
  }

  /** The endpoint label: normalised, and `other` once the cap of distinct endpoints is reached. */
  private endpointLabel(target: string, targetTruncated: bool): string {
    let endpoint = targetTruncated && target.indexOf("?") < 0 && target.indexOf("#") < 0 ? OTHER : endpointOf(target);
    if (this.admitted.has(endpoint)) return endpoint;
    if (this.admitted.size >= this.maxEndpoints) return OTHER;
    this.admitted.set(endpoint, true);
    return endpoint;
  }
}
