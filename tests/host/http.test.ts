// The HTTP (L7) filter through the project's own proxy-wasm host: the hooks in
// Envoy's order, with a controlled clock (the Envoy tests check the same in Envoy).

import { describe, expect, test } from "vitest";
import { ProxyWasmHost } from "../harness/proxy_wasm_host.js";

const REQS = "sitio_http_requests_total";
const DURATION = "sitio_http_request_duration_microsecond";
const key = (method: string, endpoint: string, status: string) => `${REQS};method=${method};endpoint=${endpoint};status=${status};plugin=p`;
const PAGE = "<p>gone</p>";
const CUSTOM_404 = JSON.stringify({ custom_404: { enabled: true, body: PAGE, content_type: "text/html" } });

function setup(configuration = "") {
  const host = new ProxyWasmHost();
  const root = host.createRoot("sitio_http", "p", configuration);
  return { host, root };
}

describe("wasm host: HTTP filter", () => {
  test("a request is counted once, at the end, with its exact status and its duration in µs", () => {
    const { host, root } = setup();
    const x = host.http(root);
    expect(x.requestHeaders({ ":method": "GET", ":path": "/a/b?q=1" })).toBe(0);
    host.nowNs += 7_400_000n;
    expect(x.responseHeaders({ ":status": "201" }).status).toBe(0);
    expect(host.sum(REQS)).toBe(0);
    x.end();
    expect(host.value(key("GET", "/a/b", "201"))).toBe(1);
    expect(host.sum(REQS)).toBe(1);
    expect(host.metrics.get(`${DURATION};method=GET;endpoint=/a/b;plugin=p`)?.samples).toEqual([7400]);
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
    const labels = [...host.metrics.keys()]
      .filter((k) => k.startsWith(REQS + ";"))
      .map((k) => /;status=([^;]*)/.exec(k)![1])
      .sort();
    expect(labels).toEqual(["1xx", "200", "2xx", "404", "418", "451", "4xx", "511", "5xx", "unknown"]);
    expect(host.value(key("GET", "/s", "unknown"))).toBe(2);
    expect(host.sum(REQS)).toBe(statuses.length);
  });

  test("a stream reset before any response is counted with status unknown (and no response lets its path in)", () => {
    const { host, root } = setup();
    const x = host.http(root);
    x.requestHeaders({ ":method": "POST", ":path": "/upload" });
    x.end();
    expect(host.value(key("POST", "other", "unknown"))).toBe(1);
  });

  test("admission: 1,000 junk paths answered 404 take no slot; a path the upstream answers 200 gets its series, later 404s included", () => {
    const { host, root } = setup(JSON.stringify({ endpoints: { max_distinct: 5 } }));
    const one = (path: string, status: string, codeDetails = "via_upstream") => {
      const x = host.http(root);
      x.codeDetails = codeDetails;
      x.requestHeaders({ ":method": "GET", ":path": path });
      x.responseHeaders({ ":status": status });
      x.end();
    };
    for (let i = 0; i < 1000; i++) one(`/junk-${i}`, "404");
    one("/", "200");
    one("/", "404");
    // Envoy's own local reply is no evidence: route_not_found, no_healthy_upstream…
    one("/local", "503", "no_healthy_upstream");
    one("/boom", "503");
    expect(host.value(key("GET", "other", "404"))).toBe(1000);
    expect(host.value(key("GET", "/", "200"))).toBe(1);
    expect(host.value(key("GET", "/", "404"))).toBe(1);
    expect(host.value(key("GET", "other", "503"))).toBe(1);
    expect(host.value(key("GET", "/boom", "503"))).toBe(1);
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
    expect(host.value(key("GET", "other", "404"))).toBe(1);
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
    expect(host.value(key("GET", "other", "404"))).toBe(1);
    expect(host.value(key("GET", "/", "200"))).toBe(1);
    expect(host.traps).toBe(0);
  });
});
