// Real TLS clients through the shipped TLS pass-through listener (:18443,
// tcp_proxy to the example TLS service on :8443, where Envoy terminates TLS):
// curl, Node's tls, openssl s_client, the Go client with its post-quantum key
// share, and a relay that splits the ClientHello across records. Each one
// completes its handshake and gets "example tls body"; Envoy's own counters
// show exactly one pass-through connection and one handshake per client,
// with the version (and for Go the X25519MLKEM768 group) the client reports.
// A TLS 1.1-only client is refused with an alert.
//
// sitio is not on this listener yet (its TLS codec is wired in next); its
// series will be asserted here, per client, with the same cases
// (tests/harness/tls_clients.ts: TLS_CLIENT_CASES).

import { describe, expect, test } from "vitest";
import { useEnvoy } from "../harness/use_envoy.js";
import type { Sample } from "../harness/prometheus.js";
import { runTlsClientCase, TLS_CLIENT_CASES, type TlsClientCase } from "../harness/tls_clients.js";
import { SPLIT_CLIENT_HELLO } from "../harness/tls_relay.js";

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
  };
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
  };
}

describe("real TLS clients through the :18443 pass-through listener", () => {
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
    const before = counters(await envoy.scrape());
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
      return d.passThrough === want.passThrough && d.handshakes + d.errors === want.handshakes + want.errors && d.responses === want.responses;
    }, `${c.name}: one connection through web_tls`);
    expect(delta(before, counters(after))).toEqual(want);
    console.log(`${c.name}: ${ms.toFixed(0)} ms, ${"failed" in result ? "refused" : `${result.version} ${result.alpn ?? "(no ALPN)"}`}`);
  });
});
