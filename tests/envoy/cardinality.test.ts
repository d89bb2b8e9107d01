// Bounded cardinality in the real Envoy on the shipped envoy.yaml, at the
// worker counts Envoy runs with: the cap (`endpoints.max_distinct`, 100 as
// shipped) holds for the whole Envoy, not per worker, at L4 and L7; 100,000
// distinct paths leave cap + 1 endpoint series, every request counted, and
// Envoy's memory bounded. web_service answers every request 200 here, so every
// path is evidence of an endpoint and only the cap stops it (junk answered
// 404 is tests/envoy/admission.test.ts).

import { describe, expect, test } from "vitest";
import { readFileSync } from "node:fs";
import { SHIPPED_CONFIG } from "../harness/envoy.js";
import { series, value, type Sample } from "../harness/prometheus.js";
import { httpRequest, openSocket } from "../harness/traffic.js";
import { rssKiB } from "../harness/keepalive.js";
import { useEnvoy } from "../harness/use_envoy.js";
import { Agent } from "node:http";

/** endpoints.max_distinct of the shipped sitio_web and sitio_http blocks. */
const CAP = 100;

const requestSeries = (s: Sample[], family: string, plugin: string) => series(s, family, { plugin });
const total = (xs: Sample[]) => xs.reduce((t, x) => t + x.value, 0);
const endpoints = (xs: Sample[]) => new Set(xs.map((x) => x.labels.endpoint));

/** Writes `paths` as pipelined requests on one connection, then closes it (FIN) once every response arrived. */
async function pipelined(port: number, paths: string[]): Promise<void> {
  const sock = await openSocket(port);
  sock.on("error", () => {});
  let got = 0;
  await new Promise<void>((ok) => {
    sock.on("data", (d: Buffer) => {
      got += d.toString("latin1").split("HTTP/1.1 ").length - 1;
      if (got >= paths.length) sock.end();
    });
    sock.once("close", () => ok());
    sock.write(paths.map((p) => `GET ${p} HTTP/1.1\r\nHost: sitio.test\r\n\r\n`).join(""));
  });
}

test("the shipped cap is 100 on sitio_web, sitio_http and sitio_tls", () => {
  const yaml = readFileSync(SHIPPED_CONFIG, "utf8");
  expect(yaml.match(new RegExp(`"max_distinct": ${CAP}`, "g"))?.length).toBe(3);
});

for (const workers of [2, 4]) {
  describe(`one cap for the whole Envoy, ${workers} workers`, () => {
    const envoy = useEnvoy({ name: `cardinality-${workers}w`, workers, okUpstream: true });

    test(`L4: ${3 * CAP} distinct paths, each on its own connection, leave exactly ${CAP} endpoint series + other`, async () => {
      const port = envoy.port(18000);
      const paths = Array.from({ length: 3 * CAP }, (_, i) => `/l4/p-${i}`);
      // one connection each, 10 at a time, so the kernel spreads them over the workers
      for (let i = 0; i < paths.length; i += 10) await Promise.all(paths.slice(i, i + 10).map((p) => pipelined(port, [p])));
      const s = await envoy.waitForStats(
        (x) => total(requestSeries(x, "sitio_tcp_requests_total", "sitio_web")) >= paths.length,
        `${paths.length} L4 requests`,
      );
      const got = requestSeries(s, "sitio_tcp_requests_total", "sitio_web");
      console.log(
        `cardinality (${workers} workers, L4): ${paths.length} distinct paths → ${endpoints(got).size} endpoint series, other = ${value(s, "sitio_tcp_requests_total", { endpoint: "other", plugin: "sitio_web" })}`,
      );
      expect(endpoints(got).size).toBe(CAP + 1);
      expect(total(got)).toBe(paths.length);
      expect(value(s, "sitio_tcp_requests_total", { method: "GET", endpoint: "other", plugin: "sitio_web" })).toBe(paths.length - CAP);
    });

    test(`L7: ${3 * CAP} distinct paths, on many connections, leave exactly ${CAP} endpoint series + other`, async () => {
      const port = envoy.port(18080);
      const agent = new Agent({ keepAlive: false, maxSockets: 10 });
      const paths = Array.from({ length: 3 * CAP }, (_, i) => `/api/l7-${i}`);
      for (let i = 0; i < paths.length; i += 10) {
        const rs = await Promise.all(paths.slice(i, i + 10).map((p) => httpRequest(port, p, { agent })));
        for (const r of rs) expect(r.status).toBe(200);
      }
      agent.destroy();
      const s = await envoy.waitForStats(
        (x) => total(requestSeries(x, "sitio_http_requests_total", "sitio_http")) >= paths.length,
        `${paths.length} L7 requests`,
      );
      const got = requestSeries(s, "sitio_http_requests_total", "sitio_http");
      console.log(
        `cardinality (${workers} workers, L7): ${paths.length} distinct paths → ${endpoints(got).size} endpoint series, other = ${value(s, "sitio_http_requests_total", { endpoint: "other", plugin: "sitio_http" })}`,
      );
      expect(endpoints(got).size).toBe(CAP + 1);
      expect(total(got)).toBe(paths.length);
      expect(value(s, "sitio_http_requests_total", { method: "GET", endpoint: "other", status: "200", plugin: "sitio_http" })).toBe(paths.length - CAP);
    });
  });
}

describe("cardinality attack", () => {
  const DISTINCT = 100_000;
  const PER_CONNECTION = 500;
  const PLUGIN = "sitio_web";
  const envoy = useEnvoy({ name: "cardinality", okUpstream: true });

  test(`${DISTINCT} distinct paths: at most ${CAP} + 1 endpoint series, every request counted, Envoy memory bounded`, async () => {
    const port = envoy.port(18000);
    const rssBefore = await rssKiB(envoy.process.pid!);
    const started = Date.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 10 }, async () => {
        while (next < DISTINCT) {
          const first = next;
          next += PER_CONNECTION;
          const paths = Array.from({ length: Math.min(PER_CONNECTION, DISTINCT - first) }, (_, k) => `/attack/p${first + k}?q=${first + k}`);
          await pipelined(port, paths);
        }
      }),
    );
    const s = await envoy.waitForStats(
      (x) =>
        total(requestSeries(x, "sitio_tcp_requests_total", PLUGIN)) >= DISTINCT && (value(x, "sitio_tcp_active_connections", { plugin: PLUGIN }) ?? 1) === 0,
      `${DISTINCT} requests counted`,
      60_000,
    );
    const rssAfter = await rssKiB(envoy.process.pid!);
    const got = requestSeries(s, "sitio_tcp_requests_total", PLUGIN);
    const other = value(s, "sitio_tcp_requests_total", { method: "GET", endpoint: "other", plugin: PLUGIN });
    console.log(
      `cardinality: ${DISTINCT} distinct paths in ${((Date.now() - started) / 1000).toFixed(1)} s → ${endpoints(got).size} endpoint series (${CAP} + other), ${total(got)} requests counted, other = ${other}; Envoy RSS ${rssBefore} KiB before, ${rssAfter} KiB after (+${rssAfter - rssBefore} KiB)`,
    );
    expect(endpoints(got).size).toBe(CAP + 1);
    expect(total(got)).toBe(DISTINCT);
    expect(other).toBe(DISTINCT - CAP);
    // every sitio series of this plugin, all families (histogram buckets aside): bounded by the cap too
    const sitioSeries = s.filter((x) => x.name.startsWith("sitio_") && !x.name.endsWith("_bucket") && x.labels.plugin === PLUGIN).length;
    expect(sitioSeries).toBeLessThan(5 * (CAP + 1));
    // 100,000 label values would cost Envoy far more than this (each stat name is kept in its symbol table)
    expect(rssAfter - rssBefore).toBeLessThan(64 * 1024);
  });
});
