// The cardinality attack, in the real Envoy on the shipped envoy.yaml:
// 100,000 distinct paths leave at most cap + 1 endpoint series (the shipped
// cap is 100, plus `other`; the paths are not numbers, so collapsing cannot merge them), every request is still counted,
// and Envoy's memory stays bounded.

import { beforeAll, describe, expect, test } from "vitest";
import { readFileSync } from "node:fs";
import { SHIPPED_CONFIG} from "../harness/envoy.js";
import { series, value, type Sample } from "../harness/prometheus.js";
import { openSocket } from "../harness/traffic.js";
import { rssKiB } from "../harness/keepalive.js";
import { useEnvoy } from "../harness/use_envoy.js";

const PLUGIN = "sitio_web";
const DISTINCT = 100_000;
const PER_CONNECTION = 500;
/** endpoints.max_distinct of the shipped sitio_web block. */
const CAP = 100;

const envoy = useEnvoy({ name: "cardinality" });
beforeAll(() => {
  expect(readFileSync(SHIPPED_CONFIG, "utf8")).toContain(`"max_distinct": ${CAP}`);
});

const requestSeries = (s: Sample[]) => series(s, "sitio_tcp_requests_total", { plugin: PLUGIN });

/** Writes `paths` as pipelined requests on one connection, then closes it (FIN) and waits for the close. */
async function pipelined(port: number, paths: string[]): Promise<void> {
  const sock = await openSocket(port);
  sock.on("error", () => {});
  sock.resume();
  await new Promise<void>((ok) => {
    sock.once("close", () => ok());
    sock.end(paths.map((p) => `GET ${p} HTTP/1.1\r\nHost: sitio.test\r\n\r\n`).join(""));
  });
}

describe("cardinality attack", () => {
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
      (x) => requestSeries(x).reduce((t, r) => t + r.value, 0) >= DISTINCT && (value(x, "sitio_tcp_active_connections", { plugin: PLUGIN }) ?? 1) === 0,
      `${DISTINCT} requests counted`,
      60_000,
    );
    const rssAfter = await rssKiB(envoy.process.pid!);
    const endpoints = new Set(requestSeries(s).map((r) => r.labels.endpoint));
    const total = requestSeries(s).reduce((t, r) => t + r.value, 0);
    const other = value(s, "sitio_tcp_requests_total", { method: "GET", endpoint: "other", plugin: PLUGIN });
    console.log(`cardinality: ${DISTINCT} distinct paths in ${((Date.now() - started) / 1000).toFixed(1)} s → ${endpoints.size} endpoint series (${CAP} + other), ${total} requests counted, other = ${other}; Envoy RSS ${rssBefore} KiB before, ${rssAfter} KiB after (+${rssAfter - rssBefore} KiB)`);
    expect(endpoints.size).toBeLessThanOrEqual(CAP + 1);
    expect(endpoints.size).toBe(CAP + 1);
    expect(total).toBe(DISTINCT);
    expect(other).toBe(DISTINCT - CAP);
    // every sitio series of this plugin, all families (histogram buckets aside): bounded by the cap too
    const sitioSeries = s.filter((x) => x.name.startsWith("sitio_") && !x.name.endsWith("_bucket") && x.labels.plugin === PLUGIN).length;
    expect(sitioSeries).toBeLessThan(5 * (CAP + 1));
    // 100,000 label values would cost Envoy far more than this (each stat name is kept in its symbol table)
    expect(rssAfter - rssBefore).toBeLessThan(64 * 1024);
  });
});
