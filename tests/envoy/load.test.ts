// Load with exact accounting, in the real Envoy on the shipped envoy.yaml:
// many concurrent keep-alive connections over a mix of endpoints, then many
// short connections. Every request sent is counted exactly once; the
// active-connection gauge returns to 0; the wasm heap stops growing.
// SITIO_LOAD_FULL=1 runs the full-size figures (100,000 requests, 100,000 connections).

import { beforeAll, describe, expect, test } from "vitest";
import { series, value, type Sample } from "../harness/prometheus.js";
import { KeepAliveConnection, rssKiB } from "../harness/keepalive.js";
import { useEnvoy } from "../harness/use_envoy.js";

const FULL = process.env.SITIO_LOAD_FULL === "1";
const CONNECTIONS = 200;
const REQUESTS = FULL ? 100_000 : 20_000;
const SHORT_CONNECTIONS = FULL ? 100_000 : 4_000;
const PLUGIN = "sitio_web";
/** Per-test time limit: the full-size run takes minutes on a busy machine. */
const LIMIT_MS = FULL ? 1_200_000 : 120_000;
/** The mix (web_service answers every request 200 here, so each earns its series). */
const ENDPOINTS = ["/", "/", "/", "/api/users", "/api/orders", "/static/app.js", "/health"];

const envoy = useEnvoy({ name: "load", okUpstream: true });
let port: number;
beforeAll(() => {
  port = envoy.port(18000);
});

const tcp = (s: Sample[], name: string) => value(s, `sitio_tcp_${name}`, { plugin: PLUGIN }) ?? 0;
const counts = (s: Sample[]) =>
  new Map(series(s, "sitio_tcp_requests_total", { plugin: PLUGIN }).map((x) => [`${x.labels.method} ${x.labels.endpoint}`, x.value]));

describe("load with exact accounting", () => {
  test(
    `${CONNECTIONS} keep-alive connections, ${REQUESTS} requests: per-endpoint counts equal requests sent, 0 lost, 0 double`,
    async () => {
      const before = await envoy.settle();
      const sent = new Map<string, number>();
      const statuses = new Map<number, number>();
      let next = 0;
      const started = Date.now();
      await Promise.all(
        Array.from({ length: CONNECTIONS }, async (_, c) => {
          const conn = await KeepAliveConnection.open(port);
          while (next < REQUESTS) {
            const i = next++;
            const path = ENDPOINTS[(i * 7 + c) % ENDPOINTS.length] + (i % 3 === 0 ? `?n=${i}` : "");
            const status = await conn.get(path);
            const key = `GET ${path.split("?")[0]}`;
            sent.set(key, (sent.get(key) ?? 0) + 1);
            statuses.set(status, (statuses.get(status) ?? 0) + 1);
          }
          await conn.close();
        }),
      );
      const seconds = (Date.now() - started) / 1000;
      const after = await envoy.waitForStats(
        (s) => tcp(s, "active_connections") === 0 && tcp(s, "connections_total") - tcp(before, "connections_total") === CONNECTIONS,
        "all load connections closed",
      );
      const b = counts(before);
      const a = counts(after);
      let counted = 0;
      const lines: string[] = [];
      for (const [key, n] of sent) {
        const got = (a.get(key) ?? 0) - (b.get(key) ?? 0);
        counted += got;
        lines.push(`${key}: sent ${n}, counted ${got}`);
        expect(got, key).toBe(n);
      }
      // nothing counted under an endpoint that was not sent
      for (const [key, n] of a) if (!sent.has(key)) expect(n - (b.get(key) ?? 0), key).toBe(0);
      const lost = REQUESTS - counted;
      console.log(
        `load: ${REQUESTS} requests over ${CONNECTIONS} connections in ${seconds.toFixed(1)} s (${(REQUESTS / seconds).toFixed(0)}/s); counted ${counted}, lost ${Math.max(lost, 0)}, double ${Math.max(-lost, 0)}; statuses ${JSON.stringify(Object.fromEntries(statuses))}\n  ${lines.join("\n  ")}`,
      );
      expect(counted).toBe(REQUESTS);
      expect(tcp(after, "active_connections")).toBe(0);
    },
    LIMIT_MS,
  );

  test(
    `the wasm heap is flat across ${SHORT_CONNECTIONS} short connections after warm-up`,
    async () => {
      // summed over the workers' VMs
      const memory = (s: Sample[]) => value(s, "sitio_wasm_memory_bytes", { plugin: PLUGIN }) ?? 0;
      const heap = (s: Sample[]) => value(s, "sitio_wasm_heap_bytes", { plugin: PLUGIN }) ?? 0;
      const shortConnections = async (n: number, offset: number) => {
        let next = 0;
        await Promise.all(
          Array.from({ length: 50 }, async () => {
            while (next < n) {
              const i = offset + next++;
              const conn = await KeepAliveConnection.open(port);
              await conn.get(`/short/${i % 500}?i=${i}`);
              await conn.close();
            }
          }),
        );
      };
      const base = await envoy.settle();
      const warmup = 1000;
      await shortConnections(warmup, 0);
      const warm = await envoy.waitForStats(
        (s) => tcp(s, "active_connections") === 0 && tcp(s, "connections_total") === tcp(base, "connections_total") + warmup,
        "warm-up connections closed",
      );
      const rssWarm = await rssKiB(envoy.process.pid!);
      const started = Date.now();
      await shortConnections(SHORT_CONNECTIONS, warmup);
      const end = await envoy.waitForStats(
        (s) => tcp(s, "active_connections") === 0 && tcp(s, "connections_total") === tcp(warm, "connections_total") + SHORT_CONNECTIONS,
        "short connections closed",
        30_000,
      );
      const rssEnd = await rssKiB(envoy.process.pid!);
      console.log(
        `short connections: ${SHORT_CONNECTIONS} in ${((Date.now() - started) / 1000).toFixed(1)} s; sitio_wasm_memory_bytes ${memory(warm)} after ${warmup} warm-up connections, ${memory(end)} after ${SHORT_CONNECTIONS} more (heap in use ${heap(warm)} → ${heap(end)}); Envoy RSS ${rssWarm} KiB → ${rssEnd} KiB`,
      );
      expect(memory(warm)).toBeGreaterThan(0);
      expect(memory(end)).toBe(memory(warm));
      const requests = (s: Sample[]) => series(s, "sitio_tcp_requests_total", { plugin: PLUGIN }).reduce((t, x) => t + x.value, 0);
      expect(requests(end) - requests(warm)).toBe(SHORT_CONNECTIONS);
    },
    LIMIT_MS,
  );
});
