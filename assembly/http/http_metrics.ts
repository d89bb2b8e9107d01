// The HTTP filter's metric series for one plugin (one listener), defined once
// per VM and looked up in O(1) per request. Streams hand a finished request to
// `report()`; this file owns labels, caps and units.

import { incrementMetric, recordMetric } from "../abi/host";
import { Config } from "../config";
import { EndpointLabels, OTHER, methodLabel } from "../endpoints";
import { label, HTTP_CUSTOM_404_TOTAL, HTTP_REQUEST_DURATION_MS, HTTP_REQUESTS_TOTAL } from "../metrics";

/** The status label when the stream ended without response headers (e.g. the client reset it first). */
export const NO_RESPONSE = "0";

const STATUS_CLASSES: string[] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/** Whether a response code is one of the registered ones that keep their own label value. */
function registeredStatus(code: i32): bool {
  if (code < 200) return code == 100 || code == 101 || code == 103;
  if (code < 300) return code <= 208 || code == 226;
  if (code < 400) return code <= 308;
  if (code < 500) return code <= 418 || (code >= 421 && code <= 426) || code == 428 || code == 429 || code == 431 || code == 451;
  return code <= 508 || code == 510 || code == 511;
}

/**
 * `:status` as a label: a registered code as itself ("404"), any other code as its class
 * ("599" → "5xx", so a hostile upstream cannot mint series), NO_RESPONSE when there is none.
 */
export function statusLabel(status: string): string {
  if (status.length != 3) return NO_RESPONSE;
  let code = 0;
  for (let i = 0; i < 3; i++) {
    let c = status.charCodeAt(i);
    if (c < 48 || c > 57) return NO_RESPONSE;
    code = code * 10 + (c - 48);
  }
  if (code < 100 || code > 599) return NO_RESPONSE;
  if (registeredStatus(code)) return status;
  return STATUS_CLASSES[code / 100 - 1];
}

export class HttpMetrics {
  readonly pluginLabel: string;
  readonly custom404: u32;
  private endpoints: EndpointLabels;
  /** "method endpoint status" → requests counter id. */
  private requests: Map<string, u32> = new Map();
  /** "method endpoint" → duration histogram id. */
  private durations: Map<string, u32> = new Map();

  constructor(plugin: string, config: Config) {
    this.endpoints = new EndpointLabels(config);
    this.pluginLabel = label("plugin", plugin);
    this.custom404 = HTTP_CUSTOM_404_TOTAL.series(this.pluginLabel);
  }

  /** A new configuration for the same plugin (series already defined stay as they are). */
  reconfigure(config: Config): void {
    this.endpoints.reconfigure(config);
  }

  /**
   * Counts one finished request and records its duration in milliseconds.
   * `method` and `path` are the request's `:method` and `:path` as sent, `status` its `:status`.
   */
  report(method: string, path: string, status: string, durationNs: u64): void {
    let m = methodLabel(method);
    // No :path at all: Envoy refused the request before it was parsed.
    let endpoint = path.length == 0 ? OTHER : this.endpoints.label(path, false);
    let s = statusLabel(status);
    let key = m + " " + endpoint;
    let duration: u32;
    if (this.durations.has(key)) {
      duration = this.durations.get(key);
    } else {
      duration = HTTP_REQUEST_DURATION_MS.series(label("method", m) + label("endpoint", endpoint) + this.pluginLabel);
      this.durations.set(key, duration);
    }
    let requestsKey = key + " " + s;
    let requests: u32;
    if (this.requests.has(requestsKey)) {
      requests = this.requests.get(requestsKey);
    } else {
      requests = HTTP_REQUESTS_TOTAL.series(label("method", m) + label("endpoint", endpoint) + label("status", s) + this.pluginLabel);
      this.requests.set(requestsKey, requests);
    }
    incrementMetric(requests, 1);
    recordMetric(duration, durationNs / 1000000);
  }
}
