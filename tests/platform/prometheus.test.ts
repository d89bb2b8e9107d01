// sitio through a real Prometheus (started by scripts/test_prometheus.sh's checks, on free
// ports): Prometheus scrapes the harness Envoy's /stats/prometheus, and the sitio series come
// out of its HTTP API with their labels and values intact, usable with rate() and
// histogram_quantile() (requests, Foo messages, gRPC calls, TLS handshakes); every query of envoy/sitio-dashboard.json returns data;
// `promtool check metrics` parses a scrape; the same for the hostile request targets of
// tests/envoy/exposition.test.ts, through a second Envoy.

import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT, sleep, startEnvoy, type Envoy } from "../harness/envoy.js";
import { series, type Sample } from "../harness/prometheus.js";
import { HOSTILE_TARGETS, l7TargetOf, sendTargets, startAnsweringUpstream } from "../harness/hostile_targets.js";
import type { ScriptedUpstream } from "../harness/scripted_upstream.js";
import { startFooServer, type FooServer } from "../harness/foo_server.js";
import { startPrometheus, type Prometheus, type PromResult } from "../harness/prometheus_server.js";
import { startGrpcServer, type GrpcServer } from "../harness/grpc_server.js";
import {
  FOO,
  FOO_MESSAGES,
  GRPC_CALLS,
  HTTP,
  HTTP_MIX,
  TLS,
  TLS_NAMES,
  WEB,
  WEB_MIX,
  byLabel,
  driveFoo,
  driveGrpc,
  driveHttpMix,
  driveNotTls,
  driveTls,
  total,
} from "./listeners.js";

const DASHBOARD = join(ROOT, "envoy/sitio-dashboard.json");
const ROUNDS = 2;

let envoy: Envoy;
let prometheus: Prometheus;
let fooServer: FooServer | undefined;
let grpcServer: GrpcServer | undefined;

const sum = (mix: Record<string, number>) => Object.values(mix).reduce((a, b) => a + b, 0);

/** One round of traffic to every listener of the shipped envoy.yaml. */
async function driveEveryListener(): Promise<void> {
  await driveHttpMix(envoy.port(WEB), WEB_MIX);
  await driveFoo(envoy.port(FOO), FOO_MESSAGES);
  await driveHttpMix(envoy.port(HTTP), HTTP_MIX);
  const calls = await driveGrpc(envoy.port(HTTP));
  if (calls.get("Unary 0") !== 2 || calls.get("Stream 0") !== 1 || calls.get("Unary 5") !== 1) throw new Error(`gRPC calls: ${JSON.stringify([...calls])}`);
  await driveTls(envoy.port(TLS));
  await driveNotTls(envoy.port(TLS));
}

/** What sitio must have counted after `round` rounds: expression for Prometheus, check for Envoy's scrape. */
const counts = (round: number) => [
  { expr: `sum(sitio_tcp_requests_total{plugin="sitio_web"})`, n: round * sum(WEB_MIX) },
  { expr: `sum(sitio_tcp_responses_total{plugin="sitio_foo"})`, n: round * FOO_MESSAGES },
  { expr: `sum(sitio_http_requests_total{plugin="sitio_http"})`, n: round * sum(HTTP_MIX) },
  { expr: `sum(sitio_grpc_requests_total{plugin="sitio_http"})`, n: round * GRPC_CALLS },
  { expr: `sum(sitio_tls_handshakes_total{plugin="sitio_tls"})`, n: round * TLS_NAMES.length },
  { expr: `sum(sitio_tls_handshake_failures_total{plugin="sitio_tls"})`, n: round },
];
const envoyTotal = (s: Sample[], expr: string) => {
  const [, name, plugin] = /^sum\((\w+)\{plugin="(\w+)"\}\)$/.exec(expr)!;
  return total(s, name, { plugin });
};
const promSum = (r: PromResult[]) => r.reduce((a, x) => a + Number(x.value[1]), 0);

/** A series' identity without the labels Prometheus adds. */
function seriesKey(name: string, labels: Record<string, string>): string {
  const own = Object.entries(labels).filter(([k]) => k !== "job" && k !== "instance" && k !== "__name__");
  return `${name}{${own
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(",")}}`;
}

beforeAll(async () => {
  grpcServer = await startGrpcServer({ port: 0 });
  envoy = await startEnvoy({ name: "prometheus", upstreams: { grpc_service: grpcServer.port } });
  fooServer = await startFooServer({ port: envoy.port(8098) });
  prometheus = await startPrometheus({ name: "prometheus", targets: [envoy.admin.replace("http://", "")] });
  // Two rounds with a scrape in between, so rate() has two points that differ.
  let webConnections = 0;
  for (let round = 1; round <= ROUNDS; round++) {
    await driveEveryListener();
    const want = counts(round);
    const counted = await envoy.waitForStats(
      (s) =>
        want.every(({ expr, n }) => envoyTotal(s, expr) === n) &&
        total(s, "sitio_tcp_active_connections", {}) === 0 &&
        total(s, "sitio_tcp_connections_total", { plugin: "sitio_web" }) > webConnections,
      `round ${round} counted`,
    );
    // connections are published at sitio's tick (docs/metrics.md#timing), after the requests: each
    // round's value is scraped before the next round, so rate() sees two different values
    webConnections = total(counted, "sitio_tcp_connections_total", { plugin: "sitio_web" });
    want.push({ expr: `sum(sitio_tcp_connections_total{plugin="sitio_web"})`, n: webConnections });
    for (const { expr, n } of want) await prometheus.waitFor(expr, (r) => promSum(r) === n, `Prometheus scraped round ${round}`);
  }
}, 90_000);

afterAll(async () => {
  await prometheus?.stop();
  await envoy?.stop();
  await fooServer?.close();
  await grpcServer?.close();
});

describe("Prometheus scraping Envoy's /stats/prometheus", () => {
  test("every sitio series arrives with its labels and Envoy's exact value", async () => {
    // Traffic has stopped; Envoy merges histograms one scrape behind, so compare fresh reads of both until they agree.
    const read = async () => ({
      envoy: new Map((await envoy.scrape()).filter((s) => s.name.startsWith("sitio_")).map((s) => [seriesKey(s.name, s.labels), s.value])),
      prometheus: new Map((await prometheus.query(`{__name__=~"sitio_.+"}`)).map((x) => [seriesKey(x.metric.__name__, x.metric), Number(x.value[1])])),
    });
    let last = await read();
    for (const deadline = Date.now() + 20_000; Date.now() < deadline; last = await read()) {
      if (last.prometheus.size === last.envoy.size && [...last.envoy].every(([k, v]) => last.prometheus.get(k) === v)) break;
      await sleep(250);
    }
    expect(last.envoy.get(seriesKey("sitio_tcp_requests_total", { method: "GET", endpoint: "/api/items", plugin: "sitio_web" }))).toBe(
      WEB_MIX["/api/items"] * ROUNDS,
    );
    expect(Object.fromEntries(last.prometheus)).toEqual(Object.fromEntries(last.envoy));
    const [one] = await prometheus.query(`sitio_tcp_requests_total{endpoint="/api/items"}`);
    expect(Object.keys(one.metric).sort()).toEqual(["__name__", "endpoint", "instance", "job", "method", "plugin"]);
  });

  test("counters work with rate(): every endpoint sent to has a positive rate", async () => {
    const r = await prometheus.query(`sum by (endpoint) (rate(sitio_tcp_requests_total{plugin="sitio_web"}[1m])) > 0`);
    expect(r.map((x) => x.metric.endpoint).sort()).toEqual(Object.keys(byLabel(WEB_MIX)).sort());
    const cx = await prometheus.query(`rate(sitio_tcp_connections_total{plugin="sitio_web"}[1m])`);
    expect(Number(cx[0]?.value[1])).toBeGreaterThan(0);
  });

  const histograms = [
    { name: "sitio_tcp_request_duration_microsecond", plugin: "sitio_web", by: "endpoint", values: Object.keys(byLabel(WEB_MIX)) },
    { name: "sitio_tcp_request_duration_microsecond", plugin: "sitio_foo", by: "endpoint", values: ["-"] },
    { name: "sitio_http_request_duration_microsecond", plugin: "sitio_http", by: "endpoint", values: Object.keys(byLabel(HTTP_MIX)) },
    {
      name: "sitio_grpc_request_duration_microsecond",
      plugin: "sitio_http",
      by: "endpoint",
      values: ["/sitio.example.Example/Unary", "/sitio.example.Example/Stream"],
    },
    { name: "sitio_tls_handshake_duration_microsecond", plugin: "sitio_tls", by: "sni", values: TLS_NAMES },
  ];
  test.each(histograms)(
    "latency buckets work with histogram_quantile(): $name of $plugin has a finite p50 ≤ p99 per $by",
    async ({ name, plugin, by, values }) => {
      const q = async (p: number) =>
        Object.fromEntries(
          (await prometheus.query(`histogram_quantile(${p}, sum by (le, ${by}) (rate(${name}_bucket{plugin="${plugin}"}[1m])))`)).map((x) => [
            x.metric[by],
            Number(x.value[1]),
          ]),
        );
      const [p50, p99] = [await q(0.5), await q(0.99)];
      expect(Object.keys(p99).sort()).toEqual([...values].sort());
      for (const v of values) {
        expect(Number.isFinite(p50[v]), `p50 of ${v}: ${p50[v]}`).toBe(true);
        expect(p99[v], `p99 of ${v}`).toBeGreaterThan(0);
        expect(p50[v]).toBeLessThanOrEqual(p99[v]);
        expect(p99[v], "the local example services answer well within a second (µs)").toBeLessThan(1_000_000);
      }
    },
  );

  test("every query of envoy/sitio-dashboard.json returns data from the real Prometheus", async () => {
    const dashboard = JSON.parse(readFileSync(DASHBOARD, "utf8")) as {
      panels: { title: string; type: string; targets?: { expr: string }[] }[];
      templating: { list: { name: string; definition?: string }[] };
    };
    // The plugin variable: label_values(<metric>, plugin) is Grafana's call of this API.
    const variable = dashboard.templating.list.find((v) => v.name === "plugin")!;
    const [, metric, label] = /^label_values\((\w+), (\w+)\)$/.exec(variable.definition!)!;
    expect(await prometheus.labelValues(label, metric)).toContain("sitio_web");

    const queries = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));
    expect(queries.length).toBeGreaterThanOrEqual(8);
    const empty: string[] = [];
    for (const { panel, expr } of queries) {
      // What Grafana substitutes: "All" plugins, and a rate window of several scrape intervals.
      const promql = expr.replaceAll("$__rate_interval", "1m").replaceAll("$plugin", ".+");
      const r = await prometheus.query(promql);
      if (r.length === 0 || r.some((x) => Number.isNaN(Number(x.value[1])))) empty.push(`${panel}: ${promql} → ${JSON.stringify(r)}`);
    }
    expect(empty).toEqual([]);
  });

  test("promtool check metrics parses a scrape; sitio's only lint notes are the missing HELP text", async () => {
    const text = await (await fetch(`${envoy.admin}/stats/prometheus`)).text();
    const run = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
    const out = `${run.stdout}${run.stderr}`;
    // promtool exits 1 when the text does not parse, 3 when it parses with lint notes.
    expect(run.status, out.slice(0, 2000)).not.toBe(1);
    expect(out).not.toContain("error while linting");
    const sitioNotes = out.split("\n").filter((l) => l.startsWith("sitio_"));
    const unexpected = sitioNotes.filter((l) => !/ no help text$/.test(l));
    expect(unexpected).toEqual([]);
  });
});

// The hostile request targets of tests/envoy/exposition.test.ts (tests/harness/hostile_targets.ts)
// through another Envoy whose upstream answers 200, so each earns its series: promtool parses the
// page, and a real Prometheus ingests it whole (one bad line would fail the scrape: up=0) with
// every label as Envoy published it.
describe("hostile request targets through promtool and a real Prometheus", () => {
  let hostile: Envoy;
  let upstream: ScriptedUpstream;
  let hostilePrometheus: Prometheus;
  const PLUGINS = { sitio_web: "sitio_tcp_requests_total", sitio_http: "sitio_http_requests_total" } as const;

  beforeAll(async () => {
    upstream = await startAnsweringUpstream();
    hostile = await startEnvoy({ name: "prometheus-hostile", upstreams: { web_service: upstream.port } });
    await sendTargets(
      hostile.port(WEB),
      HOSTILE_TARGETS.map((t) => [t.method, t.target]),
    );
    await sendTargets(
      hostile.port(HTTP),
      HOSTILE_TARGETS.map((t) => [t.method, l7TargetOf(t)]),
    );
    const want = HOSTILE_TARGETS.filter((t) => t.l4StopsAt === undefined).length;
    await hostile.waitForStats((s) => total(s, PLUGINS.sitio_web, { plugin: "sitio_web" }) === want, "the hostile targets counted");
    hostilePrometheus = await startPrometheus({ name: "prometheus-hostile", targets: [hostile.admin.replace("http://", "")] });
  }, 60_000);

  afterAll(async () => {
    await hostilePrometheus?.stop();
    await hostile?.stop();
    await upstream?.stop();
  });

  test("promtool check metrics parses the page: no error, no duplicate TYPE, sitio's only notes the missing HELP text", async () => {
    const text = await (await fetch(`${hostile.admin}/stats/prometheus`)).text();
    const run = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
    const out = `${run.stdout}${run.stderr}`;
    expect(run.status, out.slice(0, 2000)).not.toBe(1);
    expect(out).not.toContain("error while linting");
    expect(out).not.toContain("second TYPE line");
    expect(out.split("\n").filter((l) => l.startsWith("sitio_") && !/ no help text$/.test(l))).toEqual([]);
  });

  test("Prometheus ingests the whole scrape (up = 1) with every sitio request series and label exactly as Envoy published it", async () => {
    const instance = hostile.admin.replace("http://", "");
    await hostilePrometheus.waitFor(`up{instance="${instance}"}`, (r) => r.length === 1 && r[0].value[1] === "1", "a successful scrape");
    for (const [plugin, family] of Object.entries(PLUGINS)) {
      if (plugin === "sitio_http" && HTTP === undefined) continue;
      const inEnvoy = new Map(series(await hostile.scrape(), family, { plugin }).map((s) => [seriesKey(family, s.labels), s.value]));
      const r = await hostilePrometheus.waitFor(`${family}{plugin="${plugin}"}`, (x) => x.length === inEnvoy.size, `${inEnvoy.size} ${family} series`);
      expect(new Map(r.map((x) => [seriesKey(family, x.metric), Number(x.value[1])]))).toEqual(inEnvoy);
    }
    const [quote] = await hostilePrometheus.query(`sitio_tcp_requests_total{endpoint="/q%22uote%22"}`);
    expect(quote?.value[1]).toBe("1");
  });
});
