// The label policy (assembly/labels/label_values.ts, endpoints.ts) held to one
// table: each row's label, written out by hand, must be what the module
// publishes (through the L7 filter, which hands sitio any bytes Envoy accepts
// in :path, and the L4 filter for what its decoder lets through) and what the
// tests' TypeScript mirror (tests/harness/labels.ts) predicts; and every label
// that is not a word of sitio's own decodes back to the client's bytes.

import { describe, expect, test } from "vitest";
import { ProxyWasmHost } from "../harness/proxy_wasm_host.js";
import { endpointLabel, escapeLabel, methodLabel, unescapeLabel } from "../harness/labels.js";

/** :path (bytes as code units) → endpoint label. */
const ENDPOINTS: [string, string][] = [
  ["/", "/"],
  ["/a/b?x=1#f", "/a/b"],
  ["/tr.", "/tr%2E"],
  ["/..", "/.%2E"],
  ["/a.b", "/a.b"],
  ["/semi;colon", "/semi%3Bcolon"],
  ["/x;status=500;plugin=evil", "/x%3Bstatus=500%3Bplugin=evil"],
  ["/pct%20", "/pct%2520"],
  ["/{id}", "/%7Bid%7D"],
  ['/q"uote', "/q%22uote"],
  ["/back\\slash", "/back%5Cslash"],
  ["/sp ace", "/sp%20ace"],
  ["/tab\there", "/tab%09here"],
  ["/caf\u00c3\u00a9", "/caf%C3%A9"],
  ["/\u00ff\u0080", "/%FF%80"],
  ["/del\u007f", "/del%7F"],
  ["other", "%6Fther"],
  ["none", "%6Eone"],
  ["unknown", "%75nknown"],
  ["-", "%2D"],
  ["*", "*"],
  ["host:443", "host:443"],
  ["http://h.example/abs/x?y", "/abs/x"],
  ["http://h.example", "/"],
  ["/" + "a".repeat(255), "/" + "a".repeat(255)],
  ["/" + "a".repeat(256), "other"],
  ["/" + '"'.repeat(85), "/" + "%22".repeat(85)],
  ["/" + '"'.repeat(86), "other"],
];

const METHODS: [string, string][] = [
  ["GET", "GET"],
  ["PATCH", "PATCH"],
  ["get", "other"],
  ["PROPFIND", "other"],
  ["other", "other"],
];

/** L7 :status → label. */
const STATUSES: [string, string][] = [
  ["200", "200"],
  ["404", "404"],
  ["418", "418"],
  ["419", "4xx"],
  ["599", "5xx"],
  ["600", "unknown"],
  ["99", "unknown"],
  ["20x", "unknown"],
  ["", "unknown"],
];

/** The labels of every sitio_http_requests_total series of plugin `h`, with their counts. */
function l7Series(host: ProxyWasmHost): { method: string; endpoint: string; status: string; n: number }[] {
  const out = [];
  for (const m of host.metrics.values()) {
    const r = /^sitio_http_requests_total;method=([^;]*);endpoint=([^;]*);status=([^;]*);plugin=h$/.exec(m.name);
    if (r && m.value > 0) out.push({ method: r[1], endpoint: r[2], status: r[3], n: m.value });
  }
  return out;
}

function l7(requests: { path: string; method?: string; status?: string }[]): ProxyWasmHost {
  const host = new ProxyWasmHost();
  const root = host.createRoot("sitio_http", "h", JSON.stringify({ endpoints: { max_distinct: 1000 } }));
  for (const r of requests) {
    const x = host.http(root);
    x.requestHeaders({ ":method": r.method ?? "GET", ":path": r.path, ":authority": "h" });
    x.responseHeaders({ ":status": r.status ?? "200" });
    x.end();
  }
  return host;
}

describe("the label policy, one table", () => {
  test.each(ENDPOINTS.map(([path, label]) => [JSON.stringify(path.length > 40 ? path.slice(0, 40) + "…" : path), path, label]))(
    "endpoint %s",
    (_shown, path, label) => {
      expect(endpointLabel(path)).toBe(label);
      const got = l7Series(l7([{ path }]));
      expect(got.map((s) => s.endpoint)).toEqual([label]);
      // escaping round-trips: the label decodes back to the path sitio labels
      if (label !== "other" && !path.includes("?") && !path.startsWith("http")) expect(unescapeLabel(label)).toBe(path);
    },
  );

  test("distinct paths never share a label (all rows, one plugin)", () => {
    const rows = ENDPOINTS.filter(([, label]) => label !== "other");
    const got = l7Series(l7(rows.map(([path]) => ({ path }))));
    const byLabel = new Map(got.map((s) => [s.endpoint, s.n]));
    const distinctPaths = new Map<string, Set<string>>();
    for (const [path, label] of rows) {
      const key = path.replace(/[?#].*$/, "").replace(/^http:\/\/[^/]*/, "") || "/";
      if (!distinctPaths.has(label)) distinctPaths.set(label, new Set());
      distinctPaths.get(label)!.add(key);
    }
    for (const [label, paths] of distinctPaths) {
      expect(paths.size, label).toBe(1);
      expect(byLabel.get(label), label).toBe([...rows].filter(([, l]) => l === label).length);
    }
  });

  test.each(METHODS)("method %s → %s", (method, label) => {
    expect(methodLabel(method)).toBe(label);
    expect(l7Series(l7([{ path: "/", method }])).map((s) => s.method)).toEqual([label]);
  });

  test.each(STATUSES)("L7 status %j → %s", (status, label) => {
    const got = l7Series(l7([{ path: "/", status }]));
    expect(got.map((s) => s.status)).toEqual([label]);
  });

  test("L4: the same escaping for what the HTTP/1.x decoder accepts in a target", () => {
    const host = new ProxyWasmHost();
    const root = host.createRoot("sitio_network", "w", "");
    const targets = ["/tr.", "/..", "/{id}", "/pct%20", "/x;status=500", '/q"uote', "/back\\slash", "http://h.example/abs?x"];
    for (const t of targets) {
      const c = host.connect(root);
      c.downstream(`GET ${t} HTTP/1.1\r\nHost: h\r\n\r\n`);
      c.upstream("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
      c.close();
    }
    for (const t of targets) {
      const label = endpointLabel(t);
      expect(host.value(`sitio_tcp_requests_total;method=GET;endpoint=${label};plugin=w`), `${t} → ${label}`).toBe(1);
    }
    expect(escapeLabel("/tr.")).toBe("/tr%2E");
  });
});
