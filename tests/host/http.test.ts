// The HTTP (L7) filter through the project's own proxy-wasm host: the hooks in
// Envoy's order, with a controlled clock (the Envoy tests check the same in Envoy).

import { describe, expect, test } from "vitest";
import { ProxyWasmHost } from "../harness/proxy_wasm_host.js";

const REQS = "sitio_http_requests_total";
const DURATION = "sitio_http_request_duration_ms";
const key = (method: string, endpoint: string, status: string) => `${REQS};method=${method};endpoint=${endpoint};status=${status};plugin=p`;
const PAGE = "<p>gone</p>";
const CUSTOM_404 = JSON.stringify({ custom_404: { enabled: true, body: PAGE, content_type: "text/html" } });

function setup(configuration = "") {
  const host = new ProxyWasmHost();
  const root = host.createRoot("sitio_http", "p", configuration);
  return { host, root };
}

describe("wasm host: HTTP filter", () => {
  test("a request is counted once, at the end, with its exact status and its duration in ms", () => {
    const { host, root } = setup();
    const x = host.http(root);
    expect(x.requestHeaders({ ":method": "GET", ":path": "/a/b?q=1" })).toBe(0);
    host.nowNs += 7_400_000n;
    expect(x.responseHeaders({ ":status": "201" }).status).toBe(0);
    expect(host.sum(REQS)).toBe(0);
    x.end();
    expect(host.value(key("GET", "/a/b", "201"))).toBe(1);
    expect(host.sum(REQS)).toBe(1);
    expect(host.metrics.get(`${DURATION};method=GET;endpoint=/a/b;plugin=p`)?.samples).toEqual([7]);
    expect(host.traps).toBe(0);
  });

  test("status label: registered codes as themselves, any other code as its class, so an upstream cannot mint series", () => {
    const { host, root } = setup();
    const statuses = ["200", "404", "418", "451", "511", "299", "499", "599", "150", "999", "20x"];
    for (const status of statuses) {
      const x = host.http(root);
      x.requestHeaders({ ":method": "GET", ":path": "/s" });
      x.responseHeaders({ ":status": status });
      x.end();
    }
    const labels = [...host.metrics.keys()].filter((k) => k.startsWith(REQS + ";")).map((k) => /;status=([^;]*)/.exec(k)![1]).sort();
    expect(labels).toEqual(["0", "1xx", "200", "2xx", "404", "418", "451", "4xx", "511", "5xx"]);
    expect(host.value(key("GET", "/s", "0"))).toBe(2);
    expect(host.sum(REQS)).toBe(statuses.length);
  });

  test("a stream reset before any response is counted with status 0", () => {
    const { host, root } = setup();
    const x = host.http(root);
    x.requestHeaders({ ":method": "POST", ":path": "/upload" });
    x.end();
    expect(host.value(key("POST", "/upload", "0"))).toBe(1);
  });

  test("a stream Envoy answered before any request hook is counted from the log phase's headers", () => {
    const { host, root } = setup();
    const x = host.http(root);
    x.responseHeaders({ ":status": "400" });
    x.end();
    expect(host.value(key("other", "other", "400"))).toBe(1);
  });

  test("the endpoint cap sends new endpoints to other; methods outside the standard nine are other", () => {
    const { host, root } = setup();
    for (let i = 0; i < 150; i++) {
      const x = host.http(root);
      x.requestHeaders({ ":method": i === 0 ? "BREW" : "GET", ":path": `/e${i}` });
      x.responseHeaders({ ":status": "200" });
      x.end();
    }
    expect(host.value(key("other", "/e0", "200"))).toBe(1);
    expect(host.value(key("GET", "other", "200"))).toBe(50);
    expect(host.sum(REQS)).toBe(150);
  });

  test("without custom_404 in the config, 404s pass through", () => {
    const { host, root } = setup();
    const x = host.http(root);
    x.requestHeaders({ ":method": "GET", ":path": "/x" });
    expect(x.responseHeaders({ ":status": "404" }).local).toBeNull();
    x.end();
    expect(host.value("sitio_http_custom_404_total;plugin=p")).toBe(0);
    expect(host.value(key("GET", "/x", "404"))).toBe(1);
  });

  test("with custom_404, a 404 is answered again with the page and its content type; other statuses are not", () => {
    const { host, root } = setup(CUSTOM_404);
    const x = host.http(root);
    x.requestHeaders({ ":method": "GET", ":path": "/missing" });
    const r = x.responseHeaders({ ":status": "404", "content-length": "0" });
    expect(r.status).toBe(1); // StopIteration: Envoy sends the local reply instead
    expect(r.local?.status).toBe(404);
    expect(r.local?.body.toString()).toBe(PAGE);
    expect(r.local?.headers).toEqual([["content-type", "text/html"]]);
    x.end();
    const ok = host.http(root);
    ok.requestHeaders({ ":method": "GET", ":path": "/" });
    expect(ok.responseHeaders({ ":status": "200" }).local).toBeNull();
    ok.end();
    expect(host.value("sitio_http_custom_404_total;plugin=p")).toBe(1);
    expect(host.value(key("GET", "/missing", "404"))).toBe(1);
    expect(host.value(key("GET", "/", "200"))).toBe(1);
    expect(host.traps).toBe(0);
  });
});
