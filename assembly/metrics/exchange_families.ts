// The families a network-filter protocol's exchanges are counted in, and how
// its decoder's facts become their label values. Request/response protocols
// (HTTP/1.x, Foo) count in the sitio_tcp_* families; TLS, whose one exchange
// per connection is its handshake, in its own sitio_tls_* families, with the
// server name in the endpoint's place, the first offered ALPN protocol in the
// method's and the negotiated version in the status's. Admission, the cap,
// matching and timing are the same for all (metrics/tcp_metrics.ts,
// network/stream.ts).

import { Decoder } from "../codec/decoder";
import { TLS_PROTOCOL, TlsDecoder } from "../codec/tls";
import { CollapseRules, endpointLabel, hostLabel } from "../labels/endpoints";
import { NO_ENDPOINT, NONE, OTHER, admitsEndpoint, alpnLabel, methodLabel, statusClassLabel, tlsFailureLabel, tlsVersionLabel } from "../labels/label_values";
import {
  MetricFamily,
  TCP_REQUEST_DURATION,
  TCP_REQUESTS_TOTAL,
  TCP_RESPONSES_TOTAL,
  TLS_CONNECTIONS_TOTAL,
  TLS_HANDSHAKE_DURATION,
  TLS_HANDSHAKE_FAILURES_TOTAL,
  TLS_HANDSHAKES_TOTAL,
  TLS_RX_BYTES_TOTAL,
  TLS_TX_BYTES_TOTAL,
} from "./metric_table";

export class ExchangeFamilies {
  constructor(
    /** Requests: [method, endpoint, plugin]. */
    public requests: MetricFamily,
    /** Durations: [method, endpoint, plugin]. */
    public duration: MetricFamily,
    /** Responses: [status, plugin], or [endpoint, status, plugin] when `responsesByEndpoint`. */
    public responses: MetricFamily,
    public responsesByEndpoint: bool,
    /** A connection's bytes under the endpoint of its first exchange ([endpoint, plugin]), or null. */
    public rxBytes: MetricFamily | null,
    public txBytes: MetricFamily | null,
    /** Failures the decoder reports ([reason, plugin]), or null when it reports none. */
    public failures: MetricFamily | null,
    /** The endpoint label of a request without one. */
    public absentEndpoint: string,
  ) {}

  /** The method label of the request the decoder just reported. */
  methodLabel(d: Decoder): string {
    return d.clientNamesMethod ? methodLabel(d.method) : d.method;
  }

  /** Writes the endpoint label of the request just reported to `out`; its length, or -1 for `other`. */
  endpointLabel(d: Decoder, rules: CollapseRules, out: Uint8Array): i32 {
    return endpointLabel(d.target.dataStart, d.targetLength, d.targetTruncated, rules, out);
  }

  /** The status label of the response just reported. */
  statusLabel(d: Decoder): string {
    return d.statusWord.length > 0 ? d.statusWord : statusClassLabel(d.status);
  }

  /** The response just ended is evidence that its request's endpoint is real (labels/endpoint_table.ts). */
  admits(d: Decoder): bool {
    return admitsEndpoint(d.status);
  }

  /** The reason label of the failure just reported. */
  failureLabel(d: Decoder): string {
    return OTHER;
  }
}

class TlsFamilies extends ExchangeFamilies {
  methodLabel(d: Decoder): string {
    let t = changetype<TlsDecoder>(d);
    return alpnLabel(t.hasAlpn, t.alpn.dataStart, t.alpnLength, t.alpnTooLong);
  }

  endpointLabel(d: Decoder, rules: CollapseRules, out: Uint8Array): i32 {
    return hostLabel(d.target.dataStart, d.targetLength, d.targetTruncated, out);
  }

  statusLabel(d: Decoder): string {
    return tlsVersionLabel(d.status);
  }

  /**
   * A ServerHello: the server agreed to a handshake for that name. (A server
   * that answers any name alike admits any name a client sends; the cap then
   * bounds the series, as it does for an HTTP upstream that answers every path.)
   */
  admits(d: Decoder): bool {
    return true;
  }

  failureLabel(d: Decoder): string {
    return tlsFailureLabel(d.failure, changetype<TlsDecoder>(d).alertDescription);
  }
}

const TCP_FAMILIES = new ExchangeFamilies(TCP_REQUESTS_TOTAL, TCP_REQUEST_DURATION, TCP_RESPONSES_TOTAL, false, null, null, null, NO_ENDPOINT);
const TLS_FAMILIES: ExchangeFamilies = new TlsFamilies(
  TLS_CONNECTIONS_TOTAL,
  TLS_HANDSHAKE_DURATION,
  TLS_HANDSHAKES_TOTAL,
  true,
  TLS_RX_BYTES_TOTAL,
  TLS_TX_BYTES_TOTAL,
  TLS_HANDSHAKE_FAILURES_TOTAL,
  NONE,
);

/** The families of the protocol named `protocol` (codec/registry.ts). */
export function familiesOf(protocol: string): ExchangeFamilies {
  return protocol == TLS_PROTOCOL ? TLS_FAMILIES : TCP_FAMILIES;
}
