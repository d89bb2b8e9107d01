// llhttp's valid strict request cases (tests/fixtures/llhttp/) through the real
// Envoy on the shipped envoy.yaml (listener :18000, plugin sitio_web): one
// connection per case, the bytes up to a protocol switch (the switches are
// tested through the wasm host), in one write. The per-endpoint counts Envoy
// publishes must be the corpus' expectation summed over all cases, whatever
// the :8099 backend answers (it refuses some of these requests and closes
// some connections; sitio counts the client's request stream).

import { describe, expect, test } from "vitest";
import { readFileSync } from "node:fs";
import { SHIPPED_CONFIG, sleep } from "../harness/envoy.js";
import { series, value, type Sample } from "../harness/prometheus.js";
import { rawExchange } from "../harness/traffic.js";
import { CASES, expectedRequests, httpBytesOf } from "../harness/llhttp_corpus.js";
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
  const path = endpoint.split("/").map((seg, i) => (i > 0 && (/^[0-9]+$/.test(seg) || UUID.test(seg)) ? "{id}" : seg)).join("/");
  return `${request.slice(0, sp)} ${path}`;
}
/** Cases sent at the same time (each on its own connection). */
const PARALLEL = 6;

const envoy = useEnvoy({ name: "conformance" });

describe("llhttp corpus through Envoy", () => {
  test("every valid strict case, one connection each: the per-endpoint counts equal the corpus'", async () => {
    const cases = CASES.filter((c) => c.mode === "strict" && c.valid);
    expect(cases.length).toBe(81);
    expect(readFileSync(SHIPPED_CONFIG, "utf8")).toContain(SHIPPED_ENDPOINTS);
    const expected = new Map<string, number>();
    for (const c of cases) for (const r of expectedRequests(c).map(collapsed)) expected.set(r, (expected.get(r) ?? 0) + 1);
    const total = [...expected.values()].reduce((a, b) => a + b, 0);
    // below the cap every endpoint keeps its own series, whatever order the connections arrive in
    expect(new Set([...expected.keys()].map((k) => k.slice(k.indexOf(" ") + 1))).size).toBeLessThan(MAX_DISTINCT_ENDPOINTS);

    const port = envoy.port(18000);
    for (let i = 0; i < cases.length; i += PARALLEL) {
      await Promise.all(cases.slice(i, i + PARALLEL).map((c) => rawExchange(port, [httpBytesOf(c)], { idleMs: 100 })));
    }

    const reqs = (s: Sample[]) => series(s, "sitio_tcp_requests_total", { plugin: PLUGIN });
    const sum = (s: Sample[]) => reqs(s).reduce((a, x) => a + x.value, 0);
    await envoy.waitForStats((s) => sum(s) >= total && value(s, "sitio_tcp_active_connections", { plugin: PLUGIN }) === 0, `${total} requests, connections closed`);
    await sleep(100);
    const samples = await envoy.scrape();
    const got = new Map(reqs(samples).filter((x) => x.value > 0).map((x) => [`${x.labels.method} ${x.labels.endpoint}`, x.value] as const));
    expect(Object.fromEntries([...got].sort())).toEqual(Object.fromEntries([...expected].sort()));
    expect(value(samples, "sitio_tcp_connections_total", { plugin: PLUGIN })).toBe(cases.length);
    // every byte sent was parsed as HTTP/1.x (nothing past a switch was sent)
    expect(value(samples, "sitio_tcp_unparsed_bytes_total", { plugin: PLUGIN })).toBe(0);

    const ready = await fetch(`${envoy.admin}/ready`);
    expect(ready.status).toBe(200);
    expect((await ready.text()).trim()).toBe("LIVE");
  });
});
