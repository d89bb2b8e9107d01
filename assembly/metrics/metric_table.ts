// The metric table: every series family sitio publishes, with its type and
// label keys, one line each. Hooks never define metrics of their own; they
// go through these families.
//
// Envoy keeps metrics on the host side, so counts survive a VM restart. Label
// values (decided by labels/label_values.ts) are encoded into the stat name as
// `;key=value` pairs, in the family's key order, and turned back into
// Prometheus labels by the `stats_tags` regexes in envoy/envoy.yaml, one regex
// per label key (`(;key=([^;]*))`); tests/envoy/shipped_config.test.ts keeps
// LABEL_KEYS and those regexes in step. Example line in /stats/prometheus:
//
//   sitio_tcp_requests_total{method="GET",endpoint="/",plugin="sitio_web"} 3

import { MetricType, defineMetric } from "../abi/host";

/** One metric family: a Prometheus name, an Envoy metric type, its label keys (`plugin` is always last). */
export class MetricFamily {
  constructor(
    public name: string,
    public type: MetricType,
    public labelKeys: string[],
  ) {}

  /** Defines (or finds) the series with these label values, one per key; returns the host's id. */
  series(values: string[]): u32 {
    let name = this.name;
    for (let i = 0; i < values.length; i++) name += ";" + unchecked(this.labelKeys[i]) + "=" + unchecked(values[i]);
    return defineMetric(this.type, name);
  }
}

// ---- the label keys (dimensions), one list
const METHOD = "method";
const ENDPOINT = "endpoint";
const STATUS = "status";
const DIRECTION = "direction";
const ALPN = "alpn";
const SNI = "sni";
const TLS_VERSION = "tls_version";
const REASON = "reason";
const GRPC_CODE = "grpc_code";
const P = "plugin";
/** Every label key; envoy.yaml has one `stats_tags` entry per key. */
export const LABEL_KEYS: string[] = [METHOD, ENDPOINT, STATUS, DIRECTION, ALPN, SNI, TLS_VERSION, REASON, GRPC_CODE, P];

// ---- network (L4) filter
export const TCP_CONNECTIONS_TOTAL = new MetricFamily("sitio_tcp_connections_total", MetricType.Counter, [P]);
export const TCP_ACTIVE_CONNECTIONS = new MetricFamily("sitio_tcp_active_connections", MetricType.Gauge, [P]);
export const TCP_RX_BYTES_TOTAL = new MetricFamily("sitio_tcp_rx_bytes_total", MetricType.Counter, [P]);
export const TCP_TX_BYTES_TOTAL = new MetricFamily("sitio_tcp_tx_bytes_total", MetricType.Counter, [P]);
export const TCP_UNPARSED_BYTES_TOTAL = new MetricFamily("sitio_tcp_unparsed_bytes_total", MetricType.Counter, [P]);
export const TCP_REQUESTS_TOTAL = new MetricFamily("sitio_tcp_requests_total", MetricType.Counter, [METHOD, ENDPOINT, P]);
// Durations in whole microseconds: Envoy's histograms take integers, so the base
// unit (seconds) would record every exchange under a second as 0. The unit is
// spelled out, singular: promtool flags the plural of any unit but seconds.
export const TCP_REQUEST_DURATION = new MetricFamily("sitio_tcp_request_duration_microsecond", MetricType.Histogram, [METHOD, ENDPOINT, P]);
export const TCP_RESPONSES_TOTAL = new MetricFamily("sitio_tcp_responses_total", MetricType.Counter, [STATUS, P]);
export const TCP_UNMATCHED_RESPONSES_TOTAL = new MetricFamily("sitio_tcp_unmatched_responses_total", MetricType.Counter, [P]);
export const TCP_DUPLICATE_REQUESTS_TOTAL = new MetricFamily("sitio_tcp_duplicate_requests_total", MetricType.Counter, [P]);
export const TCP_UNTIMED_REQUESTS_TOTAL = new MetricFamily("sitio_tcp_untimed_requests_total", MetricType.Counter, [P]);
export const TCP_MALFORMED_MESSAGES_TOTAL = new MetricFamily("sitio_tcp_malformed_messages_total", MetricType.Counter, [DIRECTION, P]);
export const TCP_CUSTOM_404_TOTAL = new MetricFamily("sitio_tcp_custom_404_total", MetricType.Counter, [P]);
// Sliding windows (rate_window.ts): messages counted in the last 1 s / 10 s.
export const TCP_REQUESTS_LAST_1S = new MetricFamily("sitio_tcp_requests_last_1s", MetricType.Gauge, [P]);
export const TCP_REQUESTS_LAST_10S = new MetricFamily("sitio_tcp_requests_last_10s", MetricType.Gauge, [P]);
export const TCP_RESPONSES_LAST_1S = new MetricFamily("sitio_tcp_responses_last_1s", MetricType.Gauge, [P]);
export const TCP_RESPONSES_LAST_10S = new MetricFamily("sitio_tcp_responses_last_10s", MetricType.Gauge, [P]);

// ---- network filter, protocol "tls": a connection's one exchange is its handshake
// (metrics/exchange_families.ts); the sitio_tcp_* connection, byte and rate
// families above count TLS listeners too.
/** TLS connections whose ClientHello was read, by first offered ALPN protocol and server name. */
export const TLS_CONNECTIONS_TOTAL = new MetricFamily("sitio_tls_connections_total", MetricType.Counter, [ALPN, SNI, P]);
/** ClientHello's first byte to the end of the ServerHello. */
export const TLS_HANDSHAKE_DURATION = new MetricFamily("sitio_tls_handshake_duration_microsecond", MetricType.Histogram, [ALPN, SNI, P]);
/** ServerHellos read, by server name and negotiated version. */
export const TLS_HANDSHAKES_TOTAL = new MetricFamily("sitio_tls_handshakes_total", MetricType.Counter, [SNI, TLS_VERSION, P]);
/** A connection's bytes, under the server name of its handshake (published at the tick). */
export const TLS_RX_BYTES_TOTAL = new MetricFamily("sitio_tls_rx_bytes_total", MetricType.Counter, [SNI, P]);
export const TLS_TX_BYTES_TOTAL = new MetricFamily("sitio_tls_tx_bytes_total", MetricType.Counter, [SNI, P]);
/** Handshakes that failed, by reason (labels/label_values.ts tlsFailureLabel). */
export const TLS_HANDSHAKE_FAILURES_TOTAL = new MetricFamily("sitio_tls_handshake_failures_total", MetricType.Counter, [REASON, P]);

// ---- HTTP (L7) filter
export const HTTP_REQUESTS_TOTAL = new MetricFamily("sitio_http_requests_total", MetricType.Counter, [METHOD, ENDPOINT, STATUS, P]);
export const HTTP_REQUEST_DURATION = new MetricFamily("sitio_http_request_duration_microsecond", MetricType.Histogram, [METHOD, ENDPOINT, P]);
export const HTTP_CUSTOM_404_TOTAL = new MetricFamily("sitio_http_custom_404_total", MetricType.Counter, [P]);
// gRPC calls (content-type application/grpc…) through the HTTP filter, counted here and not in
// sitio_http_*: one per call (unary or streaming), its outcome, its duration from the request
// headers to the end of the stream (docs/grpc.md).
export const GRPC_REQUESTS_TOTAL = new MetricFamily("sitio_grpc_requests_total", MetricType.Counter, [ENDPOINT, GRPC_CODE, P]);
export const GRPC_REQUEST_DURATION = new MetricFamily("sitio_grpc_request_duration_microsecond", MetricType.Histogram, [ENDPOINT, P]);

// ---- the VM itself (gauges every VM adds its share to, see vm_memory.ts)
/** Linear memory of the wasm VMs, in bytes (it grows in 64 KiB pages and never shrinks). */
export const WASM_MEMORY_BYTES = new MetricFamily("sitio_wasm_memory_bytes", MetricType.Gauge, [P]);
/** Bytes of that memory in use by live objects, measured after a garbage collection. */
export const WASM_HEAP_BYTES = new MetricFamily("sitio_wasm_heap_bytes", MetricType.Gauge, [P]);
