// The metric table: every series sitio publishes, one line each.
//
// Envoy keeps metrics on the host side, so counts survive a VM restart. Labels
// are encoded into the stat name as `;key=value` pairs and turned back into
// Prometheus labels by the `stats_tags` regexes in envoy/envoy.yaml, one regex
// per label key (`(;key=([^;]*))`). Keep LABEL_KEYS and those regexes in step
// (a test checks it). Example line in /stats/prometheus:
//
//   sitio_tcp_requests_total{method="GET",endpoint="/",plugin="sitio_web"} 3

import { MetricType, defineMetric } from "./abi/host";

/** One metric family: a Prometheus name and an Envoy metric type. */
export class MetricFamily {
  constructor(public name: string, public type: MetricType) {}

  /** Defines the series for these encoded labels (see `label()`); returns the host id. */
  series(labels: string): u32 {
    return defineMetric(this.type, this.name + labels);
  }
}

// ---- network (L4) filter
export const TCP_CONNECTIONS_TOTAL = new MetricFamily("sitio_tcp_connections_total", MetricType.Counter);
export const TCP_ACTIVE_CONNECTIONS = new MetricFamily("sitio_tcp_active_connections", MetricType.Gauge);
export const TCP_RX_BYTES_TOTAL = new MetricFamily("sitio_tcp_rx_bytes_total", MetricType.Counter);
export const TCP_TX_BYTES_TOTAL = new MetricFamily("sitio_tcp_tx_bytes_total", MetricType.Counter);
export const TCP_UNPARSED_BYTES_TOTAL = new MetricFamily("sitio_tcp_unparsed_bytes_total", MetricType.Counter);
export const TCP_REQUESTS_TOTAL = new MetricFamily("sitio_tcp_requests_total", MetricType.Counter);
export const TCP_REQUEST_DURATION_MS = new MetricFamily("sitio_tcp_request_duration_ms", MetricType.Histogram);
export const TCP_RESPONSES_TOTAL = new MetricFamily("sitio_tcp_responses_total", MetricType.Counter);
export const TCP_UNMATCHED_RESPONSES_TOTAL = new MetricFamily("sitio_tcp_unmatched_responses_total", MetricType.Counter);
export const TCP_DUPLICATE_REQUESTS_TOTAL = new MetricFamily("sitio_tcp_duplicate_requests_total", MetricType.Counter);
export const TCP_UNTIMED_REQUESTS_TOTAL = new MetricFamily("sitio_tcp_untimed_requests_total", MetricType.Counter);
export const TCP_MALFORMED_MESSAGES_TOTAL = new MetricFamily("sitio_tcp_malformed_messages_total", MetricType.Counter);
// Sliding windows (assembly/network/rate_window.ts): messages counted in the last 1 s / 10 s.
export const TCP_REQUESTS_LAST_1S = new MetricFamily("sitio_tcp_requests_last_1s", MetricType.Gauge);
export const TCP_REQUESTS_LAST_10S = new MetricFamily("sitio_tcp_requests_last_10s", MetricType.Gauge);
export const TCP_RESPONSES_LAST_1S = new MetricFamily("sitio_tcp_responses_last_1s", MetricType.Gauge);
export const TCP_RESPONSES_LAST_10S = new MetricFamily("sitio_tcp_responses_last_10s", MetricType.Gauge);
export const TCP_CUSTOM_404_TOTAL = new MetricFamily("sitio_tcp_custom_404_total", MetricType.Counter);

// ---- HTTP (L7) filter
export const HTTP_REQUESTS_TOTAL = new MetricFamily("sitio_http_requests_total", MetricType.Counter);
export const HTTP_REQUEST_DURATION_MS = new MetricFamily("sitio_http_request_duration_ms", MetricType.Histogram);
export const HTTP_CUSTOM_404_TOTAL = new MetricFamily("sitio_http_custom_404_total", MetricType.Counter);

/** Label keys used in stat names; envoy.yaml has one `stats_tags` entry per key. */
export const LABEL_KEYS: string[] = ["method", "endpoint", "status", "direction", "plugin"];

/** Encodes one label for a stat name. `value` must already be sanitised (no `;`). */
export function label(key: string, value: string): string {
  return ";" + key + "=" + value;
}
