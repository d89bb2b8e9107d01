// docker-compose.yml, running (started by scripts/test_compose.sh): the container Envoy on
// the host network answers on the shipped fixed ports, and sitio inside it counts exactly
// the traffic sent. The containers are fresh, so the counts are absolute.

import { beforeAll, describe, expect, test } from "vitest";
import { scrape, value, type Sample } from "../harness/prometheus.js";
import { pollStats, waitReady } from "../harness/stats_poll.js";
import { countResponses, rawExchange } from "../harness/traffic.js";
import { FOO, FOO_MESSAGES, HTTP, HTTP_MIX, LABEL, TLS, TLS_NAMES, WEB, WEB_MIX, byLabel, driveFoo, driveHttpMix, driveTls, total } from "./listeners.js";

const ADMIN = "http://127.0.0.1:8001";
const sum = (mix: Record<string, number>) => Object.values(mix).reduce((a, b) => a + b, 0);
const web = (s: Sample[], name: string, labels: Record<string, string> = {}) => value(s, name, { ...labels, plugin: "sitio_web" }) ?? 0;

beforeAll(async () => {
  await waitReady(ADMIN);
});

describe("docker-compose up", () => {
  test("the Envoy on :8001 is the container's (started with --base-id 18000)", async () => {
    const info = (await (await fetch(`${ADMIN}/server_info`)).json()) as { version: string; command_line_options: { base_id: string | number } };
    expect(Number(info.command_line_options.base_id)).toBe(18000);
    expect(info.version).toContain("1.40.0");
  });

  test(`:${WEB} → sitio_web: ${JSON.stringify(WEB_MIX)} on one keep-alive connection, then one raw request`, async () => {
    const tally = await driveHttpMix(WEB, WEB_MIX);
    expect(Object.fromEntries(tally)).toEqual({ "/ 200": 3, "/api/items 200": 2, "/missing 404": 1 });
    // connection and byte counts are published at sitio's 1 s tick
    await pollStats(
      ADMIN,
      (s) => web(s, "sitio_tcp_connections_total") === 1 && web(s, "sitio_tcp_active_connections") === 0,
      "the keep-alive connection closed",
    );

    const before = await scrape(ADMIN);
    const sent = "GET /raw?x=1 HTTP/1.1\r\nHost: compose.test\r\nConnection: close\r\n\r\n";
    const ex = await rawExchange(WEB, [sent]);
    expect(countResponses(ex.received)).toBe(1);
    expect(ex.received.toString()).toContain("This page was put in by sitio's network filter.");
    // Envoy merges histograms a scrape behind the counters: wait for the timings too.
    const timed = (s: Sample[]) => total(s, "sitio_tcp_request_duration_microsecond_count", { plugin: "sitio_web" });
    const after = await pollStats(
      ADMIN,
      (s) => web(s, "sitio_tcp_connections_total") === 2 && web(s, "sitio_tcp_active_connections") === 0 && timed(s) === sum(WEB_MIX) + 1,
      "the raw connection closed and every request timed",
    );

    // /missing and /raw are answered 404: no evidence of an endpoint, so both count under other
    const want = byLabel(WEB_MIX);
    want.other = (want.other ?? 0) + 1;
    for (const [endpoint, n] of Object.entries(want)) expect(web(after, "sitio_tcp_requests_total", { method: "GET", endpoint }), endpoint).toBe(n);
    expect(total(after, "sitio_tcp_requests_total", { plugin: "sitio_web" })).toBe(sum(WEB_MIX) + 1);
    expect(web(after, "sitio_tcp_rx_bytes_total") - web(before, "sitio_tcp_rx_bytes_total")).toBe(sent.length);
    expect(web(after, "sitio_tcp_tx_bytes_total") - web(before, "sitio_tcp_tx_bytes_total")).toBe(ex.received.length);
    expect(web(after, "sitio_tcp_unparsed_bytes_total")).toBe(0);
    // Responses: 200s from "/" (3) and /api/items (2), and 404s from /missing (1) and /raw (1), each given sitio's page.
    expect(web(after, "sitio_tcp_responses_total", { status: "2xx" })).toBe(5);
    expect(web(after, "sitio_tcp_responses_total", { status: "4xx" })).toBe(2);
    expect(web(after, "sitio_tcp_custom_404_total")).toBe(2);
    expect(web(after, "sitio_tcp_request_duration_microsecond_count", { method: "GET", endpoint: "/" })).toBe(3);
  });

  test(`:18001 → sitio_foo → the Foo server container: ${FOO_MESSAGES} REQs, each answered`, async () => {
    const tally = await driveFoo(FOO, FOO_MESSAGES);
    // The Foo server NAKs sequence numbers that are multiples of 5: REQ 1..5 → 4 ACK, 1 NAK.
    expect(Object.fromEntries(tally)).toEqual({ ACK: 4, NAK: 1 });
    const foo = { plugin: "sitio_foo" };
    // (connection counts are published at sitio's 1 s tick)
    const after = await pollStats(
      ADMIN,
      (s) => total(s, "sitio_tcp_responses_total", foo) === FOO_MESSAGES && (value(s, "sitio_tcp_connections_total", foo) ?? 0) >= 1,
      `${FOO_MESSAGES} Foo replies counted`,
    );
    expect(value(after, "sitio_tcp_requests_total", { method: "REQ", ...foo })).toBe(FOO_MESSAGES);
    for (const type of ["ACK", "NAK"]) expect(value(after, "sitio_tcp_responses_total", { status: type, ...foo }) ?? 0, type).toBe(tally.get(type) ?? 0);
    expect(value(after, "sitio_tcp_connections_total", foo)).toBe(1);
  });

  test(`:18080 → sitio_http (L7): ${JSON.stringify(HTTP_MIX)}`, async () => {
    const tally = await driveHttpMix(HTTP, HTTP_MIX);
    expect(Object.fromEntries(tally)).toEqual({ "/ 200": 2, "/api/items 200": 1, "/nothing 404": 1 });
    const l7 = { plugin: "sitio_http" };
    const after = await pollStats(ADMIN, (s) => total(s, "sitio_http_requests_total", l7) === sum(HTTP_MIX), `${sum(HTTP_MIX)} L7 requests counted`);
    for (const [key, n] of tally) {
      const [path, status] = key.split(" ");
      expect(value(after, "sitio_http_requests_total", { method: "GET", endpoint: LABEL[path], status, ...l7 }), key).toBe(n);
    }
    // Envoy's own 404 (/nothing: no route) gets sitio's page.
    expect(value(after, "sitio_http_custom_404_total", l7)).toBe(1);
  });

  test(`:18443 → sitio_tls → the example TLS service: one handshake for each of ${TLS_NAMES.join(", ")}`, async () => {
    const tally = await driveTls(TLS);
    expect(Object.fromEntries(tally)).toEqual(Object.fromEntries(TLS_NAMES.map((n) => [`${n} TLSv1.3`, 1])));
    const tls = { plugin: "sitio_tls" };
    const after = await pollStats(
      ADMIN,
      (s) =>
        total(s, "sitio_tls_handshake_duration_microsecond_count", tls) === TLS_NAMES.length &&
        (value(s, "sitio_tcp_connections_total", tls) ?? 0) === TLS_NAMES.length,
      `${TLS_NAMES.length} TLS handshakes counted`,
    );
    for (const sni of TLS_NAMES) {
      expect(value(after, "sitio_tls_connections_total", { alpn: "none", sni, ...tls }), sni).toBe(1);
      expect(value(after, "sitio_tls_handshakes_total", { sni, tls_version: "TLSv1.3", ...tls }), sni).toBe(1);
      expect(value(after, "sitio_tls_handshake_duration_microsecond_count", { alpn: "none", sni, ...tls }), sni).toBe(1);
    }
    expect(total(after, "sitio_tls_handshake_failures_total", tls)).toBe(0);
    expect(value(after, "sitio_tcp_unparsed_bytes_total", tls)).toBe(0);
  });
});
