// Admission in the real Envoy, on the shipped envoy.yaml exactly as shipped:
// the example service answers 200 on "/" and "/api/items" and 404 on every
// other path. 1,000 junk paths (answered 404) take none of the 100 endpoint
// slots: they all count under `other`, and "/" and "/api/items", sent after
// them, still get series of their own, at L4 (:18000) and L7 (:18080, junk
// with no route and junk routed to the service). Envoy's own 4xx/5xx local
// replies to malformed requests take no slot either. Two workers (the
// default), so the cap and the admitted set are the ones shared by both VMs.

import { afterAll, describe, expect, test } from "vitest";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { createServer as createNetServer, type AddressInfo } from "node:net";
import { DEFAULT_WORKERS, SHIPPED_CONFIG } from "../harness/envoy.js";
import { series, type Sample } from "../harness/prometheus.js";
import { countResponses, rawExchange } from "../harness/traffic.js";
import { KeepAliveConnection } from "../harness/keepalive.js";
import { useEnvoy } from "../harness/use_envoy.js";

const JUNK = 1000;
/** endpoints.max_distinct as shipped: the junk is ten times the cap. */
const CAP = 100;
const CONNECTIONS = 10;

const envoy = useEnvoy({ name: "admission" });

/**
 * Sends `paths` one request at a time on CONNECTIONS keep-alive connections at once (the kernel
 * spreads them over the workers); returns the statuses in the order of `paths`. (Not pipelined:
 * Envoy's HTTP/1 codec closes a connection that has more than two direct responses queued in one
 * read, "dispatch error: Too many responses queued", which the example service would hit.)
 */
async function sendAll(port: number, paths: string[]): Promise<number[]> {
  const statuses: number[] = new Array(paths.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      const conn = await KeepAliveConnection.open(port);
      while (next < paths.length) {
        const i = next++;
        statuses[i] = await conn.get(paths[i]);
      }
      await conn.close();
    }),
  );
  return statuses;
}

const total = (xs: Sample[]) => xs.reduce((t, x) => t + x.value, 0);
/** Endpoint label → requests, over every series of a family for one plugin. */
function byEndpoint(s: Sample[], family: string, plugin: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of series(s, family, { plugin })) out[x.labels.endpoint] = (out[x.labels.endpoint] ?? 0) + x.value;
  return out;
}

test("the shipped config runs with more than one worker here", () => {
  expect(DEFAULT_WORKERS).toBeGreaterThan(1);
});

describe("L4 (:18000, sitio_web)", () => {
  const REQS = "sitio_tcp_requests_total";
  const PLUGIN = "sitio_web";

  test(`${JUNK} junk paths answered 404 count under other and take no slot; "/" and "/api/items" sent after them get their own series`, async () => {
    const port = envoy.port(18000);
    const statuses = await sendAll(
      port,
      Array.from({ length: JUNK }, (_, i) => `/junk-${i}`),
    );
    expect(statuses).toEqual(Array(JUNK).fill(404));
    const afterJunk = await envoy.waitForStats((s) => total(series(s, REQS, { plugin: PLUGIN })) === JUNK, `${JUNK} junk requests counted`);
    const junkSeries = series(afterJunk, REQS, { plugin: PLUGIN });
    console.log(
      `admission L4: after ${JUNK} junk paths, ${junkSeries.length} sitio_tcp_requests_total series for ${PLUGIN}:\n${junkSeries.map((x) => x.line).join("\n")}`,
    );
    expect(junkSeries.map((x) => x.line)).toEqual([`${REQS}{method="GET",endpoint="other",plugin="${PLUGIN}"} ${JUNK}`]);
    // every 404 was answered with sitio's page
    expect(series(afterJunk, "sitio_tcp_custom_404_total", { plugin: PLUGIN })[0].value).toBe(JUNK);

    expect(await sendAll(port, ["/", "/api/items", "/api/items"])).toEqual([200, 200, 200]);
    const after = await envoy.waitForStats((s) => total(series(s, REQS, { plugin: PLUGIN })) === JUNK + 3, "the real endpoints counted");
    const real = series(after, REQS, { plugin: PLUGIN }).filter((x) => x.labels.endpoint !== "other");
    console.log(`admission L4: the real endpoints after the junk:\n${real.map((x) => x.line).join("\n")}`);
    expect(byEndpoint(after, REQS, PLUGIN)).toEqual({ other: JUNK, "/": 1, "/api/items": 2 });
  });
});

describe("L7 (:18080, sitio_http)", () => {
  const REQS = "sitio_http_requests_total";
  const PLUGIN = "sitio_http";

  test(`${JUNK} junk paths (no route, or routed and answered 404 by the service) take no slot; "/" and "/api/items" sent after them get their own series`, async () => {
    const port = envoy.port(18080);
    // half have no route (Envoy's own 404), half go to the service, which answers 404
    const junk = Array.from({ length: JUNK }, (_, i) => (i % 2 === 0 ? `/junk-${i}` : `/api/junk-${i}`));
    const statuses = await sendAll(port, junk);
    expect(statuses).toEqual(Array(JUNK).fill(404));
    const afterJunk = await envoy.waitForStats((s) => total(series(s, REQS, { plugin: PLUGIN })) === JUNK, `${JUNK} junk requests counted`);
    const junkSeries = series(afterJunk, REQS, { plugin: PLUGIN });
    console.log(
      `admission L7: after ${JUNK} junk paths, ${junkSeries.length} sitio_http_requests_total series for ${PLUGIN}:\n${junkSeries.map((x) => x.line).join("\n")}`,
    );
    expect(junkSeries.map((x) => x.line)).toEqual([`${REQS}{method="GET",endpoint="other",status="404",plugin="${PLUGIN}"} ${JUNK}`]);
    expect(series(afterJunk, "sitio_http_custom_404_total", { plugin: PLUGIN })[0].value).toBe(JUNK);

    // Envoy's own replies to malformed requests (sitio's filter never runs; the request is
    // counted in the access-log phase): each with a distinct path where Envoy parsed one.
    const malformed = [
      ...Array.from({ length: 60 }, (_, i) => `GET /bad-host-${i} HTTP/1.1\r\n\r\n`), // 400 missing_host_header
      ...Array.from({ length: 60 }, (_, i) => `GET /bad-frag-${i}#f HTTP/1.1\r\nHost: sitio.test\r\n\r\n`), // 400 path_normalization_failed
      ...Array.from({ length: 30 }, (_, i) => `POST /bad-te-${i} HTTP/1.1\r\nHost: sitio.test\r\nTransfer-Encoding: gzip\r\n\r\n`), // 501 (a 5xx local reply)
      ...Array.from({ length: 30 }, (_, i) => `GET /bad-ver-${i} HTTP/1.0\r\nHost: sitio.test\r\n\r\n`), // 426 low_version
    ];
    const got: number[] = [];
    for (let i = 0; i < malformed.length; i += 20) {
      const exchanges = await Promise.all(
        malformed.slice(i, i + 20).map((r) => rawExchange(port, [r], { until: (b) => countResponses(b) === 1, idleMs: 2000 })),
      );
      for (const ex of exchanges) got.push(Number(/^HTTP\/1\.1 (\d{3}) /.exec(ex.received.toString("latin1"))?.[1]));
    }
    expect(got).toEqual([...Array(120).fill(400), ...Array(30).fill(501), ...Array(30).fill(426)]);
    const afterBad = await envoy.waitForStats((s) => total(series(s, REQS, { plugin: PLUGIN })) === JUNK + malformed.length, "the malformed requests counted");
    const badSeries = series(afterBad, REQS, { plugin: PLUGIN }).filter((x) => x.labels.status !== "404");
    console.log(`admission L7: Envoy's own replies to ${malformed.length} malformed requests:\n${badSeries.map((x) => x.line).join("\n")}`);
    expect(Object.keys(byEndpoint(afterBad, REQS, PLUGIN))).toEqual(["other"]);

    expect(await sendAll(port, ["/", "/api/items", "/api/items"])).toEqual([200, 200, 200]);
    const after = await envoy.waitForStats((s) => total(series(s, REQS, { plugin: PLUGIN })) === JUNK + malformed.length + 3, "the real endpoints counted");
    const real = series(after, REQS, { plugin: PLUGIN }).filter((x) => x.labels.endpoint !== "other");
    console.log(`admission L7: the real endpoints after the junk:\n${real.map((x) => x.line).join("\n")}`);
    expect(real.map((x) => x.line).sort()).toEqual([
      `${REQS}{method="GET",endpoint="/",status="200",plugin="${PLUGIN}"} 1`,
      `${REQS}{method="GET",endpoint="/api/items",status="200",plugin="${PLUGIN}"} 2`,
    ]);
    expect(byEndpoint(after, REQS, PLUGIN)).toEqual({ other: JUNK + malformed.length, "/": 1, "/api/items": 2 });
  });
});

test("the junk outnumbers the shipped cap of every plugin, so a slot taken by junk would leave the real endpoints out", () => {
  const caps = [...readFileSync(SHIPPED_CONFIG, "utf8").matchAll(/"max_distinct": (\d+)/g)].map((m) => Number(m[1]));
  expect(caps).toEqual([CAP, CAP, CAP]); // sitio_web, sitio_http, sitio_tls
  expect(JUNK).toBeGreaterThanOrEqual(10 * CAP);
});

describe("L7: Envoy's own 5xx is no evidence either", () => {
  // web_service points at a port that resets every connection until the service is "up": the router
  // answers 503 itself (response_code_details `upstream_reset_before_response_started{…}`, not
  // `via_upstream`), a status that would admit an endpoint if it came from the service. The port stays
  // bound all along, so no other test's listener can be handed it (a port left free once was).
  let up = false;
  const service = createServer((req, res) => res.end("up\n"));
  const gate = createNetServer((socket) => {
    if (up) service.emit("connection", socket);
    else socket.resetAndDestroy();
  });
  const dead = useEnvoy(async () => {
    await new Promise<void>((ok) => gate.listen(0, "127.0.0.1", ok));
    return { name: "admission-503", upstreams: { web_service: (gate.address() as AddressInfo).port } };
  });
  afterAll(async () => {
    service.closeAllConnections();
    await new Promise<void>((ok) => gate.close(() => ok()));
  });
  const REQS = "sitio_http_requests_total";
  const PLUGIN = "sitio_http";

  test(`${2 * CAP} distinct paths answered 503 by Envoy take no slot; once the service is up, a path it answers 200 gets its series`, async () => {
    const port = dead.port(18080);
    const paths = Array.from({ length: 2 * CAP }, (_, i) => `/api/down-${i}`);
    expect(await sendAll(port, paths)).toEqual(Array(paths.length).fill(503));
    const s = await dead.waitForStats((x) => total(series(x, REQS, { plugin: PLUGIN })) === paths.length, "the 503s counted");
    expect(series(s, REQS, { plugin: PLUGIN }).map((x) => x.line)).toEqual([
      `${REQS}{method="GET",endpoint="other",status="503",plugin="${PLUGIN}"} ${paths.length}`,
    ]);

    up = true;
    try {
      expect(await sendAll(port, ["/api/down-0", "/api/down-1"])).toEqual([200, 200]);
    } finally {
      up = false;
    }
    const after = await dead.waitForStats((x) => total(series(x, REQS, { plugin: PLUGIN })) === paths.length + 2, "the 200s counted");
    expect(byEndpoint(after, REQS, PLUGIN)).toEqual({ other: paths.length, "/api/down-0": 1, "/api/down-1": 1 });
  });
});
