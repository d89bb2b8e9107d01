// gRPC calls through the HTTP filter, in the project's own proxy-wasm host:
// which requests are gRPC, where the grpc-status is read (trailers, or the
// headers of a trailers-only response), the grpc_code label, the outcome of
// a stream without a status, admission and the cap, and the custom 404 page
// never reaching a gRPC client. tests/envoy/grpc.test.ts does the same with a
// real client and server in Envoy.

import { describe, expect, test } from "vitest";
import { ProxyWasmHost, ResponseFlag, SharedData, type HttpExchange } from "../harness/proxy_wasm_host.js";

const GRPC = "sitio_grpc_requests_total";
const GRPC_DURATION = "sitio_grpc_request_duration_microsecond";
const HTTP = "sitio_http_requests_total";
const key = (endpoint: string, code: string) => `${GRPC};endpoint=${endpoint};grpc_code=${code};plugin=p`;
const METHOD = "/sitio.example.Example/Unary";
const CODE_NAMES = [
  "OK",
  "CANCELLED",
  "UNKNOWN",
  "INVALID_ARGUMENT",
  "DEADLINE_EXCEEDED",
  "NOT_FOUND",
  "ALREADY_EXISTS",
  "PERMISSION_DENIED",
  "RESOURCE_EXHAUSTED",
  "FAILED_PRECONDITION",
  "ABORTED",
  "OUT_OF_RANGE",
  "UNIMPLEMENTED",
  "INTERNAL",
  "UNAVAILABLE",
  "DATA_LOSS",
  "UNAUTHENTICATED",
];

function setup(configuration = "", sharedData?: SharedData) {
  const host = new ProxyWasmHost({ sharedData });
  const root = host.createRoot("sitio_http", "p", configuration);
  return { host, root };
}

const grpcRequest = (path = METHOD, contentType = "application/grpc") => ({ ":method": "POST", ":path": path, "content-type": contentType, te: "trailers" });

interface CallSpec {
  path?: string;
  contentType?: string;
  /** grpc-status in the trailers (after response headers and messages). */
  trailers?: string;
  /** grpc-status in the only response headers (trailers-only). */
  trailersOnly?: string;
  /** The response never started (no response headers at all). */
  noResponse?: boolean;
  codeDetails?: string;
  flags?: bigint;
  micros?: number;
  /** Called before the stream ends, to look at what the module did. */
  inspect?: (x: HttpExchange) => void;
}

/** One gRPC call through the hooks, in Envoy's order. */
function call(host: ProxyWasmHost, root: number, spec: CallSpec = {}): void {
  const x = host.http(root);
  if (spec.codeDetails !== undefined) x.codeDetails = spec.codeDetails;
  if (spec.flags !== undefined) x.responseFlags = spec.flags;
  expect(x.requestHeaders(grpcRequest(spec.path, spec.contentType), false)).toBe(0);
  host.nowNs += BigInt((spec.micros ?? 1) * 1000);
  if (spec.trailersOnly !== undefined) {
    expect(
      x.responseHeaders({ ":status": "200", "content-type": "application/grpc", "grpc-status": spec.trailersOnly, "grpc-message": "m" }, true).local,
    ).toBeNull();
  } else if (!spec.noResponse) {
    expect(x.responseHeaders({ ":status": "200", "content-type": "application/grpc" }, false).local).toBeNull();
    if (spec.trailers !== undefined) expect(x.responseTrailers({ "grpc-status": spec.trailers, "grpc-message": "" })).toBe(0);
  }
  spec.inspect?.(x);
  x.end();
}

/** Every grpc_code label of the sitio_grpc_requests_total series of `endpoint`, with its count. */
function codes(host: ProxyWasmHost, endpoint: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of host.metrics.values()) {
    const g = new RegExp(`^${GRPC};endpoint=([^;]*);grpc_code=([^;]*);plugin=p$`).exec(m.name);
    if (g && g[1] === endpoint && m.value > 0) out[g[2]] = m.value;
  }
  return out;
}

describe("wasm host: gRPC calls", () => {
  test("a call is counted once, in sitio_grpc_* and not sitio_http_*, with the grpc-status of its trailers and its duration in µs", () => {
    const { host, root } = setup();
    call(host, root, { trailers: "0", micros: 2500 });
    expect(host.value(key(METHOD, "OK"))).toBe(1);
    expect(host.sum(GRPC)).toBe(1);
    expect(host.sum(HTTP)).toBe(0);
    expect(host.metrics.get(`${GRPC_DURATION};endpoint=${METHOD};plugin=p`)?.samples).toEqual([2500]);
    expect([...host.metrics.keys()].filter((k) => k.startsWith("sitio_http_request_duration"))).toEqual([]);
    expect(host.traps).toBe(0);
  });

  test("nothing is counted before the stream ends: the trailers only note the status", () => {
    const { host, root } = setup();
    call(host, root, {
      trailers: "5",
      inspect: () => expect(host.sum(GRPC)).toBe(0),
    });
    expect(host.value(key(METHOD, "NOT_FOUND"))).toBe(1);
  });

  test("the status is noted when the trailers (or trailers-only headers) arrive, not only read back in the log phase", () => {
    const { host, root } = setup();
    const noMapsInLog = (x: HttpExchange) => (x.responseMapsInLog = false);
    call(host, root, { trailers: "0", inspect: noMapsInLog });
    call(host, root, { trailersOnly: "9", inspect: noMapsInLog });
    call(host, root, { trailers: "0", inspect: noMapsInLog, path: "/never.Admitted/Before" });
    expect(codes(host, METHOD)).toEqual({ OK: 1, FAILED_PRECONDITION: 1 });
    expect(codes(host, "/never.Admitted/Before")).toEqual({ OK: 1 });
  });

  test("a trailers-only response carries its grpc-status in the response headers", () => {
    const { host, root } = setup();
    call(host, root, { trailersOnly: "7" });
    expect(codes(host, METHOD)).toEqual({ PERMISSION_DENIED: 1 });
  });

  test("grpc_code: the canonical name of 0–16; any other number, or a status that is no number, is other", () => {
    const { host, root } = setup();
    for (let code = 0; code <= 16; code++) call(host, root, { trailers: String(code) });
    // trailers-only and trailers alike; leading zeros are the same number
    for (const bad of ["17", "99", "4294967296", "1234567890", "-1", "+1", " 1", "1 ", "OK", "0x1", "١"]) call(host, root, { trailers: bad });
    call(host, root, { trailersOnly: "003" });
    const want: Record<string, number> = { ...Object.fromEntries(CODE_NAMES.map((n) => [n, 1])), INVALID_ARGUMENT: 2, other: 11 };
    expect(codes(host, METHOD)).toEqual(want);
    expect(host.sum(GRPC)).toBe(17 + 11 + 1);
    expect(host.traps).toBe(0);
  });

  test("a stream that ended without a grpc-status: CANCELLED when the client reset it or went away, DEADLINE_EXCEEDED when Envoy ended it at the deadline, else unknown", () => {
    const { host, root } = setup();
    call(host, root, { trailers: "0" }); // admits METHOD
    call(host, root, { noResponse: true, codeDetails: "http2.remote_reset", flags: ResponseFlag.DownstreamRemoteReset });
    call(host, root, { codeDetails: "http2.remote_reset", flags: ResponseFlag.DownstreamRemoteReset }); // after the response headers
    call(host, root, { noResponse: true, codeDetails: "downstream_remote_disconnect", flags: ResponseFlag.DownstreamConnectionTermination });
    call(host, root, { codeDetails: "max_duration_timeout" }); // Envoy reset a started response at the deadline
    call(host, root, { noResponse: true, codeDetails: "upstream_reset_before_response_started{remote_reset}" });
    call(host, root, {}); // headers, then the upstream ended without trailers
    expect(codes(host, METHOD)).toEqual({ OK: 1, CANCELLED: 3, DEADLINE_EXCEEDED: 1, unknown: 2 });
  });

  test("a grpc-status wins over the way the stream ended (a reset after the trailers is still the status)", () => {
    const { host, root } = setup();
    call(host, root, { trailers: "0" });
    call(host, root, { trailers: "14", flags: ResponseFlag.DownstreamRemoteReset });
    call(host, root, { trailersOnly: "4", codeDetails: "max_duration_timeout" }); // Envoy's own trailers-only DEADLINE_EXCEEDED
    expect(codes(host, METHOD)).toEqual({ OK: 1, UNAVAILABLE: 1, DEADLINE_EXCEEDED: 1 });
  });

  test("admission: a grpc-status from the upstream other than UNIMPLEMENTED; Envoy's own replies and resets are no evidence", () => {
    const { host, root } = setup(JSON.stringify({ endpoints: { max_distinct: 10 } }));
    for (let i = 0; i < 200; i++) call(host, root, { path: `/junk.Svc/M${i}`, trailersOnly: "12" });
    call(host, root, { path: "/a.Svc/Local", trailersOnly: "14", codeDetails: "no_healthy_upstream" });
    call(host, root, { path: "/a.Svc/Deadline", trailersOnly: "4", codeDetails: "max_duration_timeout" });
    call(host, root, { path: "/a.Svc/Reset", noResponse: true, codeDetails: "http2.remote_reset", flags: ResponseFlag.DownstreamRemoteReset });
    call(host, root, { path: "/a.Svc/NoStatus" });
    call(host, root, { path: "/a.Svc/Bad", trailers: "99" });
    expect(codes(host, "other")).toEqual({ UNIMPLEMENTED: 200, UNAVAILABLE: 1, DEADLINE_EXCEEDED: 1, CANCELLED: 1, unknown: 1, other: 1 });
    // an error status from the server is evidence: the method exists
    call(host, root, { path: "/a.Svc/Fails", trailers: "13" });
    call(host, root, { path: "/a.Svc/Fails", trailersOnly: "12" });
    call(host, root, { path: "/a.Svc/Fails", noResponse: true, flags: ResponseFlag.DownstreamRemoteReset });
    expect(codes(host, "/a.Svc/Fails")).toEqual({ INTERNAL: 1, UNIMPLEMENTED: 1, CANCELLED: 1 });
    expect(host.sum(GRPC)).toBe(208);
  });

  test("the endpoint is :path through the endpoint label policy (query dropped, escaping, collapse)", () => {
    const { host, root } = setup(JSON.stringify({ endpoints: { collapse: ["numbers"] } }));
    call(host, root, { path: "/pkg.Svc/Get?x=1", trailers: "0" });
    call(host, root, { path: "/pkg;x.Svc/Get", trailers: "0" });
    call(host, root, { path: "/tenant/42/pkg.Svc/Get", trailers: "0" });
    call(host, root, { path: "/pkg.Svc/other.", trailers: "0" });
    expect(codes(host, "/pkg.Svc/Get")).toEqual({ OK: 1 });
    expect(codes(host, "/pkg%3Bx.Svc/Get")).toEqual({ OK: 1 });
    expect(codes(host, "/tenant/{id}/pkg.Svc/Get")).toEqual({ OK: 1 });
    expect(codes(host, "/pkg.Svc/other%2E")).toEqual({ OK: 1 });
  });

  test("the cap: gRPC methods and HTTP paths each have endpoints.max_distinct slots, in tables of their own", () => {
    const { host, root } = setup(JSON.stringify({ endpoints: { max_distinct: 2 } }));
    for (const m of ["/s.S/A", "/s.S/B", "/s.S/C"]) call(host, root, { path: m, trailers: "0" });
    expect(codes(host, "/s.S/A")).toEqual({ OK: 1 });
    expect(codes(host, "/s.S/B")).toEqual({ OK: 1 });
    expect(codes(host, "other")).toEqual({ OK: 1 });
    for (const path of ["/h1", "/h2", "/h3", "/s.S/A"]) {
      const x = host.http(root);
      x.requestHeaders({ ":method": "GET", ":path": path });
      x.responseHeaders({ ":status": "200" });
      x.end();
    }
    expect(host.value(`${HTTP};method=GET;endpoint=/h1;status=200;plugin=p`)).toBe(1);
    expect(host.value(`${HTTP};method=GET;endpoint=/h2;status=200;plugin=p`)).toBe(1);
    expect(host.value(`${HTTP};method=GET;endpoint=other;status=200;plugin=p`)).toBe(2);
  });

  test("admissions are shared by every worker's VM, apart from the HTTP table", () => {
    const shared = new SharedData();
    const a = setup("", shared);
    const b = setup("", shared);
    call(a.host, a.root, { path: "/s.S/A", trailers: "0" });
    // worker b: the method is admitted already, so even UNIMPLEMENTED counts under it
    call(b.host, b.root, { path: "/s.S/A", trailersOnly: "12" });
    expect(codes(b.host, "/s.S/A")).toEqual({ UNIMPLEMENTED: 1 });
    expect(
      shared
        .keys()
        .filter((k) => k.includes("/grpc/"))
        .sort(),
    ).toEqual(["sitio/sitio_http/p/grpc/e//s.S/A", "sitio/sitio_http/p/grpc/n"]);
    // an HTTP request to the same path has no series yet (a 404 is no evidence)
    const x = b.host.http(b.root);
    x.requestHeaders({ ":method": "POST", ":path": "/s.S/A" });
    x.responseHeaders({ ":status": "404" });
    x.end();
    expect(b.host.value(`${HTTP};method=POST;endpoint=other;status=404;plugin=p`)).toBe(1);
  });

  test("which requests are gRPC: content-type application/grpc, alone or followed by + or ; (grpc-web and look-alikes are HTTP)", () => {
    const { host, root } = setup();
    const grpc = ["application/grpc", "application/grpc+proto", "application/grpc+json", "application/grpc;charset=utf-8"];
    const http = [
      "application/grpc-web",
      "application/grpc-web+proto",
      "application/grpc-web-text",
      "application/grpcx",
      "application/grp",
      "Application/grpc",
      "text/plain",
      "",
    ];
    for (const contentType of [...grpc, ...http]) call(host, root, { contentType, trailers: "0" });
    expect(host.value(key(METHOD, "OK"))).toBe(grpc.length);
    expect(host.value(`${HTTP};method=POST;endpoint=${METHOD};status=200;plugin=p`)).toBe(http.length);
    expect(host.sum(GRPC) + host.sum(HTTP)).toBe(grpc.length + http.length);
  });

  test("a gRPC call never gets the custom 404 page, whatever its HTTP status", () => {
    const { host, root } = setup(JSON.stringify({ custom_404: { enabled: true, body: "<p>gone</p>", content_type: "text/html" } }));
    const x = host.http(root);
    x.requestHeaders(grpcRequest(), false);
    const r = x.responseHeaders({ ":status": "404", "content-type": "text/plain" }, true);
    expect(r.local).toBeNull();
    expect(r.status).toBe(0);
    x.end();
    const y = host.http(root);
    y.requestHeaders(grpcRequest(), false);
    expect(y.responseHeaders({ ":status": "200", "content-type": "application/grpc", "grpc-status": "12" }, true).local).toBeNull();
    y.end();
    expect(host.value("sitio_http_custom_404_total;plugin=p")).toBe(0);
    expect(codes(host, "other")).toEqual({ unknown: 1, UNIMPLEMENTED: 1 });
  });

  test("trailers on an HTTP (non-gRPC) response change nothing", () => {
    const { host, root } = setup();
    const x = host.http(root);
    x.requestHeaders({ ":method": "GET", ":path": "/t" }, true);
    x.responseHeaders({ ":status": "200" }, false);
    expect(x.responseTrailers({ "grpc-status": "3" })).toBe(0);
    x.end();
    expect(host.value(`${HTTP};method=GET;endpoint=/t;status=200;plugin=p`)).toBe(1);
    expect(host.sum(GRPC)).toBe(0);
  });

  test("a gRPC request Envoy answered before any hook ran is counted from the log phase's headers", () => {
    const { host, root } = setup();
    const x = host.http(root);
    x.codeDetails = "missing_host_header";
    x.requestHeadersLogOnly(grpcRequest());
    x.end();
    expect(codes(host, "other")).toEqual({ unknown: 1 });
    expect(host.metrics.get(`${GRPC_DURATION};endpoint=other;plugin=p`)?.samples).toEqual([0]);
    expect(host.sum(HTTP)).toBe(0);
  });
});
