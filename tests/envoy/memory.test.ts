// Bounded, returning memory in the real Envoy: 16 connections each sending
// 1,024 Foo REQ lines and 16 each sending 1,024 pipelined HTTP requests to an
// upstream that accepts and never answers, so every request stays pending.
// sitio's own gauges tell its VM's memory: sitio_wasm_heap_bytes (bytes in
// live objects, measured after a full collection at each 1 s tick) and
// sitio_wasm_memory_bytes (the linear memory, which grows in 64 KiB pages
// and never shrinks). Read idle, while the 32 connections are open, and after
// they closed: the heap while open is bounded per connection, and it comes
// back to within a few KiB of idle once they are gone (idle connection
// objects kept for reuse are let go, half at each tick).
//
// One worker (`workers: 1`): the gauges add up the shares of every VM of the
// plugin (Envoy's main thread has one too, configured and idle), so with one
// worker VM every change in them is that VM's, and the per-connection cost
// reads directly.

import { createServer, type Server, type Socket } from "node:net";
import { afterAll, expect, test } from "vitest";
import { series, type Sample } from "../harness/prometheus.js";
import { openSocket } from "../harness/traffic.js";
import { useEnvoy } from "../harness/use_envoy.js";

const CONNECTIONS = 16;
const MESSAGES = 1024;

/** An upstream that accepts connections, reads everything, and never answers. */
let silent: Server;
const upstreamSockets = new Set<Socket>();
const envoy = useEnvoy(async () => {
  silent = createServer((s) => {
    upstreamSockets.add(s);
    s.on("data", () => {});
    s.on("error", () => {});
    s.on("close", () => upstreamSockets.delete(s));
  });
  await new Promise<void>((ok) => silent.listen(0, "127.0.0.1", ok));
  const port = (silent.address() as { port: number }).port;
  return { name: "memory", workers: 1, upstreams: { web_service: port, foo_service: port } };
});
afterAll(async () => {
  for (const s of upstreamSockets) s.destroy();
  await new Promise<void>((ok) => (silent ? silent.close(() => ok()) : ok()));
});

/** A VM gauge: the sum over the plugin's VMs (main thread + the one worker). */
const gauge = (s: Sample[], name: string, plugin: string) => series(s, name, { plugin })[0]?.value ?? NaN;
const tcp = (s: Sample[], name: string, plugin: string) => series(s, `sitio_tcp_${name}`, { plugin })[0]?.value ?? 0;

interface Reading {
  heap: number;
  memory: number;
}
const read = (s: Sample[], plugin: string): Reading => ({
  heap: gauge(s, "sitio_wasm_heap_bytes", plugin),
  memory: gauge(s, "sitio_wasm_memory_bytes", plugin),
});
/** How close to idle the heap must come back. */
const RETURN_SLACK = 8 * 1024;
const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;

test(`${CONNECTIONS} × ${MESSAGES} unanswered Foo REQs and ${CONNECTIONS} × ${MESSAGES} unanswered pipelined HTTP requests: the heap is bounded while open and returns after close`, async () => {
  // idle: the plugins configured, their gauges published
  await envoy.waitForStats((s) => gauge(s, "sitio_wasm_heap_bytes", "sitio_web") > 0, "the heap gauge");
  const idleScrape = await envoy.settle();
  const idle = read(idleScrape, "sitio_web");
  expect(read(idleScrape, "sitio_foo")).toEqual(idle); // every plugin reports the same VMs

  const socks: Socket[] = [];
  /** Opens CONNECTIONS connections to a listener, each writing `messages(c)` at once; resolves once sitio has read every byte. */
  async function openAll(port: number, plugin: string, messages: (c: number) => string): Promise<void> {
    const before = tcp(await envoy.scrape(), "rx_bytes_total", plugin);
    let sent = 0;
    for (let c = 0; c < CONNECTIONS; c++) {
      const s = await openSocket(port);
      s.on("error", () => {});
      const bytes = messages(c);
      s.write(bytes);
      sent += bytes.length;
      socks.push(s);
    }
    // rx bytes are published at a tick; one more tick, so the heap published with them follows every read
    await envoy.waitForStats((s) => tcp(s, "rx_bytes_total", plugin) - before === sent, `every byte of the ${plugin} connections read`, 20_000);
  }

  await openAll(envoy.port(18001), "sitio_foo", (c) => Array.from({ length: MESSAGES }, (_, i) => `REQ ${i + 1} c${c}\n`).join(""));
  const fooScrape = await envoy.settle();
  const fooOpen = read(fooScrape, "sitio_web");
  // the Foo REQs are counted as they come (their replies would be matched by id)
  expect(tcp(fooScrape, "requests_last_10s", "sitio_foo")).toBe(CONNECTIONS * MESSAGES);

  await openAll(envoy.port(18000), "sitio_web", (c) =>
    Array.from({ length: MESSAGES }, (_, i) => `GET /m/c${c}/r${i} HTTP/1.1\r\nHost: sitio.test\r\n\r\n`).join(""),
  );
  const openScrape = await envoy.settle();
  const open = read(openScrape, "sitio_web");
  expect(tcp(openScrape, "active_connections", "sitio_web")).toBe(CONNECTIONS);
  expect(tcp(openScrape, "active_connections", "sitio_foo")).toBe(CONNECTIONS);
  // the HTTP requests are seen (the rate window) but wait, uncounted, for the response that would admit their endpoint
  expect(tcp(openScrape, "requests_last_10s", "sitio_web")).toBe(CONNECTIONS * MESSAGES);
  expect(series(openScrape, "sitio_tcp_requests_total", { plugin: "sitio_web" })).toEqual([]);

  for (const s of socks) s.destroy();
  const closing = Date.now();
  await envoy.waitForStats(
    (s) => tcp(s, "active_connections", "sitio_web") === 0 && tcp(s, "active_connections", "sitio_foo") === 0,
    "all 32 connections closed",
  );
  // the pooled connection objects go half per tick (32 → 0 within 6 ticks): the heap is back within a few KiB of idle well before 10 s
  const closedScrape = await envoy.waitForStats((s) => Math.abs(read(s, "sitio_web").heap - idle.heap) < RETURN_SLACK, "the heap back to idle", 10_000);
  const returnedMs = Date.now() - closing;
  const closed = read(closedScrape, "sitio_web");
  const fooPerConnection = (fooOpen.heap - idle.heap) / CONNECTIONS;
  const httpPerConnection = (open.heap - fooOpen.heap) / CONNECTIONS;
  console.log(
    [
      `memory (1 worker; sitio_wasm_*_bytes{plugin="sitio_web"}, main-thread VM + worker VM):`,
      `  idle: heap ${idle.heap} (${kib(idle.heap)}), linear memory ${idle.memory} (${kib(idle.memory)})`,
      `  16 Foo connections open (${MESSAGES} REQs pending each): heap ${fooOpen.heap} (${kib(fooOpen.heap)}, +${kib(fooOpen.heap - idle.heap)}: ${kib(fooPerConnection)} per connection), linear memory ${fooOpen.memory} (${kib(fooOpen.memory)})`,
      `  + 16 HTTP connections (${MESSAGES} requests pending each): heap ${open.heap} (${kib(open.heap)}, +${kib(open.heap - fooOpen.heap)}: ${kib(httpPerConnection)} per connection), linear memory ${open.memory} (${kib(open.memory)})`,
      `  ${(returnedMs / 1000).toFixed(1)} s after close: heap ${closed.heap} (${kib(closed.heap)}, ${closed.heap - idle.heap >= 0 ? "+" : ""}${closed.heap - idle.heap} bytes vs idle), linear memory ${closed.memory} (${kib(closed.memory)})`,
    ].join("\n"),
  );
  // bounded while open: 1,024 requests pending on a connection cost well under 64 KiB
  for (const perConnection of [fooPerConnection, httpPerConnection]) {
    expect(perConnection).toBeGreaterThan(1024); // (the requests really were pending)
    expect(perConnection).toBeLessThan(64 * 1024);
  }
  // and it came back (waitForStats above), to within RETURN_SLACK of idle
  expect(Math.abs(closed.heap - idle.heap)).toBeLessThan(RETURN_SLACK);
  // The linear memory never shrinks (wasm has no way to give pages back): it keeps its peak. The
  // allocator doubles it when it runs out, and garbage goes only at a collection (at the tick, or in
  // the first callback after a growth), so the peak is a few times the live heap: with no tick at all
  // during the burst (the worst case) 4 MiB for the worker VM.
  expect(closed.memory).toBe(open.memory);
  expect(open.memory).toBeLessThanOrEqual(4 * open.heap);
});
