// The HTTP (L7) filter in the real Envoy, on the shipped envoy.yaml (listener
// :18080): requests by method, endpoint and exact status; duration histograms;
// the custom 404 page for upstream 404s and for Envoy's own route-not-found.
// Paths answered 404 never earn a series of their own: they count under `other`.

import { beforeAll, describe, expect, test } from "vitest";
import { Agent } from "node:http";
import { sleep } from "../harness/envoy.js";
import { series, value, type Sample } from "../harness/prometheus.js";
import { httpRequest, openSocket, rawExchange } from "../harness/traffic.js";
import { useEnvoy } from "../harness/use_envoy.js";

const PLUGIN = "sitio_http";
/** The custom page configured for sitio_http in envoy/envoy.yaml. */
const PAGE = "<h1>404: nothing here</h1>\n";
const PAGE_TYPE = "text/html; charset=utf-8";

const envoy = useEnvoy({ name: "l7" });
let port: number;
beforeAll(() => {
  port = envoy.port(18080);
});

const requests = (s: Sample[], method: string, endpoint: string, status: string) =>
  value(s, "sitio_http_requests_total", { method, endpoint, status, plugin: PLUGIN }) ?? 0;
const durations = (s: Sample[], method: string, endpoint: string) =>
  value(s, "sitio_http_request_duration_microsecond_count", { method, endpoint, plugin: PLUGIN }) ?? 0;
const custom404 = (s: Sample[]) => value(s, "sitio_http_custom_404_total", { plugin: PLUGIN }) ?? 0;
/** Every requests series of one endpoint, as "METHOD status" → count. */
const byMethodStatus = (s: Sample[], endpoint: string) =>
  Object.fromEntries(series(s, "sitio_http_requests_total", { endpoint, plugin: PLUGIN }).map((x) => [`${x.labels.method} ${x.labels.status}`, x.value]));
/** byMethodStatus(after) minus byMethodStatus(before), without the zeros. */
function delta(after: Sample[], before: Sample[], endpoint: string): Record<string, number> {
  const a = byMethodStatus(after, endpoint);
  const b = byMethodStatus(before, endpoint);
  return Object.fromEntries(
    Object.entries(a)
      .map(([k, v]) => [k, v - (b[k] ?? 0)])
      .filter(([, v]) => v !== 0),
  );
}

/** One request on a fresh connection; returns the raw response bytes (status line, headers, body). */
async function raw(method: string, path: string): Promise<string> {
  const ex = await rawExchange(port, [`${method} ${path} HTTP/1.1\r\nHost: sitio.test\r\nConnection: close\r\n\r\n`], { idleMs: 300 });
  return ex.received.toString("latin1");
}

function parseRaw(text: string): { status: number; headers: Record<string, string>; body: string } {
  const end = text.indexOf("\r\n\r\n");
  const [statusLine, ...lines] = text.slice(0, end).split("\r\n");
  const headers: Record<string, string> = {};
  for (const l of lines) headers[l.slice(0, l.indexOf(":")).toLowerCase()] = l.slice(l.indexOf(":") + 1).trim();
  return { status: Number(statusLine.split(" ")[1]), headers, body: text.slice(end + 4) };
}

/** GETs `paths` one after the other on a single keep-alive connection; each response is read to its Content-Length. */
async function oneConnection(paths: string[]): Promise<ReturnType<typeof parseRaw>[]> {
  const sock = await openSocket(port);
  let buf = Buffer.alloc(0);
  sock.on("data", (d: Buffer) => (buf = Buffer.concat([buf, d])));
  const out: ReturnType<typeof parseRaw>[] = [];
  try {
    for (const path of paths) {
      buf = Buffer.alloc(0);
      sock.write(`GET ${path} HTTP/1.1\r\nHost: sitio.test\r\n\r\n`);
      const deadline = Date.now() + 5000;
      for (;;) {
        const text = buf.toString("latin1");
        const end = text.indexOf("\r\n\r\n");
        if (end >= 0) {
          const r = parseRaw(text);
          if (Buffer.byteLength(r.body, "latin1") >= Number(r.headers["content-length"] ?? 0)) {
            out.push(r);
            break;
          }
        }
        if (sock.destroyed || Date.now() > deadline) throw new Error(`no complete response to ${path} on the shared connection: ${JSON.stringify(text)}`);
        await sleep(5);
      }
    }
  } finally {
    sock.destroy();
  }
  return out;
}

describe("HTTP filter: requests by method, endpoint and status", () => {
  test("exact counts per endpoint, method and status; one duration sample per request", async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const sent: [string, string, number][] = [
      ...Array.from({ length: 5 }, () => ["GET", "/", 200] as [string, string, number]),
      ["HEAD", "/", 200],
      ["HEAD", "/", 200],
      ...Array.from({ length: 3 }, (_, i) => ["GET", `/api/items?page=${i}`, 200] as [string, string, number]),
      ["DELETE", "/api/items", 200],
      ...Array.from({ length: 4 }, () => ["GET", "/counted-nowhere", 404] as [string, string, number]),
      ["PUT", "/counted-nowhere", 404],
    ];
    const before = await envoy.settle();
    for (const [method, path, status] of sent) {
      // One at a time: the duration of each request is then its own.
      expect((await httpRequest(port, path, { method, agent })).status).toBe(status);
    }
    agent.destroy();
    // /counted-nowhere has no route: Envoy's own 404, no evidence of an endpoint, so `other`
    const expected: Record<string, Record<string, number>> = {
      "/api/items": { "GET 200": 3, "DELETE 200": 1 },
      other: { "GET 404": 4, "PUT 404": 1 },
    };
    const same = (got: Record<string, number>, want: Record<string, number>) =>
      Object.keys(got).length === Object.keys(want).length && Object.entries(want).every(([k, v]) => got[k] === v);
    const after = await envoy.waitForSteadyStats(
      (s) =>
        requests(s, "GET", "/", "200") - requests(before, "GET", "/", "200") === 5 &&
        requests(s, "HEAD", "/", "200") - requests(before, "HEAD", "/", "200") === 2 &&
        Object.entries(expected).every(([endpoint, want]) => same(delta(s, before, endpoint), want)),
      "exact request counts",
    );
    expect(delta(after, before, "/api/items")).toEqual(expected["/api/items"]);
    expect(delta(after, before, "other")).toEqual(expected.other);
    // Histograms reach /stats/prometheus one flush after the sample: poll for the counts.
    await envoy.waitForSteadyStats(
      (s) =>
        durations(s, "GET", "/") - durations(before, "GET", "/") === 5 &&
        durations(s, "HEAD", "/") - durations(before, "HEAD", "/") === 2 &&
        durations(s, "GET", "/api/items") - durations(before, "GET", "/api/items") === 3 &&
        durations(s, "DELETE", "/api/items") - durations(before, "DELETE", "/api/items") === 1 &&
        durations(s, "GET", "other") - durations(before, "GET", "other") === 4 &&
        durations(s, "PUT", "other") - durations(before, "PUT", "other") === 1,
      "one duration sample per request",
    );
  });

  test("a client that resets right after its request is still counted exactly once", async () => {
    const before = await envoy.settle();
    const n = 5;
    for (let i = 0; i < n; i++) {
      const sock = await openSocket(port);
      sock.write("GET /api/reset-early HTTP/1.1\r\nHost: sitio.test\r\n\r\n");
      sock.resetAndDestroy();
    }
    // no response reached it: counted under other (no evidence for the path), status unknown or whatever Envoy answered
    const total = (s: Sample[]) => Object.values(delta(s, before, "other")).reduce((a, b) => a + b, 0);
    await envoy.waitForSteadyStats((s) => total(s) === n, `${n} reset requests counted`);
    await envoy.waitForSteadyStats((s) => durations(s, "GET", "other") - durations(before, "GET", "other") === n, `${n} duration samples`);
  });

  test("a request Envoy refuses (400, before any filter sees it) is counted once, as other/other", async () => {
    const before = await envoy.settle();
    const ex = await rawExchange(port, ["GET /refused HTTP/1.1\r\nHost: sitio.test\r\nBad Header: x\r\n\r\n"]);
    expect(parseRaw(ex.received.toString("latin1")).status).toBe(400);
    await envoy.waitForSteadyStats((s) => requests(s, "other", "other", "400") - requests(before, "other", "other", "400") === 1, "one refused request");
  });
});

describe("HTTP filter: custom 404 page", () => {
  for (const [what, path, endpoint] of [
    ["upstream 404", "/api/missing", "other"],
    ["route not found (Envoy's own 404)", "/nowhere?x=1", "other"],
  ]) {
    test(`${what}: GET gets the page with its Content-Length and Content-Type`, async () => {
      const before = await envoy.settle();
      const r = parseRaw(await raw("GET", path));
      expect(r.status).toBe(404);
      expect(r.body).toBe(PAGE);
      expect(r.headers["content-length"]).toBe(String(Buffer.byteLength(PAGE)));
      expect(r.headers["content-type"]).toBe(PAGE_TYPE);
      expect(r.headers["transfer-encoding"]).toBeUndefined();
      await envoy.waitForSteadyStats(
        (s) => custom404(s) - custom404(before) === 1 && requests(s, "GET", endpoint, "404") - requests(before, "GET", endpoint, "404") === 1,
        "one custom 404, one request",
      );
    });

    test(`${what}: HEAD gets the page's headers and no body`, async () => {
      const before = await envoy.settle();
      const r = parseRaw(await raw("HEAD", path));
      expect(r.status).toBe(404);
      expect(r.body).toBe("");
      expect(r.headers["content-length"]).toBe(String(Buffer.byteLength(PAGE)));
      expect(r.headers["content-type"]).toBe(PAGE_TYPE);
      await envoy.waitForSteadyStats(
        (s) => custom404(s) - custom404(before) === 1 && requests(s, "HEAD", endpoint, "404") - requests(before, "HEAD", endpoint, "404") === 1,
        "one custom 404, one request",
      );
    });
  }

  test("200 responses are untouched, also right after a custom 404 on the same connection", async () => {
    const before = await envoy.settle();
    const [first, second, third, fourth] = await oneConnection(["/nowhere", "/", "/api/missing", "/"]);
    expect([first.status, first.body]).toEqual([404, PAGE]);
    expect([third.status, third.body]).toEqual([404, PAGE]);
    for (const ok of [second, fourth]) {
      expect(ok.status).toBe(200);
      expect(ok.body).toBe("example body\n");
      expect(ok.headers["content-length"]).toBe("13");
      expect(ok.headers["content-type"]).toBe("text/plain");
    }
    await envoy.waitForSteadyStats((s) => custom404(s) - custom404(before) === 2, "two custom 404s");
  });
});
