// Hostile clients in the real Envoy on the shipped envoy.yaml: garbage,
// slowloris, half-closed sockets, resets mid-response, connections opened
// and dropped. Envoy stays ready, the gauges return to 0, and well-formed
// traffic that follows is counted exactly.

import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { sleep } from "../harness/envoy.js";
import { useEnvoy } from "../harness/use_envoy.js";
import { value, type Sample } from "../harness/prometheus.js";
import { countResponses, openSocket, rawExchange } from "../harness/traffic.js";
import { KeepAliveConnection } from "../harness/keepalive.js";
import { Rng } from "../fuzz/rng.js";
import { FooClient } from "../harness/foo_client.js";
import { startFooServer, type FooServer } from "../harness/foo_server.js";

const PLUGIN = "sitio_web";
// web_service answers every request 200 here: every well-formed path earns its series
const envoy = useEnvoy({ name: "hostile", okUpstream: true });
let port: number;
let fooServer: FooServer;
beforeAll(async () => {
  port = envoy.port(18000);
  fooServer = await startFooServer({ port: envoy.port(8098) });
});
afterAll(async () => fooServer?.close());

const tcp = (s: Sample[], name: string) => value(s, `sitio_tcp_${name}`, { plugin: PLUGIN }) ?? 0;
const requests = (s: Sample[], endpoint: string, method = "GET") => value(s, "sitio_tcp_requests_total", { method, endpoint, plugin: PLUGIN }) ?? 0;

async function ready(): Promise<number> {
  return (await fetch(`${envoy.admin}/ready`)).status;
}

/** Well-formed traffic after an attack: `n` requests on one keep-alive connection, counted exactly. */
async function wellFormedIsCountedExactly(endpoint: string, n: number): Promise<void> {
  const before = await envoy.settle();
  const conn = await KeepAliveConnection.open(port);
  for (let i = 0; i < n; i++) expect(await conn.get(endpoint)).toBe(200);
  await conn.close();
  const after = await envoy.waitForStats(
    (s) => tcp(s, "active_connections") === 0 && tcp(s, "connections_total") === tcp(before, "connections_total") + 1,
    "the well-formed connection closed",
  );
  expect(requests(after, endpoint) - requests(before, endpoint)).toBe(n);
}

describe("hostile clients", () => {
  test("garbage connections: random bytes pass through as unparsed, no request counted", async () => {
    const before = await envoy.settle();
    let sent = 0;
    const r = new Rng(5);
    for (let i = 0; i < 40; i++) {
      let bytes = r.bytes(r.range(1, 4096));
      // no "\r\n\r\n", so no request head can be in there
      bytes = Buffer.from(bytes.toString("latin1").replaceAll("\r\n\r\n", "\r\n\r_"), "latin1");
      sent += bytes.length;
      await rawExchange(port, [bytes], { idleMs: 30 });
    }
    const after = await envoy.waitForStats(
      (s) => tcp(s, "active_connections") === 0 && tcp(s, "connections_total") === tcp(before, "connections_total") + 40,
      "garbage connections closed",
    );
    expect(tcp(after, "rx_bytes_total") - tcp(before, "rx_bytes_total")).toBe(sent);
    // the first byte of a random stream is usually not a token char; either way nothing is a request
    const counted = (s: Sample[]) => s.filter((x) => x.name === "sitio_tcp_requests_total").reduce((t, x) => t + x.value, 0);
    expect(counted(after) - counted(before)).toBe(0);
    expect(tcp(after, "unparsed_bytes_total") - tcp(before, "unparsed_bytes_total")).toBeGreaterThan(0);
    expect(await ready()).toBe(200);
    await wellFormedIsCountedExactly("/after-garbage", 25);
  });

  test("slowloris: one request dribbled a byte at a time over ~4 s is counted once, and others are served meanwhile", async () => {
    const before = await envoy.settle();
    const request = "GET /slow?x=1 HTTP/1.1\r\nHost: sitio.test\r\nX-Pad: slowloris\r\n\r\n";
    const gapMs = Math.ceil(4000 / request.length);
    const slow = rawExchange(port, request.split(""), { gapMs, until: (b) => countResponses(b) === 1, idleMs: 2000 });
    // while it dribbles, the listener serves others
    await sleep(500);
    await wellFormedIsCountedExactly("/during-slowloris", 10);
    const ex = await slow;
    expect(countResponses(ex.received)).toBe(1);
    const after = await envoy.waitForStats((s) => tcp(s, "active_connections") === 0, "slowloris connection closed");
    expect(requests(after, "/slow") - requests(before, "/slow")).toBe(1);
  });

  test("half-closed sockets: a request followed by the client's FIN is counted once", async () => {
    const before = await envoy.settle();
    for (let i = 0; i < 10; i++) {
      // tcp_proxy passes the FIN on; whether the upstream still answers is its business,
      // so only sitio's count and the clean close are checked
      const ex = await rawExchange(port, ["GET /half HTTP/1.1\r\nHost: sitio.test\r\n\r\n"], {
        halfClose: true,
        idleMs: 1000,
        until: (b) => countResponses(b) === 1,
      });
      expect(countResponses(ex.received)).toBeLessThanOrEqual(1);
    }
    const after = await envoy.waitForStats(
      (s) => tcp(s, "active_connections") === 0 && tcp(s, "connections_total") === tcp(before, "connections_total") + 10,
      "half-closed connections closed",
    );
    // a request whose response never came counts under other (no evidence let it in); each counts once
    expect(requests(after, "/half") + requests(after, "other") - requests(before, "/half") - requests(before, "other")).toBe(10);
    expect(await ready()).toBe(200);
    await wellFormedIsCountedExactly("/after-half-close", 25);
  });

  test("resets mid-response and before any response: each request still counted once, gauge back to 0", async () => {
    const before = await envoy.settle();
    const resets = 30;
    for (let i = 0; i < resets; i++) {
      const sock = await openSocket(port);
      const firstByte = new Promise<void>((ok) => sock.once("data", () => ok()));
      sock.on("error", () => {});
      // two requests; reset as soon as the first response byte arrives (mid-response for the pair)
      sock.write("GET / HTTP/1.1\r\nHost: sitio.test\r\n\r\nGET /reset HTTP/1.1\r\nHost: sitio.test\r\n\r\n");
      if (i % 2 === 0) await firstByte;
      else await sleep(2);
      sock.resetAndDestroy();
    }
    // sitio counts what reached it: both requests of every connection whose bytes were read before the reset
    const after = await envoy.waitForStats(
      (s) => tcp(s, "active_connections") === 0 && tcp(s, "connections_total") === tcp(before, "connections_total") + resets,
      "reset connections gone",
    );
    // (a request whose response the reset cut off counts under other unless its path got in earlier)
    const total = (s: Sample[]) => s.filter((x) => x.name === "sitio_tcp_requests_total" && x.labels.plugin === PLUGIN).reduce((t, x) => t + x.value, 0);
    const counted = total(after) - total(before);
    // the two requests travel in one write: counted together or not at all
    expect(counted % 2).toBe(0);
    // the ones reset after the first response byte were certainly read
    expect(counted).toBeGreaterThanOrEqual(resets);
    expect(counted).toBeLessThanOrEqual(2 * resets);
    expect(await ready()).toBe(200);
    await wellFormedIsCountedExactly("/after-resets", 25);
  });

  test("500 connections opened and dropped (FIN or RST, no bytes): Envoy stays ready, counts stay exact", async () => {
    const before = await envoy.settle();
    const n = 500;
    for (let batch = 0; batch < n / 50; batch++) {
      const socks = await Promise.all(Array.from({ length: 50 }, () => openSocket(port)));
      socks.forEach((s, i) => {
        s.on("error", () => {});
        if (i % 2 === 0) s.resetAndDestroy();
        else s.end();
      });
    }
    const after = await envoy.waitForStats(
      (s) => tcp(s, "active_connections") === 0 && tcp(s, "connections_total") === tcp(before, "connections_total") + n,
      "dropped connections gone",
      20_000,
    );
    expect(tcp(after, "rx_bytes_total")).toBe(tcp(before, "rx_bytes_total"));
    expect(await ready()).toBe(200);
    await wellFormedIsCountedExactly("/after-drops", 25);
  });
});

describe("hostile clients on the Foo listener", () => {
  const FOO = "sitio_foo";
  const foo = (s: Sample[], name: string, labels: Record<string, string> = {}) => value(s, name, { plugin: FOO, ...labels }) ?? 0;
  const reqs = (s: Sample[]) => foo(s, "sitio_tcp_requests_total", { method: "REQ", endpoint: "-" });

  test("garbage, a 70 KB line, NUL and non-UTF-8 lines, a dribbled REQ and resets: Envoy stays ready, later REQs are counted exactly", async () => {
    const fooPort = envoy.port(18001);
    const before = await envoy.settle();
    const r = new Rng(7);
    // garbage without any line end: can hold no message
    for (let i = 0; i < 10; i++)
      await rawExchange(fooPort, [Buffer.from(r.bytes(r.range(1, 2000)).toString("latin1").replaceAll("\n", "_"), "latin1")], { idleMs: 30 });
    // hostile lines, each its own malformed message (no REQ among them is well-formed)
    await rawExchange(
      fooPort,
      [`REQ 1 ${"x".repeat(70_000)}\n`, "REQ \0\n", Buffer.from([0x52, 0x45, 0x51, 0x20, 0xff, 0xfe, 0x0a]), "REQ 123456789012345678901234\n", "req 5\n"],
      { idleMs: 50 },
    );
    // resets right after a REQ (the server's reply may or may not get through)
    for (let i = 0; i < 10; i++) {
      const sock = await openSocket(fooPort);
      sock.on("error", () => {});
      sock.write(`REQ ${1000 + i} reset\n`);
      await sleep(i % 2 === 0 ? 0 : 5);
      sock.resetAndDestroy();
    }
    const mid = await envoy.waitForStats(
      (s) => foo(s, "sitio_tcp_active_connections") === 0 && foo(s, "sitio_tcp_connections_total") === foo(before, "sitio_tcp_connections_total") + 21,
      "hostile Foo connections closed",
    );
    expect(reqs(mid) - reqs(before)).toBeLessThanOrEqual(10);
    expect(await ready()).toBe(200);
    // a REQ dribbled a byte at a time over ~2 s, then 20 ordinary ones: all 21 counted, all answered
    const client = await FooClient.connect(fooPort);
    await client.write("REQ 1 slow\n".split(""), 200);
    await client.waitForReplies(1);
    for (let i = 2; i <= 21; i++) expect(["ACK", "NAK"]).toContain(await client.request(i));
    const after = await envoy.waitForStats((s) => reqs(s) - reqs(mid) >= 21, "21 REQs after the attack");
    expect(reqs(after) - reqs(mid)).toBe(21);
    const replies = (s: Sample[]) => foo(s, "sitio_tcp_responses_total", { status: "ACK" }) + foo(s, "sitio_tcp_responses_total", { status: "NAK" });
    expect(replies(after) - replies(mid)).toBe(21);
  });
});
