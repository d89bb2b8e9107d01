// Envoy's own 404s at L7 that sitio_http never sees: `OPTIONS * HTTP/1.1` is
// answered by the HTTP connection manager (404, absolute_path_rejected) before
// any HTTP filter exists. The shipped local_reply_config gives such a 404 the
// page of sitio_http's custom_404; sitio's own 404 pages (response_code_details
// sitio_custom_404) are left as sitio made them, other local replies keep
// Envoy's bodies, and each request is counted once.

import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { SHIPPED_CONFIG, startEnvoy } from "../harness/envoy.js";
import { withPluginConfiguration } from "../harness/config_text.js";
import { series, type Sample } from "../harness/prometheus.js";
import { countResponses, rawExchange } from "../harness/traffic.js";
import { useEnvoy } from "../harness/use_envoy.js";

/** sitio_http's page as shipped (the same text is in the local_reply_config mapper). */
const PAGE = "<h1>404: nothing here</h1>\n";
const TYPE = "text/html; charset=utf-8";
const PLUGIN = "sitio_http";

interface Answer {
  status: number;
  contentType: string | undefined;
  body: string;
}

/** Sends raw request bytes on a connection of their own; the first response, parsed. */
async function ask(port: number, request: string): Promise<Answer> {
  const ex = await rawExchange(port, [request], { until: (b) => countResponses(b) >= 1 && complete(b), idleMs: 2000 });
  const text = ex.received.toString("latin1");
  const end = text.indexOf("\r\n\r\n");
  const head = text.slice(0, end);
  const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
  return {
    status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0),
    contentType: /\r\ncontent-type: *([^\r]*)/i.exec(head)?.[1],
    body: text.slice(end + 4, end + 4 + length),
  };
}
function complete(b: Buffer): boolean {
  const text = b.toString("latin1");
  const end = text.indexOf("\r\n\r\n");
  if (end < 0) return false;
  const length = Number(/\r\ncontent-length: *(\d+)/i.exec(text.slice(0, end))?.[1] ?? 0);
  return text.length >= end + 4 + length;
}

const requests = (s: Sample[], labels: Record<string, string>) =>
  series(s, "sitio_http_requests_total", { plugin: PLUGIN, ...labels }).reduce((a, x) => a + x.value, 0);
const custom404 = (s: Sample[]) => series(s, "sitio_http_custom_404_total", { plugin: PLUGIN })[0]?.value ?? 0;

describe("the shipped config", () => {
  const envoy = useEnvoy({ name: "local-reply" });

  test("OPTIONS * gets the custom page with its content type, and is counted once (not as a page sitio sent)", async () => {
    const before = await envoy.scrape(); // (request counters are published at once)
    const a = await ask(envoy.port(18080), "OPTIONS * HTTP/1.1\r\nHost: sitio.test\r\n\r\n");
    expect(a).toEqual({ status: 404, contentType: TYPE, body: PAGE });
    const after = await envoy.waitForStats((s) => requests(s, {}) === requests(before, {}) + 1, "the OPTIONS * request counted");
    expect(
      requests(after, { method: "OPTIONS", endpoint: "other", status: "404" }) - requests(before, { method: "OPTIONS", endpoint: "other", status: "404" }),
    ).toBe(1);
    expect(custom404(after)).toBe(custom404(before));
  });

  test("OPTIONS * with a body, another Host, Connection: close or Max-Forwards gets it too, each counted once", async () => {
    const port = envoy.port(18080);
    const before = await envoy.scrape(); // (request counters are published at once)
    const variants = [
      "OPTIONS * HTTP/1.1\r\nHost: sitio.test\r\nContent-Length: 5\r\n\r\nhello",
      "OPTIONS * HTTP/1.1\r\nHost: other.test\r\nConnection: close\r\n\r\n",
      "OPTIONS * HTTP/1.1\r\nHost: sitio.test\r\nMax-Forwards: 0\r\n\r\n",
    ];
    for (const v of variants) expect(await ask(port, v)).toEqual({ status: 404, contentType: TYPE, body: PAGE });
    const after = await envoy.waitForStats((s) => requests(s, {}) === requests(before, {}) + variants.length, "the variants counted");
    expect(
      requests(after, { method: "OPTIONS", endpoint: "other", status: "404" }) - requests(before, { method: "OPTIONS", endpoint: "other", status: "404" }),
    ).toBe(variants.length);
  });

  test("sitio's own 404 pages (no route; the service's 404) are sitio's, each counted once as a page sitio sent", async () => {
    const port = envoy.port(18080);
    const before = await envoy.scrape(); // (request counters are published at once)
    for (const path of ["/no-route", "/api/missing"])
      expect(await ask(port, `GET ${path} HTTP/1.1\r\nHost: sitio.test\r\n\r\n`)).toEqual({ status: 404, contentType: TYPE, body: PAGE });
    const after = await envoy.waitForStats((s) => requests(s, {}) === requests(before, {}) + 2, "the two requests counted");
    expect(custom404(after) - custom404(before)).toBe(2);
  });

  test("other local replies keep Envoy's own bodies: 400 (no Host), 426 (HTTP/1.0), 501 (Transfer-Encoding: gzip)", async () => {
    const port = envoy.port(18080);
    expect(await ask(port, "GET / HTTP/1.1\r\n\r\n")).toMatchObject({ status: 400, body: "" });
    expect(await ask(port, "GET / HTTP/1.0\r\nHost: sitio.test\r\n\r\n")).toMatchObject({ status: 426, body: "Upgrade Required" });
    expect(await ask(port, "POST / HTTP/1.1\r\nHost: sitio.test\r\nTransfer-Encoding: gzip\r\n\r\n")).toMatchObject({ status: 501, body: "Not Implemented" });
  });
});

test("with the two copies of the page made different, sitio's own 404s keep sitio's page: the mapper only answers for Envoy", async () => {
  const shipped = readFileSync(SHIPPED_CONFIG, "utf8");
  const sitioPage = "<p>sitio's page</p>\n";
  const text = withPluginConfiguration(shipped, PLUGIN, JSON.stringify({ custom_404: { body: sitioPage, content_type: "text/plain; charset=utf-8" } }));
  const envoy = await startEnvoy({ name: "local-reply-apart", configText: text });
  try {
    const port = envoy.port(18080);
    expect(await ask(port, "GET /no-route HTTP/1.1\r\nHost: sitio.test\r\n\r\n")).toEqual({
      status: 404,
      contentType: "text/plain; charset=utf-8",
      body: sitioPage,
    });
    expect(await ask(port, "GET /api/missing HTTP/1.1\r\nHost: sitio.test\r\n\r\n")).toEqual({
      status: 404,
      contentType: "text/plain; charset=utf-8",
      body: sitioPage,
    });
    expect(await ask(port, "OPTIONS * HTTP/1.1\r\nHost: sitio.test\r\n\r\n")).toEqual({ status: 404, contentType: TYPE, body: PAGE });
  } finally {
    await envoy.stop();
  }
});
