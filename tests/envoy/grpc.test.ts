// gRPC and HTTP/2 through the HTTP (L7) filter in the real Envoy, on the
// shipped envoy.yaml (listener :18080): a real gRPC client and server
// (@grpc/grpc-js, envoy/grpc/example.proto) behind the shipped route to
// grpc_service. Each call is one request in sitio_grpc_requests_total,
// labelled with its grpc-status (trailers, or the headers of a trailers-only
// response); deadlines are Envoy's DEADLINE_EXCEEDED, client cancels are
// CANCELLED; nothing of it reaches sitio_http_*. Plain HTTP/2 (h2c, prior
// knowledge) requests count in sitio_http_* exactly like HTTP/1 ones.

import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as http2 from "node:http2";
import { ROOT, SHIPPED_CONFIG, sleep, startEnvoy } from "../harness/envoy.js";
import { ExampleClient, grpc, type Outcome } from "../harness/grpc_client.js";
import { EXAMPLE_SERVICE, startGrpcServer, type GrpcServer } from "../harness/grpc_server.js";
import { series, value, type Sample } from "../harness/prometheus.js";
import { httpRequest } from "../harness/traffic.js";
import { useEnvoy } from "../harness/use_envoy.js";

const PLUGIN = "sitio_http";
const UNARY = `/${EXAMPLE_SERVICE}/Unary`;
const STREAM = `/${EXAMPLE_SERVICE}/Stream`;
/** The custom page configured for sitio_http in envoy/envoy.yaml. */
const PAGE = "<h1>404: nothing here</h1>\n";

let server: GrpcServer | undefined;
// wasm at trace: Envoy logs every callback into the module, so the trailers hook can be seen to run
const envoy = useEnvoy(async () => {
  server = await startGrpcServer({ port: 0 });
  return { name: "grpc", upstreams: { grpc_service: server.port }, logArgs: ["--component-log-level", "wasm:trace"] };
});
afterAll(async () => {
  await server?.close();
});

let client: ExampleClient;
beforeAll(async () => {
  client = new ExampleClient(envoy.port(18080));
  // Both methods admitted (a status from the server), so each test's counts land under them
  // whichever tests run; calls before admission count under `other`.
  expect((await client.unary({})).code).toBe(grpc.status.OK);
  expect((await client.stream({ count: 1 })).code).toBe(grpc.status.OK);
});
afterAll(() => client?.close());

/** Every sitio_grpc_requests_total series, as "endpoint code" → count. */
function grpcCounts(s: Sample[]): Record<string, number> {
  return Object.fromEntries(series(s, "sitio_grpc_requests_total", { plugin: PLUGIN }).map((x) => [`${x.labels.endpoint} ${x.labels.grpc_code}`, x.value]));
}
/** Every series of `name` (plugin sitio_http), by its full label set: after minus before, zeros left out. */
function deltaOf(name: string, after: Sample[], before: Sample[], key: (l: Record<string, string>) => string): Record<string, number> {
  const b = new Map(series(before, name, { plugin: PLUGIN }).map((x) => [key(x.labels), x.value]));
  const out: Record<string, number> = {};
  for (const x of series(after, name, { plugin: PLUGIN })) {
    const d = x.value - (b.get(key(x.labels)) ?? 0);
    if (d !== 0) out[key(x.labels)] = d;
  }
  return out;
}
const grpcDelta = (after: Sample[], before: Sample[]) => deltaOf("sitio_grpc_requests_total", after, before, (l) => `${l.endpoint} ${l.grpc_code}`);
const grpcDurations = (after: Sample[], before: Sample[]) => deltaOf("sitio_grpc_request_duration_microsecond_count", after, before, (l) => l.endpoint);
const httpDelta = (after: Sample[], before: Sample[]) => deltaOf("sitio_http_requests_total", after, before, (l) => `${l.method} ${l.endpoint} ${l.status}`);
const httpDurations = (after: Sample[], before: Sample[]) =>
  deltaOf("sitio_http_request_duration_microsecond_count", after, before, (l) => `${l.method} ${l.endpoint}`);
const same = (a: Record<string, number>, b: Record<string, number>) => JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());
const bucket = (s: Sample[], endpoint: string, le: string) => value(s, "sitio_grpc_request_duration_microsecond_bucket", { endpoint, plugin: PLUGIN, le }) ?? 0;

const code = (o: Outcome) => grpc.status[o.code] ?? String(o.code);

describe("gRPC through the HTTP filter", () => {
  test("mixed calls: each is one request, with its exact outcome and one duration sample; none in sitio_http_*", async () => {
    const before = await envoy.settle();
    const seen: string[] = [];
    const run = async (what: string, o: Promise<Outcome>) => {
      const r = await o;
      seen.push(`${what}: ${code(r)}`);
      return r;
    };
    // A method the server does not have: UNIMPLEMENTED is no evidence, so it never gets a series.
    for (let i = 0; i < 2; i++) expect(code(await run("unknown method", client.unknownMethod()))).toBe("UNIMPLEMENTED");
    // Unary: three successes, then failures: trailers-only by default…
    for (let i = 0; i < 3; i++) expect((await run("unary ok", client.unary({ name: `n${i}` }))).replies).toEqual([{ message: `hello n${i}`, index: 0 }]);
    for (const failWith of [3, 5, 5, 7, 14, 16]) expect((await run(`unary fail ${failWith}`, client.unary({ fail_with: failWith }))).code).toBe(failWith);
    // …or with the status in trailers after the response headers
    expect(code(await run("unary fail 13 after headers", client.unary({ fail_with: 13, headers_first: true })))).toBe("INTERNAL");
    // a status outside 0–16
    expect((await run("unary fail 99", client.unary({ fail_with: 99 }))).code).not.toBe(grpc.status.OK);
    // Server streaming: one request per call, whatever the number of messages
    const stream = await run("stream 3", client.stream({ count: 3 }));
    expect([code(stream), stream.replies.length]).toEqual(["OK", 3]);
    const aborted = await run("stream 2 then ABORTED", client.stream({ count: 2, fail_with: 10 }));
    expect([code(aborted), aborted.replies.length]).toEqual(["ABORTED", 2]);
    // Deadlines: Envoy ends the call 20 ms before the client would (route max_stream_duration).
    // Unary, before any response: Envoy's own trailers-only DEADLINE_EXCEEDED.
    expect(code(await run("unary past its deadline", client.unary({ delay_ms: 3000 }, { deadlineMs: 300 })))).toBe("DEADLINE_EXCEEDED");
    // Streaming, after messages: Envoy resets the stream (the client sees INTERNAL, RST_STREAM code 2),
    // or the server's own deadline timer answers DEADLINE_EXCEEDED in trailers: sitio counts DEADLINE_EXCEEDED either way.
    const late = await run("stream past its deadline", client.stream({ count: 100, delay_ms: 40 }, { deadlineMs: 300 }));
    expect(["INTERNAL", "DEADLINE_EXCEEDED"]).toContain(code(late));
    expect(late.replies.length).toBeGreaterThan(0);
    // Cancels from the client: RST_STREAM, no grpc-status
    expect(code(await run("unary cancelled", client.unary({ delay_ms: 3000 }, { cancelAfterMs: 150 })))).toBe("CANCELLED");
    const cancelled = await run("stream cancelled", client.stream({ count: 100, delay_ms: 40 }, { cancelAfterReplies: 2 }));
    expect([code(cancelled), cancelled.replies.length]).toEqual(["CANCELLED", 2]);

    const expected: Record<string, number> = {
      "other UNIMPLEMENTED": 2,
      [`${UNARY} OK`]: 3,
      [`${UNARY} INVALID_ARGUMENT`]: 1,
      [`${UNARY} NOT_FOUND`]: 2,
      [`${UNARY} PERMISSION_DENIED`]: 1,
      [`${UNARY} UNAVAILABLE`]: 1,
      [`${UNARY} UNAUTHENTICATED`]: 1,
      [`${UNARY} INTERNAL`]: 1,
      [`${UNARY} other`]: 1,
      [`${UNARY} DEADLINE_EXCEEDED`]: 1,
      [`${UNARY} CANCELLED`]: 1,
      [`${STREAM} OK`]: 1,
      [`${STREAM} ABORTED`]: 1,
      [`${STREAM} DEADLINE_EXCEEDED`]: 1,
      [`${STREAM} CANCELLED`]: 1,
    };
    const after = await envoy.waitForSteadyStats((s) => same(grpcDelta(s, before), expected), `exact gRPC counts after: ${seen.join(", ")}`);
    expect(grpcDelta(after, before)).toEqual(expected);
    expect(httpDelta(after, before)).toEqual({});
    expect(value(after, "sitio_http_custom_404_total", { plugin: PLUGIN })).toBe(value(before, "sitio_http_custom_404_total", { plugin: PLUGIN }));
    const durations = { other: 2, [UNARY]: 13, [STREAM]: 4 };
    const withDurations = await envoy.waitForSteadyStats((s) => same(grpcDurations(s, before), durations), "one duration sample per call");
    expect(grpcDurations(withDurations, before)).toEqual(durations);
    // kept for the record (the closing note quotes them)
    mkdirSync(join(ROOT, ".test-logs"), { recursive: true });
    writeFileSync(
      join(ROOT, ".test-logs/grpc-mixed-series.txt"),
      `${seen.join("\n")}\n\n${withDurations
        .filter((x) => x.name === "sitio_grpc_requests_total" || x.name === "sitio_grpc_request_duration_microsecond_count")
        .map((x) => x.line)
        .join("\n")}\n`,
    );
  });

  test("a streaming call is timed from its request headers to the end of the stream", async () => {
    const before = await envoy.settle();
    // four waits of 100 ms: before each of 3 messages and before the end
    const r = await client.stream({ count: 3, delay_ms: 100 });
    expect([code(r), r.replies.length]).toEqual(["OK", 3]);
    const after = await envoy.waitForSteadyStats((s) => grpcDurations(s, before)[STREAM] === 1, "one duration sample");
    expect(grpcDelta(after, before)).toEqual({ [`${STREAM} OK`]: 1 });
    expect(bucket(after, STREAM, "250000") - bucket(before, STREAM, "250000")).toBe(0); // ≥ 400 ms, so above 250 ms
    expect(bucket(after, STREAM, "+Inf") - bucket(before, STREAM, "+Inf")).toBe(1);
  });

  test("a call past its deadline ends at the deadline (less Envoy's 20 ms), not when the server would have answered", async () => {
    const before = await envoy.settle();
    const r = await client.unary({ delay_ms: 3000 }, { deadlineMs: 400 });
    expect(code(r)).toBe("DEADLINE_EXCEEDED");
    // Envoy's trailers-only reply, or the server's own (it got the grpc-timeout Envoy shortened, and
    // its timer may fire first): never the client's own "Deadline exceeded after …" (its reset)
    expect(["downstream duration timeout", "Deadline exceeded"]).toContain(r.details);
    const after = await envoy.waitForSteadyStats((s) => grpcDurations(s, before)[UNARY] === 1, "one duration sample");
    expect(grpcDelta(after, before)).toEqual({ [`${UNARY} DEADLINE_EXCEEDED`]: 1 });
    expect(bucket(after, UNARY, "250000") - bucket(before, UNARY, "250000")).toBe(0);
    expect(bucket(after, UNARY, "1000000") - bucket(before, UNARY, "1000000")).toBe(1);
  });

  test("the grpc-status in trailers is read in the trailers hook (proxy_on_response_trailers runs once per call with trailers)", async () => {
    const calls = () => (readFileSync(envoy.logFile, "utf8").match(/proxy_on_response_trailers\(/g) ?? []).length;
    const before = await envoy.settle();
    const hooks = calls();
    // trailers: a success (headers, message, trailers), a failure after headers, a stream; trailers-only: none
    expect(code(await client.unary({}))).toBe("OK");
    expect(code(await client.unary({ fail_with: 6, headers_first: true }))).toBe("ALREADY_EXISTS");
    expect(code(await client.stream({ count: 1, fail_with: 11 }))).toBe("OUT_OF_RANGE");
    expect(code(await client.unary({ fail_with: 8 }))).toBe("RESOURCE_EXHAUSTED");
    const after = await envoy.waitForSteadyStats(
      (s) =>
        same(grpcDelta(s, before), { [`${UNARY} OK`]: 1, [`${UNARY} ALREADY_EXISTS`]: 1, [`${STREAM} OUT_OF_RANGE`]: 1, [`${UNARY} RESOURCE_EXHAUSTED`]: 1 }),
      "four calls counted",
    );
    expect(grpcDelta(after, before)).toEqual({
      [`${UNARY} OK`]: 1,
      [`${UNARY} ALREADY_EXISTS`]: 1,
      [`${STREAM} OUT_OF_RANGE`]: 1,
      [`${UNARY} RESOURCE_EXHAUSTED`]: 1,
    });
    const deadline = Date.now() + 5000;
    while (calls() - hooks < 3 && Date.now() < deadline) await sleep(50);
    expect(calls() - hooks).toBe(3);
  });

  test("a client's reset mid-stream: code 8 (cancel) is CANCELLED; code 0 (no error) gets no flag from Envoy and is unknown", async () => {
    // a Stream call for 100 replies 50 ms apart (Call: delay_ms = 3 → 50, count = 4 → 100), reset after its first reply
    const call = Buffer.from([0, 0, 0, 0, 4, 0x18, 50, 0x20, 100]);
    const session = http2.connect(`http://127.0.0.1:${envoy.port(18080)}`);
    session.on("error", () => {});
    const resetAfterFirstReply = (code: number) =>
      new Promise<void>((ok) => {
        const r = session.request({ ":method": "POST", ":path": STREAM, "content-type": "application/grpc", te: "trailers" });
        r.on("error", () => {});
        r.once("data", () => r.close(code));
        r.on("close", () => ok());
        r.end(call);
      });
    try {
      const before = await envoy.settle();
      for (let i = 0; i < 2; i++) await resetAfterFirstReply(http2.constants.NGHTTP2_CANCEL);
      await resetAfterFirstReply(http2.constants.NGHTTP2_NO_ERROR);
      const want = { [`${STREAM} CANCELLED`]: 2, [`${STREAM} unknown`]: 1 };
      const after = await envoy.waitForSteadyStats((s) => same(grpcDelta(s, before), want), "three reset calls counted");
      expect(grpcDelta(after, before)).toEqual(want);
    } finally {
      session.close();
    }
  });
});

describe("HTTP/2 without gRPC (h2c, prior knowledge)", () => {
  /** One request on the shared HTTP/2 session; resolves with the status, headers and body. */
  function h2(session: http2.ClientHttp2Session, method: string, path: string, headers: Record<string, string> = {}, body?: Buffer) {
    return new Promise<{ status: number; headers: http2.IncomingHttpHeaders; body: string }>((ok, fail) => {
      const r = session.request({ ":method": method, ":path": path, ...headers }, { endStream: body === undefined });
      if (body !== undefined) r.end(body);
      let h: http2.IncomingHttpHeaders = {};
      const chunks: Buffer[] = [];
      r.on("response", (x) => (h = x));
      r.on("data", (d: Buffer) => chunks.push(d));
      r.on("end", () => ok({ status: Number(h[":status"]), headers: h, body: Buffer.concat(chunks).toString() }));
      r.on("error", fail);
    });
  }

  test("requests count in sitio_http_* like HTTP/1 ones: same series, exact status, custom 404 page", async () => {
    const session = http2.connect(`http://127.0.0.1:${envoy.port(18080)}`);
    try {
      const before = await envoy.settle();
      for (let i = 0; i < 3; i++) expect((await h2(session, "GET", "/")).status).toBe(200);
      expect((await h2(session, "HEAD", "/")).status).toBe(200);
      for (let i = 0; i < 2; i++) expect((await h2(session, "GET", `/api/items?page=${i}`)).body).toBe('{"items": []}\n');
      expect((await h2(session, "DELETE", "/api/items")).status).toBe(200);
      for (let i = 0; i < 2; i++) {
        const r = await h2(session, "GET", "/counted-nowhere");
        expect([r.status, r.headers["content-type"], r.body]).toEqual([404, "text/html; charset=utf-8", PAGE]);
      }
      // the same request over HTTP/1.1 lands in the same series
      expect((await httpRequest(envoy.port(18080), "/")).status).toBe(200);
      // grpc-web is not gRPC for sitio (its status travels in the body): an HTTP request. The route
      // (content-type prefix application/grpc) sends it to the example server, which answers it as gRPC.
      expect((await h2(session, "POST", UNARY, { "content-type": "application/grpc-web+proto" }, Buffer.alloc(5))).status).toBe(200);
      const expected = { "GET / 200": 4, "HEAD / 200": 1, "GET /api/items 200": 2, "DELETE /api/items 200": 1, "GET other 404": 2, [`POST ${UNARY} 200`]: 1 };
      const after = await envoy.waitForSteadyStats((s) => same(httpDelta(s, before), expected), "exact HTTP/2 request counts");
      expect(httpDelta(after, before)).toEqual(expected);
      expect(grpcDelta(after, before)).toEqual({});
      expect(
        (value(after, "sitio_http_custom_404_total", { plugin: PLUGIN }) ?? 0) - (value(before, "sitio_http_custom_404_total", { plugin: PLUGIN }) ?? 0),
      ).toBe(2);
      const durations = { "GET /": 4, "HEAD /": 1, "GET /api/items": 2, "DELETE /api/items": 1, "GET other": 2, [`POST ${UNARY}`]: 1 };
      const timed = await envoy.waitForSteadyStats((s) => same(httpDurations(s, before), durations), "one duration sample per request");
      expect(httpDurations(timed, before)).toEqual(durations);
    } finally {
      session.close();
    }
  });
});

describe("Envoy's own replies to gRPC calls", () => {
  test("a gRPC call with no route (the shipped config without its gRPC route) gets Envoy's UNIMPLEMENTED, never sitio's page, not even as its grpc-message", async () => {
    const shipped = readFileSync(SHIPPED_CONFIG, "utf8");
    const withoutRoute = shipped.replace(/ {24}# gRPC \(content-type application\/grpc…\), any path[\s\S]*?grpc_timeout_header_offset: 0\.02s \}\n/, "");
    expect(withoutRoute.length).toBeLessThan(shipped.length);
    expect(withoutRoute).not.toContain("cluster: grpc_service");
    const noRoute = await startEnvoy({ name: "grpc-no-route", configText: withoutRoute });
    const other = new ExampleClient(noRoute.port(18080));
    try {
      const r = await other.unary({});
      expect([code(r), r.details]).toEqual(["UNIMPLEMENTED", ""]);
      const s = await noRoute.waitForStats(
        (x) => value(x, "sitio_grpc_requests_total", { endpoint: "other", grpc_code: "UNIMPLEMENTED", plugin: PLUGIN }) === 1,
        "the call counted",
      );
      expect(value(s, "sitio_http_custom_404_total", { plugin: PLUGIN })).toBe(0);
      expect(series(s, "sitio_http_requests_total", { plugin: PLUGIN })).toEqual([]);
    } finally {
      other.close();
      await noRoute.stop();
    }
  });

  // last in the file: it stops the example gRPC server
  test("with the server gone, Envoy answers UNAVAILABLE itself: counted, but no evidence for a new method", async () => {
    await server!.close();
    const before = await envoy.settle();
    expect(code(await client.unary({}))).toBe("UNAVAILABLE");
    const other = new ExampleClient(envoy.port(18080));
    try {
      expect(code(await other.unknownMethod("NeverAnswered"))).toBe("UNAVAILABLE");
    } finally {
      other.close();
    }
    const expected = { [`${UNARY} UNAVAILABLE`]: 1, "other UNAVAILABLE": 1 };
    const after = await envoy.waitForSteadyStats((s) => same(grpcDelta(s, before), expected), "Envoy's UNAVAILABLE counted");
    expect(grpcDelta(after, before)).toEqual(expected);
    expect(Object.keys(grpcCounts(after)).filter((k) => k.includes("NeverAnswered"))).toEqual([]);
  });
});
