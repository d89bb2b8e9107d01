// Real TLS clients through the shipped TLS listener (:18443: sitio_tls, then
// tcp_proxy to the example TLS service on :8443, where Envoy terminates TLS):
// curl, Node's tls, openssl s_client, the Go client with its post-quantum key
// share, and a relay that splits the ClientHello across records. Each one
// completes its handshake and gets "example tls body"; Envoy's own counters
// show exactly one pass-through connection and one handshake per client,
// with the version (and for Go the X25519MLKEM768 group) the client reports;
// sitio's series change by exactly that client's connection, handshake,
// duration sample and bytes (the same bytes Envoy's tcp_proxy counted). A
// TLS 1.1-only client is refused with an alert, which sitio counts as a
// failure; so are HTTP bytes, a ClientHello cut short by the client and a
// malformed one, each passed on to the service untouched. tests/host/tls.test.ts
// checks the captured flights of the same clients byte by byte.

import { beforeAll, describe, expect, test } from "vitest";
import { alpnLabel } from "../harness/labels.js";
import { useEnvoy } from "../harness/use_envoy.js";
import type { Sample } from "../harness/prometheus.js";
import { curlTls, runTlsClientCase, TLS_CLIENT_CASES, type TlsClientCase } from "../harness/tls_clients.js";
import { SPLIT_CLIENT_HELLO } from "../harness/tls_relay.js";
import { loadTlsCorpus } from "../harness/tls_corpus.js";
import { rawExchange } from "../harness/traffic.js";

const envoy = useEnvoy({ name: "tls-clients" });

/** Envoy's counters for the pass-through listener and the TLS service. */
function counters(s: Sample[]) {
  const listener = `127.0.0.1_${envoy.port(8443)}`;
  const sum = (name: string, labels: Record<string, string>) =>
    s.filter((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v)).reduce((t, x) => t + x.value, 0);
  const ssl = (name: string, labels: Record<string, string> = {}) => sum(`envoy_listener_ssl_${name}`, { envoy_listener_address: listener, ...labels });
  return {
    passThrough: sum("envoy_tcp_downstream_cx_total", { envoy_tcp_prefix: "web_tls" }),
    handshakes: ssl("handshake"),
    errors: ssl("connection_error"),
    tls12: ssl("versions", { envoy_ssl_version: "TLSv1.2" }),
    tls13: ssl("versions", { envoy_ssl_version: "TLSv1.3" }),
    pq: ssl("curves", { envoy_ssl_curve: "X25519MLKEM768" }),
    x25519: ssl("curves", { envoy_ssl_curve: "X25519" }),
    responses: sum("envoy_http_rq_direct_response", { envoy_http_conn_manager_prefix: "tls_service" }),
    rxBytes: sum("envoy_tcp_downstream_cx_rx_bytes_total", { envoy_tcp_prefix: "web_tls" }),
    // what Envoy read from the TLS service: what passed sitio on its way to the client (the client may
    // close before all of it is written, e.g. the server's close_notify, so not the listener's tx count)
    txBytes: sum("envoy_cluster_upstream_cx_rx_bytes_total", { envoy_cluster_name: "tls_service" }),
    // what Envoy wrote to the TLS service: the client's bytes after sitio
    serviceRxBytes: sum("envoy_cluster_upstream_cx_tx_bytes_total", { envoy_cluster_name: "tls_service" }),
    // connections still open through the pass-through listener, either side: the byte counts are final at 0
    open:
      sum("envoy_listener_downstream_cx_active", { envoy_listener_address: `0.0.0.0_${envoy.port(18443)}` }) +
      sum("envoy_cluster_upstream_cx_active", { envoy_cluster_name: "tls_service" }),
  };
}

/** Every sitio_tls_* series (histograms by their sample count), and the plugin's sitio_tcp_* byte counters, by name and labels. */
function sitio(s: Sample[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of s) {
    if (x.labels.plugin !== "sitio_tls") continue;
    if (!x.name.startsWith("sitio_tls_") && !/^sitio_tcp_(rx|tx|unparsed)_bytes_total$/.test(x.name)) continue;
    if (x.name.endsWith("_bucket") || x.name.endsWith("_sum")) continue;
    const labels = Object.entries(x.labels)
      .filter(([k]) => k !== "plugin")
      .map(([k, v]) => `${k}="${v}"`)
      .join(",");
    out[`${x.name}{${labels}}`] = x.value;
  }
  return out;
}

function seriesDelta(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const d = (b[k] ?? 0) - (a[k] ?? 0);
    if (d !== 0) out[k] = d;
  }
  return out;
}

function sameSeries(a: Record<string, number>, b: Record<string, number>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}

/** The sitio series one client's connection must add: `rx`/`tx` are the bytes Envoy's tcp_proxy counted for it. */
function expectedSitio(c: TlsClientCase, rx: number, tx: number): Record<string, number> {
  const alpn = alpnLabel(c.alpn === null ? null : c.alpn[0]);
  // `localhost` was admitted before the cases ran (beforeAll); every other name by its own ServerHello
  const sni = c.sni === null ? "none" : c.sni.toLowerCase();
  const out: Record<string, number> = {
    [`sitio_tls_connections_total{alpn="${alpn}",sni="${sni}"}`]: 1,
    [`sitio_tls_rx_bytes_total{sni="${sni}"}`]: rx,
    [`sitio_tls_tx_bytes_total{sni="${sni}"}`]: tx,
    "sitio_tcp_rx_bytes_total{}": rx,
    "sitio_tcp_tx_bytes_total{}": tx,
  };
  if (c.expect.version !== null) {
    out[`sitio_tls_handshakes_total{sni="${sni}",tls_version="${c.expect.version}"}`] = 1;
    out[`sitio_tls_handshake_duration_microsecond_count{alpn="${alpn}",sni="${sni}"}`] = 1;
  } else {
    out[`sitio_tls_handshake_failures_total{reason="alert_protocol_version"}`] = 1;
  }
  return out;
}
type Counters = ReturnType<typeof counters>;

const delta = (a: Counters, b: Counters) => Object.fromEntries(Object.entries(b).map(([k, v]) => [k, v - a[k as keyof Counters]])) as Counters;

/** What one client must change in Envoy's counters. */
function expectedDelta(c: TlsClientCase): Counters {
  const ok = c.expect.version !== null;
  return {
    passThrough: 1,
    handshakes: ok ? 1 : 0,
    errors: ok ? 0 : 1,
    tls12: c.expect.version === "TLSv1.2" ? 1 : 0,
    tls13: c.expect.version === "TLSv1.3" ? 1 : 0,
    pq: c.expect.group === "X25519MLKEM768" ? 1 : 0,
    // every other client here settles on X25519 (the server's first choice among their shares)
    x25519: ok && c.expect.group !== "X25519MLKEM768" ? 1 : 0,
    responses: ok ? 1 : 0,
  } as Counters;
}

describe("real TLS clients through the :18443 listener, sitio's TLS codec on it", () => {
  beforeAll(async () => {
    // one handshake for `localhost` first, so every case below counts under it at once (admission: docs/tls.md)
    await curlTls(envoy.port(18443));
    await envoy.settle();
  });

  test("the cases cover every client the issue names", () => {
    expect(TLS_CLIENT_CASES.map((c) => c.name)).toEqual([
      "curl-default",
      "curl-tls12",
      "curl-http2",
      "curl-resolve-other",
      "node-default",
      "node-no-sni",
      "node-many-alpn",
      "openssl-tls12",
      "openssl-tls13",
      "openssl-no-sni",
      "openssl-many-alpn",
      "openssl-hello-retry",
      "openssl-tls11-refused",
      "go-pq",
      "go-pq-split-records",
    ]);
  });

  test.each(TLS_CLIENT_CASES.map((c) => [c.name, c] as const))("%s", async (_name, c) => {
    const port = envoy.port(18443);
    const first = await envoy.settle();
    const before = counters(first);
    const sitioBefore = sitio(first);
    const started = performance.now();
    const { result, capture } = await runTlsClientCase(c, port);
    const ms = performance.now() - started;
    if (c.expect.version === null) {
      expect("failed" in result).toBe(true);
      expect((result as { failed: string }).failed).toMatch(/alert protocol version/);
    } else {
      expect("failed" in result).toBe(false);
      const r = result as Exclude<typeof result, { failed: string }>;
      expect(r.body).toBe("example tls body\n");
      expect({ version: r.version, alpn: r.alpn }).toEqual({ version: c.expect.version, alpn: c.expect.alpn });
      if (c.expect.group && r.detail) expect(r.detail.group).toBe(c.expect.group);
    }
    if (c.reframe) {
      // the ClientHello reached Envoy as several handshake records
      expect(capture?.clientRecords.slice(0, SPLIT_CLIENT_HELLO.length)).toEqual(SPLIT_CLIENT_HELLO);
      expect(capture!.clientRecords.length).toBeGreaterThan(SPLIT_CLIENT_HELLO.length);
    }
    const want = expectedDelta(c);
    const after = await envoy.waitForStats((s) => {
      const d = delta(before, counters(s));
      return (
        d.passThrough === want.passThrough &&
        d.handshakes + d.errors === want.handshakes + want.errors &&
        d.responses === want.responses &&
        counters(s).open === 0
      );
    }, `${c.name}: one connection through web_tls`);
    const got = delta(before, counters(after));
    expect({ ...got, rxBytes: 0, txBytes: 0, serviceRxBytes: 0, open: 0 }).toEqual({ ...want, rxBytes: 0, txBytes: 0, serviceRxBytes: 0, open: 0 });
    // sitio: exactly this connection, its bytes as Envoy counted them. sitio publishes bytes at its tick and
    // the duration at Envoy's merge; once, Envoy's byte counters read right after the close showed 24 bytes
    // (the service's close_notify) fewer than sitio's: compare each scrape's pair until they agree.
    const expectedIn = (s: Sample[]) => {
      const bytes = delta(before, counters(s));
      return expectedSitio(c, bytes.rxBytes, bytes.txBytes);
    };
    const sitioAfter = await envoy
      .waitForStats((s) => sameSeries(seriesDelta(sitioBefore, sitio(s)), expectedIn(s)), `${c.name}: sitio's series`)
      .catch(async () => envoy.scrape());
    const wantSitio = expectedIn(sitioAfter);
    expect(seriesDelta(sitioBefore, sitio(sitioAfter))).toEqual(wantSitio);
    console.log(
      `${c.name}: sitio ${Object.entries(wantSitio)
        .map(([k, v]) => `${k} +${v}`)
        .join(", ")}`,
    );
    console.log(`${c.name}: ${ms.toFixed(0)} ms, ${"failed" in result ? "refused" : `${result.version} ${result.alpn ?? "(no ALPN)"}`}`);
  });
});

describe("bytes that are not a finished handshake, through the :18443 listener", () => {
  const curl = loadTlsCorpus().find((c) => c.name === "curl-default")!;
  const malformed = Buffer.from(curl.clientBytes);
  // record header (5), message type and length (4), legacy_version (2), random (32): then the session id's length, at most 32
  malformed[5 + 4 + 2 + 32] = 33;
  const cases = [
    { name: "HTTP bytes on the TLS port", bytes: Buffer.from("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"), reason: "not_tls", unparsed: true },
    { name: "a ClientHello cut short by the client's close", bytes: curl.clientBytes.subarray(0, 100), reason: "incomplete", unparsed: false },
    { name: "a ClientHello whose session id length breaks the format", bytes: malformed, reason: "malformed", unparsed: true },
  ];

  test.each(cases)("$name: one failure, reason $reason, every byte passed to the service", async ({ bytes, reason, unparsed }) => {
    const first = await envoy.settle();
    const before = counters(first);
    const sitioBefore = sitio(first);
    await rawExchange(envoy.port(18443), [bytes], { halfClose: true, idleMs: 2000 });
    const after = await envoy.waitForStats(
      (s) => delta(before, counters(s)).passThrough === 1 && delta(before, counters(s)).serviceRxBytes === bytes.length && counters(s).open === 0,
      `${reason}: the connection through web_tls`,
    );
    const got = delta(before, counters(after));
    expect(got.handshakes).toBe(0);
    expect(got.serviceRxBytes).toBe(bytes.length);
    const want: Record<string, number> = {
      [`sitio_tls_handshake_failures_total{reason="${reason}"}`]: 1,
      "sitio_tcp_rx_bytes_total{}": bytes.length,
    };
    if (got.txBytes > 0) want["sitio_tcp_tx_bytes_total{}"] = got.txBytes;
    if (unparsed) want["sitio_tcp_unparsed_bytes_total{}"] = bytes.length;
    const sitioAfter = await envoy
      .waitForStats((s) => sameSeries(seriesDelta(sitioBefore, sitio(s)), want), `${reason}: sitio's series`)
      .catch(async () => envoy.scrape());
    expect(seriesDelta(sitioBefore, sitio(sitioAfter))).toEqual(want);
    console.log(
      `${reason}: ${bytes.length} bytes in, ${got.txBytes} back; sitio ${Object.entries(want)
        .map(([k, v]) => `${k} +${v}`)
        .join(", ")}`,
    );
  });
});
