// The network (L4) filter in the real Envoy, on the shipped envoy.yaml:
// connections, bytes, and HTTP/1.x endpoint counts from the raw downstream
// bytes. web_service answers every request 200, so every path earns its series.

import { beforeAll, describe, expect, test } from "vitest";
import { Agent } from "node:http";
import { sleep } from "../harness/envoy.js";
import { value, type Sample } from "../harness/prometheus.js";
import { countResponses, httpRequest, openSocket, closeSocket, rawExchange } from "../harness/traffic.js";
import { useEnvoy } from "../harness/use_envoy.js";
import { OK_BODY } from "../harness/ok_upstream.js";

const PLUGIN = "sitio_web";
const envoy = useEnvoy({ name: "network", okUpstream: true });
let port: number;
beforeAll(() => {
  port = envoy.port(18000);
});

const requests = (s: Sample[], method: string, endpoint: string) => value(s, "sitio_tcp_requests_total", { method, endpoint, plugin: PLUGIN }) ?? 0;
const tcp = (s: Sample[], name: string) => value(s, `sitio_tcp_${name}`, { plugin: PLUGIN }) ?? 0;

/** Waits until the requests counter of one endpoint reaches `n`, then checks it stays exactly `n`. */
async function expectRequests(method: string, endpoint: string, n: number): Promise<void> {
  await envoy.waitForStats((s) => requests(s, method, endpoint) >= n, `${n} × ${method} ${endpoint}`);
  await sleep(100);
  expect(requests(await envoy.scrape(), method, endpoint)).toBe(n);
}

function get(path: string, extra = ""): string {
  return `GET ${path} HTTP/1.1\r\nHost: sitio.test\r\n${extra}\r\n`;
}

describe("network filter: connections and bytes", () => {
  test("one curl-like request: body from the service, one connection, one request", async () => {
    const before = await envoy.settle();
    const r = await httpRequest(port, "/", { headers: { connection: "close" } });
    expect(r.status).toBe(200);
    expect(r.body).toBe(OK_BODY);
    const after = await envoy.waitForStats(
      (s) => tcp(s, "connections_total") === tcp(before, "connections_total") + 1 && tcp(s, "active_connections") === 0,
      "connection closed",
    );
    expect(requests(after, "GET", "/") - requests(before, "GET", "/")).toBe(1);
  });

  test("bytes in and out equal what the client sent and received", async () => {
    const before = await envoy.settle();
    const sent = get("/bytes", "Connection: close\r\n");
    const ex = await rawExchange(port, [sent]);
    expect(countResponses(ex.received)).toBe(1);
    const after = await envoy.waitForStats(
      (s) => tcp(s, "active_connections") === 0 && tcp(s, "tx_bytes_total") - tcp(before, "tx_bytes_total") === ex.received.length,
      "byte counts",
    );
    expect(tcp(after, "rx_bytes_total") - tcp(before, "rx_bytes_total")).toBe(Buffer.byteLength(sent, "latin1"));
    expect(tcp(after, "tx_bytes_total") - tcp(before, "tx_bytes_total")).toBe(ex.received.length);
  });

  test("active connections gauge follows open sockets and returns to 0", async () => {
    const base = tcp(await envoy.settle(), "active_connections");
    const socks = await Promise.all([1, 2, 3].map(() => openSocket(port)));
    await envoy.waitForStats((s) => tcp(s, "active_connections") === base + 3, "3 active connections");
    await Promise.all(socks.map(closeSocket));
    await envoy.waitForStats((s) => tcp(s, "active_connections") === base, "active connections back to base");
  });
});

describe("network filter: HTTP/1.x endpoints from raw bytes", () => {
  test("query strings are stripped: /search?q=1 and /search?q=2 are one endpoint", async () => {
    await rawExchange(port, [get("/search?q=1") + get("/search?q=2#frag")]);
    await expectRequests("GET", "/search", 2);
  });

  test("keep-alive: 5 requests on one connection are counted 5 times", async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const before = tcp(await envoy.settle(), "connections_total");
    for (let i = 0; i < 5; i++) expect((await httpRequest(port, "/keepalive", { agent })).status).toBe(200);
    agent.destroy();
    await expectRequests("GET", "/keepalive", 5);
    // connection counts are published at the next tick (1 s)
    const s = await envoy.waitForStats((x) => tcp(x, "connections_total") > before && tcp(x, "active_connections") === 0, "the connection counted");
    expect(tcp(s, "connections_total") - before).toBe(1);
  });

  test("pipelining: several requests in one write, with bodies, are each counted once", async () => {
    const body = "x=1&y=2";
    const stream =
      `POST /pipe/a HTTP/1.1\r\nHost: h\r\nContent-Length: ${body.length}\r\n\r\n${body}` +
      `POST /pipe/b HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n` +
      get("/pipe/c") +
      get("/pipe/c");
    await rawExchange(port, [stream]);
    await expectRequests("GET", "/pipe/c", 2);
    await expectRequests("POST", "/pipe/a", 1);
    await expectRequests("POST", "/pipe/b", 1);
  });

  test("a request split across reads at every byte is counted once per connection", async () => {
    const req = `POST /split?id=7 HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello`;
    for (let k = 1; k < req.length; k++) {
      await rawExchange(port, [req.slice(0, k), req.slice(k)], { gapMs: 15, idleMs: 50 });
    }
    await expectRequests("POST", "/split", req.length - 1);
  });

  test("one byte per write: two pipelined requests still count as two", async () => {
    const stream = get("/dribble") + get("/dribble");
    await rawExchange(
      port,
      [...stream].map((c) => c),
      { gapMs: 2 },
    );
    await expectRequests("GET", "/dribble", 2);
  });

  test("a thousand keep-alive requests through Node's client: the counter equals the requests sent", async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 4 });
    const paths = ["/load/a", "/load/b", "/"];
    const sent: Record<string, number> = {};
    const before = await envoy.scrape();
    await Promise.all(
      Array.from({ length: 1000 }, (_, i) => {
        const p = paths[i % 3] === "/" ? "/" : `${paths[i % 3]}?i=${i}`;
        const key = paths[i % 3];
        sent[key] = (sent[key] ?? 0) + 1;
        return httpRequest(port, p, { agent });
      }),
    );
    agent.destroy();
    await expectRequests("GET", "/load/a", sent["/load/a"]);
    await expectRequests("GET", "/load/b", sent["/load/b"]);
    const after = await envoy.scrape();
    expect(requests(after, "GET", "/") - requests(before, "GET", "/")).toBe(sent["/"]);
  });
});

describe("network filter: bytes that are not HTTP", () => {
  test("garbage passes through untouched, is counted as unparsed, and is never a request", async () => {
    const before = await envoy.settle();
    const garbage = Buffer.from([0x00, 0xff, 0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03, 0x0d, 0x0a, 0x0d, 0x0a]);
    await rawExchange(port, [garbage]);
    const after = await envoy.waitForStats((s) => tcp(s, "unparsed_bytes_total") - tcp(before, "unparsed_bytes_total") === garbage.length, "unparsed bytes");
    const total = (s: Sample[]) => s.filter((x) => x.name === "sitio_tcp_requests_total").reduce((a, x) => a + x.value, 0);
    expect(total(after)).toBe(total(before));
    // Envoy is still up and the next well-formed request is counted.
    await rawExchange(port, [get("/after-garbage")]);
    await expectRequests("GET", "/after-garbage", 1);
  });

  test("a request line with a control byte stops parsing for the rest of the connection", async () => {
    const stream = "GET /bad\x01path HTTP/1.1\r\n\r\n" + get("/never-counted");
    await rawExchange(port, [stream]);
    await rawExchange(port, [get("/marker-after-bad")]);
    await expectRequests("GET", "/marker-after-bad", 1);
    expect(requests(await envoy.scrape(), "GET", "/never-counted")).toBe(0);
  });
});
