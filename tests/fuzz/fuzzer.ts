// The fuzzer: runs generated connections and configurations through the
// compiled module in the project's proxy-wasm host and checks, per case:
//   - the module never traps (a trap would take the VM, and every connection on it, down);
//   - requests counted ≤ what the bytes could hold (exactly the number sent, for well-formed streams);
//   - rx bytes = bytes sent; unparsed bytes ≤ bytes sent; upstream bytes pass unchanged unless a rewrite is configured;
//   - the active-connection gauge returns to 0; endpoint labels stay within cap + 1;
//   - an L7 exchange is counted once, in sitio_grpc_* exactly when it is a gRPC call, and a gRPC call never gets the custom 404;
//   - a refused configuration is logged, an accepted one serves.
// One host (one VM) serves many cases, as in Envoy; after a trap a fresh one is started.

import { join } from "node:path";
import { ProxyWasmHost, ROOT, WasmTrap, type Connection } from "../harness/proxy_wasm_host.js";
import { Rng } from "./rng.js";
import { bogusChunked, huge, manyPipelined, maxRequests, mutated, noise, pipeline, splitReads, type ConnectionInput } from "./http1_inputs.js";
import { configInput } from "./config_inputs.js";
import { httpExchange, type HttpExchangeInput } from "./http_inputs.js";
import { fooStream, maxLines } from "./foo_inputs.js";

export const DEBUG_WASM = join(ROOT, "build/sitio.debug.wasm");
export const RELEASE_WASM = join(ROOT, "build/sitio.wasm");

const REQS = "sitio_tcp_requests_total";
const PLUGIN = "fuzz";
const CONFIG_PLUGIN = "fuzz_config";
const HTTP_PLUGIN = "fuzz_http";
const FOO_PLUGIN = "fuzz_foo";
/** A network plugin that rewrites upstream 404s to its own page. */
const REWRITE_PLUGIN = "fuzz_404";
const HTTP_REQS = "sitio_http_requests_total";
const GRPC_REQS = "sitio_grpc_requests_total";
/** The default endpoint cap (config.ts DEFAULT_MAX_ENDPOINTS). */
const CAP = 100;

export interface FuzzOptions {
  seed: number;
  cases: number;
  /** First case index (to replay one case: from = N, cases = 1). */
  from?: number;
  wasm?: string;
  /** Called every `progressEvery` cases. */
  onProgress?: (done: number, report: FuzzReport) => void;
  progressEvery?: number;
}

export interface FuzzReport {
  cases: number;
  traps: number;
  /** "case N (kind): what" for traps and broken invariants (first 20). */
  failures: string[];
  violations: number;
  requestsCounted: number;
  bytesIn: number;
  kinds: Record<string, number>;
  /** Milliseconds spent per kind. */
  kindsMs: Record<string, number>;
  memoryAfterWarmup: number;
  memoryEnd: number;
  memoryMax: number;
  ms: number;
}

/** One VM with the roots the cases use, and running totals of the metrics they check. */
class Target {
  readonly host: ProxyWasmHost;
  readonly root: number;
  /** An L7 root with the custom 404 page on. */
  readonly httpRoot: number;
  /** A network root with the Foo codec. */
  readonly fooRoot: number;
  /** A network (HTTP/1.x) root with the custom 404 page on. */
  readonly rewriteRoot: number;
  /** Running totals per "plugin family" (stat name without labels). */
  readonly totals = new Map<string, number>();
  /** Endpoint labels seen per plugin. */
  readonly endpoints = new Map<string, Set<string>>();

  constructor(wasm: string) {
    this.host = new ProxyWasmHost({ wasm, logLevel: 4 });
    this.host.onIncrement = (m, delta) => {
      const plugin = /;plugin=([^;]*)$/.exec(m.name)?.[1] ?? "";
      const family = m.name.slice(0, m.name.indexOf(";"));
      const key = `${plugin} ${family}`;
      this.totals.set(key, (this.totals.get(key) ?? 0) + delta);
      const endpoint = /;endpoint=([^;]*)/.exec(m.name);
      if (endpoint) {
        // gRPC methods have a table (and a cap) of their own
        const table = family === GRPC_REQS ? `${plugin} grpc` : plugin;
        let set = this.endpoints.get(table);
        if (!set) {
          set = new Set();
          this.endpoints.set(table, set);
        }
        set.add(endpoint[1]);
      }
    };
    this.root = this.host.createRoot("sitio_network", PLUGIN, "");
    this.httpRoot = this.host.createRoot("sitio_http", HTTP_PLUGIN, '{"custom_404":{"enabled":true,"body":"<h1>gone</h1>"}}');
    this.fooRoot = this.host.createRoot("sitio_network", FOO_PLUGIN, '{"protocol":"foo"}');
    this.rewriteRoot = this.host.createRoot("sitio_network", REWRITE_PLUGIN, '{"custom_404":{"enabled":true,"body":"<h1>gone</h1>"}}');
  }

  total(family: string, plugin = PLUGIN): number {
    return this.totals.get(`${plugin} ${family}`) ?? 0;
  }

  /** Requests counted by every plugin (L4 HTTP, Foo, L7 with gRPC calls). */
  allRequests(): number {
    let n = 0;
    for (const [key, v] of this.totals) if (key.endsWith(` ${REQS}`) || key.endsWith(` ${HTTP_REQS}`) || key.endsWith(` ${GRPC_REQS}`)) n += v;
    return n;
  }

  endpointCount(plugin: string): number {
    return this.endpoints.get(plugin)?.size ?? 0;
  }
}

/** Feeds both directions in a random interleaving; returns what the client would have received. */
function interleave(r: Rng, conn: Connection, input: ConnectionInput, check: (ok: boolean, what: string) => void, rewriting = false): Buffer {
  const down = splitReads(r, input.down);
  const up = splitReads(r, input.up);
  const received: Buffer[] = [];
  let d = 0;
  let u = 0;
  while (d < down.length || u < up.length) {
    if (u >= up.length || (d < down.length && r.chance(0.6))) {
      conn.downstream(down[d], d === down.length - 1 && r.chance(0.3));
      d++;
    } else {
      const sent = up[u++];
      const got = conn.upstream(sent);
      received.push(got);
      // Only a configured rewrite may change upstream bytes.
      if (!rewriting) check(got.equals(sent), "upstream bytes changed without a rewrite configured");
    }
  }
  return Buffer.concat(received);
}

function connectionCase(t: Target, r: Rng, input: ConnectionInput, check: (ok: boolean, what: string) => void): void {
  const rewriting = r.chance(0.3);
  const plugin = rewriting ? REWRITE_PLUGIN : PLUGIN;
  const f = (family: string) => t.total(family, plugin);
  const before = { reqs: f(REQS), rx: f("sitio_tcp_rx_bytes_total"), unparsed: f("sitio_tcp_unparsed_bytes_total"), custom: f("sitio_tcp_custom_404_total") };
  const conn = t.host.connect(rewriting ? t.rewriteRoot : t.root);
  const received = interleave(r, conn, input, check, rewriting);
  conn.close();
  t.host.flush();
  const counted = f(REQS) - before.reqs;
  const bound = maxRequests(input.down);
  check(counted <= bound, `counted ${counted} requests, the bytes hold at most ${bound} (line feeds)`);
  if (input.exactRequests !== undefined) check(counted === input.exactRequests, `counted ${counted} requests, sent ${input.exactRequests}`);
  check(f("sitio_tcp_rx_bytes_total") - before.rx === input.down.length, "rx bytes differ from bytes sent");
  check(f("sitio_tcp_unparsed_bytes_total") - before.unparsed <= input.down.length, "more unparsed bytes than bytes sent");
  check(f("sitio_tcp_active_connections") === 0, "active connections not back to 0");
  check(t.endpointCount(plugin) <= CAP + 1, `${t.endpointCount(plugin)} endpoint labels (cap ${CAP} + other)`);
  if (rewriting) {
    const custom = f("sitio_tcp_custom_404_total") - before.custom;
    const four04s = input.up.toString("latin1").split(" 404").length - 1;
    check(custom <= four04s, `rewrote ${custom} responses, the upstream bytes hold at most ${four04s} 404s`);
    // without a 404 nothing is rewritten: the client gets the upstream bytes (a head cut off by the close may be withheld)
    if (four04s === 0) check(input.up.subarray(0, received.length).equals(received), "upstream bytes changed without a 404 in them");
  }
}

function configCase(t: Target, r: Rng, bytes: Buffer, check: (ok: boolean, what: string) => void): void {
  const host = t.host;
  host.logs.length = 0;
  const id = host.tryCreateRoot("sitio_network", CONFIG_PLUGIN, bytes);
  if (id === null) {
    check(
      host.logs.some((l) => l.level >= 4 && l.message.includes("invalid configuration")),
      "a refused configuration was not logged",
    );
    return;
  }
  // An accepted configuration serves: one connection, one request (HTTP/1.x plugins only).
  const name = `${REQS};method=GET;endpoint=/cfg;plugin=${CONFIG_PLUGIN}`;
  const before = host.value(name);
  const conn = host.connect(id);
  conn.downstream("GET /cfg HTTP/1.1\r\n\r\n");
  conn.upstream("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
  conn.close();
  const isHttp = !bytes.includes('"foo"');
  if (isHttp) check(host.value(name) === before + 1, "an accepted configuration did not count a request");
  host.deleteContext(id);
}

function fooCase(t: Target, r: Rng, input: ConnectionInput, check: (ok: boolean, what: string) => void): void {
  const f = (family: string) => t.total(family, FOO_PLUGIN);
  const before = {
    reqs: f(REQS),
    resp: f("sitio_tcp_responses_total"),
    unmatched: f("sitio_tcp_unmatched_responses_total"),
    rx: f("sitio_tcp_rx_bytes_total"),
  };
  const conn = t.host.connect(t.fooRoot);
  interleave(r, conn, input, check);
  conn.close();
  t.host.flush();
  const reqs = f(REQS) - before.reqs;
  const resp = f("sitio_tcp_responses_total") - before.resp;
  check(reqs <= maxLines(input.down), `Foo: counted ${reqs} REQs, the bytes hold at most ${maxLines(input.down)} lines`);
  if (input.exactRequests !== undefined) check(reqs === input.exactRequests, `Foo: counted ${reqs} REQs, sent ${input.exactRequests}`);
  check(resp <= maxLines(input.up), `Foo: counted ${resp} replies, the bytes hold at most ${maxLines(input.up)} lines`);
  check(f("sitio_tcp_unmatched_responses_total") - before.unmatched <= resp, "Foo: more unmatched replies than replies");
  check(f("sitio_tcp_rx_bytes_total") - before.rx === input.down.length, "Foo: rx bytes differ from bytes sent");
  check(f("sitio_tcp_active_connections") === 0, "Foo: active connections not back to 0");
  check(t.endpointCount(FOO_PLUGIN) <= 1, "Foo: an endpoint label other than '-'");
}

/** The gRPC rule (http/stream.ts isGrpc): content-type application/grpc, alone or followed by + or ;. */
const isGrpc = (contentType: string | undefined) => contentType !== undefined && /^application\/grpc($|[+;])/s.test(contentType);

function httpCase(t: Target, input: HttpExchangeInput, check: (ok: boolean, what: string) => void): void {
  const before = { reqs: t.total(HTTP_REQS, HTTP_PLUGIN), grpc: t.total(GRPC_REQS, HTTP_PLUGIN), custom: t.total("sitio_http_custom_404_total", HTTP_PLUGIN) };
  const x = t.host.http(t.httpRoot);
  if (input.request) x.requestHeaders(input.request);
  let replaced = false;
  if (input.request && input.response) {
    replaced = x.responseHeaders(input.response, input.trailers === null).local !== null;
    if (input.trailers && !replaced) x.responseTrailers(input.trailers);
  }
  x.end();
  const grpc = input.request !== null && isGrpc(input.request["content-type"]);
  const counted = t.total(HTTP_REQS, HTTP_PLUGIN) - before.reqs;
  const calls = t.total(GRPC_REQS, HTTP_PLUGIN) - before.grpc;
  check(counted + calls === 1, `L7: counted ${counted} requests and ${calls} gRPC calls for one exchange`);
  check(calls === (grpc ? 1 : 0), `L7: ${calls} gRPC calls counted for content-type ${JSON.stringify(input.request?.["content-type"])}`);
  const is404 = input.request !== null && !grpc && input.response?.[":status"] === "404";
  check(replaced === is404, `L7: custom 404 ${replaced ? "sent" : "not sent"} for status ${JSON.stringify(input.response?.[":status"])}`);
  check(t.total("sitio_http_custom_404_total", HTTP_PLUGIN) - before.custom === (is404 ? 1 : 0), "L7: custom 404 counter");
  check(t.endpointCount(HTTP_PLUGIN) <= CAP + 1, `L7: ${t.endpointCount(HTTP_PLUGIN)} endpoint labels (cap ${CAP} + other)`);
  check(t.endpointCount(`${HTTP_PLUGIN} grpc`) <= CAP + 1, `L7: ${t.endpointCount(`${HTTP_PLUGIN} grpc`)} gRPC endpoint labels (cap ${CAP} + other)`);
}

/** Picks the case kind: mostly well-formed and mutated HTTP, some noise, a few huge inputs and configurations. */
function pickCase(r: Rng): ConnectionInput | HttpExchangeInput | { kind: string; config: Buffer } {
  const k = r.int(1000);
  if (k < 80) return httpExchange(r);
  if (k < 160) return fooStream(r);
  if (k < 300) return pipeline(r);
  if (k < 580) return mutated(r);
  if (k < 740) return noise(r);
  if (k < 860) return bogusChunked(r);
  if (k < 970) {
    const c = configInput(r);
    return { kind: c.kind, config: c.bytes };
  }
  if (k < 995) return huge(r);
  return manyPipelined(r);
}

export function runFuzz(opts: FuzzOptions): FuzzReport {
  const started = Date.now();
  const wasm = opts.wasm ?? DEBUG_WASM;
  const from = opts.from ?? 0;
  const report: FuzzReport = {
    cases: 0,
    traps: 0,
    failures: [],
    violations: 0,
    requestsCounted: 0,
    bytesIn: 0,
    kinds: {},
    kindsMs: {},
    memoryAfterWarmup: 0,
    memoryEnd: 0,
    memoryMax: 0,
    ms: 0,
  };
  const warmup = Math.min(2000, Math.ceil(opts.cases / 10));
  let t = new Target(wasm);
  let requestsBefore = 0;
  for (let i = from; i < from + opts.cases; i++) {
    const r = Rng.forCase(opts.seed, i);
    const c = pickCase(r);
    report.kinds[c.kind] = (report.kinds[c.kind] ?? 0) + 1;
    const check = (ok: boolean, what: string) => {
      if (ok) return;
      report.violations++;
      if (report.failures.length < 20) report.failures.push(`case ${i} (${c.kind}): ${what}`);
    };
    const caseStart = performance.now();
    try {
      if ("config" in c) configCase(t, r, c.config, check);
      else if (c.kind === "http-exchange") httpCase(t, c as HttpExchangeInput, check);
      else if (c.kind.startsWith("foo-")) fooCase(t, r, c as ConnectionInput, check);
      else {
        const conn = c as ConnectionInput;
        connectionCase(t, r, conn, check);
        report.bytesIn += conn.down.length + conn.up.length;
      }
    } catch (e) {
      if (!(e instanceof WasmTrap)) throw e;
      report.traps++;
      if (report.failures.length < 20) report.failures.push(`case ${i} (${c.kind}): ${e.message}`);
      report.requestsCounted += t.allRequests() - requestsBefore;
      t = new Target(wasm);
      requestsBefore = 0;
    }
    report.kindsMs[c.kind] = (report.kindsMs[c.kind] ?? 0) + performance.now() - caseStart;
    report.cases++;
    const mem = t.host.memoryBytes;
    report.memoryMax = Math.max(report.memoryMax, mem);
    if (report.cases === warmup) report.memoryAfterWarmup = mem;
    if (opts.onProgress && report.cases % (opts.progressEvery ?? 100_000) === 0) {
      opts.onProgress(report.cases, { ...report, requestsCounted: report.requestsCounted + t.allRequests() - requestsBefore, memoryEnd: t.host.memoryBytes });
    }
  }
  report.requestsCounted += t.allRequests() - requestsBefore;
  report.memoryEnd = t.host.memoryBytes;
  report.ms = Date.now() - started;
  return report;
}
