// llhttp's valid strict request cases (tests/fixtures/llhttp/) through the real
// Envoy on the shipped envoy.yaml (listener :18000, plugin sitio_web): one
// connection per case, the bytes up to a protocol switch (the switches are
// tested through the wasm host), in one write. The per-endpoint counts Envoy
// publishes must be the corpus' expectation summed over all cases. The
// web_service cluster points at Node's own HTTP server (llhttp, answering
// every request 200), so every endpoint earns its series.

import { describe, expect, test } from "vitest";
import { readFileSync } from "node:fs";
import { SHIPPED_CONFIG } from "../harness/envoy.js";
import { series, value, type Sample } from "../harness/prometheus.js";
import { countResponses, rawExchange } from "../harness/traffic.js";
import { CASES, httpBytesOf, labelOf } from "../harness/llhttp_corpus.js";
import { methodLabel } from "../harness/labels.js";
import { useEnvoy } from "../harness/use_envoy.js";

const PLUGIN = "sitio_web";
/** The shipped sitio_web configuration: at most 100 endpoints, number and UUID segments collapsed to `{id}`. */
const SHIPPED_ENDPOINTS = `"endpoints": { "max_distinct": 100, "collapse": ["numbers", "uuids"] }`;
const MAX_DISTINCT_ENDPOINTS = 100;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** "METHOD endpoint" with the shipped collapse rules applied to the endpoint's path segments. */
function collapsed(request: string): string {
  const sp = request.indexOf(" ");
  const endpoint = request.slice(sp + 1);
  if (!endpoint.startsWith("/")) return request;
  const path = endpoint
    .split("/")
    .map((seg, i) => (i > 0 && (/^[0-9]+$/.test(seg) || UUID.test(seg)) ? "{id}" : seg))
    .join("/");
  return `${request.slice(0, sp)} ${path}`;
}
/** Cases sent at the same time (each on its own connection). */
const PARALLEL = 6;

const envoy = useEnvoy({ name: "conformance", okUpstream: true });

describe("llhttp corpus through Envoy", () => {
  test("every valid strict case, one connection each: the per-endpoint counts equal the corpus'", async () => {
    const cases = CASES.filter((c) => c.mode === "strict" && c.valid);
    expect(cases.length).toBe(81);
    expect(readFileSync(SHIPPED_CONFIG, "utf8")).toContain(SHIPPED_ENDPOINTS);
    // A request whose message the corpus cuts short never gets a response, so nothing lets its
    // endpoint in: it counts under its endpoint if a complete request let that in before, else
    // under other. The cases with such requests go last, so "before" is every complete request.
    const cutShort = (c: (typeof cases)[number]) => c.requests.some((r) => r.headers_complete && !r.message_complete);
    cases.sort((a, b) => Number(cutShort(a)) - Number(cutShort(b)));
    const endpointOf = (label: string) => label.slice(label.indexOf(" ") + 1);
    const admitted = new Set(
      cases.flatMap((c) => c.requests.filter((r) => r.headers_complete && r.message_complete).map((r) => endpointOf(collapsed(labelOf(r))))),
    );
    const expected = new Map<string, number>();
    for (const c of cases) {
      for (const r of c.requests.filter((x) => x.headers_complete)) {
        const full = collapsed(labelOf(r));
        const label = r.message_complete || admitted.has(endpointOf(full)) ? full : `${methodLabel(r.method)} other`;
        expected.set(label, (expected.get(label) ?? 0) + 1);
      }
    }
    const total = [...expected.values()].reduce((a, b) => a + b, 0);
    // below the cap every endpoint keeps its own series, whatever order the connections arrive in
    expect(new Set([...expected.keys()].map((k) => k.slice(k.indexOf(" ") + 1))).size).toBeLessThan(MAX_DISTINCT_ENDPOINTS);

    const port = envoy.port(18000);
    for (let i = 0; i < cases.length; i += PARALLEL) {
      // each connection stays until every request has its response (a response is what lets an endpoint in)
      await Promise.all(
        cases.slice(i, i + PARALLEL).map((c) => {
          const answered = c.requests.filter((r) => r.headers_complete && r.message_complete).length;
          return rawExchange(port, [httpBytesOf(c)], { idleMs: 300, until: (b) => countResponses(b) >= answered });
        }),
      );
    }

    const reqs = (s: Sample[]) => series(s, "sitio_tcp_requests_total", { plugin: PLUGIN });
    const sum = (s: Sample[]) => reqs(s).reduce((a, x) => a + x.value, 0);
    await envoy.waitForStats(
      (s) => sum(s) >= total && value(s, "sitio_tcp_active_connections", { plugin: PLUGIN }) === 0,
      `${total} requests, connections closed`,
    );
    const samples = await envoy.settle();
    const got = new Map(
      reqs(samples)
        .filter((x) => x.value > 0)
        .map((x) => [`${x.labels.method} ${x.labels.endpoint}`, x.value] as const),
    );
    expect(Object.fromEntries([...got].sort())).toEqual(Object.fromEntries([...expected].sort()));
    expect(value(samples, "sitio_tcp_connections_total", { plugin: PLUGIN })).toBe(cases.length);
    // every byte sent was parsed as HTTP/1.x (nothing past a switch was sent)
    expect(value(samples, "sitio_tcp_unparsed_bytes_total", { plugin: PLUGIN })).toBe(0);

    const ready = await fetch(`${envoy.admin}/ready`);
    expect(ready.status).toBe(200);
    expect((await ready.text()).trim()).toBe("LIVE");
  });
});
