// The fuzzer of the TLS hello decoder (assembly/codec/tls_hello.ts), through
// the test-only module (tests/wasm/tls_hello_entry.ts). Per case (tls_inputs.ts):
//   - the module never traps, and every call keeps the contract (consumes at
//     least one byte, never more than it was given);
//   - the bytes fed in random reads give exactly the events and results of
//     the same bytes fed one read per step;
//   - after NotTls or Malformed nothing more is reported, and an error is set;
//   - each hello event at most once; kept SNI ≤ 255 and ALPN ≤ 32 bytes; the
//     ALPN count is bounded by the bytes;
//   - generated and re-framed hellos decode to exactly their expected values;
//     a truncated capture is incomplete, without error, with a prefix of its events.
// One module serves many cases; after a trap a fresh one is made.
//
// With `filterWasm` (sitio's own module), each case also goes through the
// network filter with {"protocol":"tls"} in random reads, and:
//   - upstream bytes reach the client unchanged; the filter never traps;
//   - rx/tx bytes are exactly the bytes sent; active connections back to 0;
//   - one connection counted exactly when the hello decoder saw a
//     ClientHello; at most one failure per connection, and exactly one when
//     the decoder stopped (not TLS, malformed) or saw an alert before the
//     ServerHello (after it sitio reads no more of the server's bytes);
//   - server-name labels stay within the cap (+ `other`, `none`).

import {
  buildTlsHelloWasm,
  ContractError,
  decode,
  TLS_HELLO_DEBUG_WASM,
  TLS_HELLO_WASM,
  TlsHelloModule,
  type TlsEventSeen,
  type TlsReport,
} from "../harness/tls_hello_wasm.js";
import { loadTlsCorpus } from "../harness/tls_corpus.js";
import { ProxyWasmHost, WasmTrap } from "../harness/proxy_wasm_host.js";
import { Rng } from "./rng.js";
import { tlsInput, type TlsInput } from "./tls_inputs.js";

export { TLS_HELLO_DEBUG_WASM, TLS_HELLO_WASM };

export interface TlsFuzzReport {
  cases: number;
  traps: number;
  violations: number;
  /** "case N (kind): what" (first 20). */
  failures: string[];
  kinds: Record<string, number>;
  events: Record<string, number>;
  bytesIn: number;
  ms: number;
}

function checkCase(
  input: TlsInput,
  whole: { events: TlsEventSeen[]; report: TlsReport },
  split: { events: TlsEventSeen[]; report: TlsReport },
  check: (ok: boolean, what: string) => void,
): void {
  check(
    JSON.stringify(split.events) === JSON.stringify(whole.events),
    `events differ with random reads: ${JSON.stringify(split.events)} vs ${JSON.stringify(whole.events)}`,
  );
  check(JSON.stringify(split.report) === JSON.stringify(whole.report), "results differ with random reads");
  const r = whole.report;
  const names = whole.events.map((e) => e.event);
  const stop = names.findIndex((n) => n === "not_tls" || n === "malformed");
  if (stop >= 0) {
    check(stop === names.length - 1, `events after ${names[stop]}: ${names.join(",")}`);
    check(r.stopped && r.error !== "none", "stopped without an error");
  } else check(!r.stopped && r.error === "none", "stopped without a stop event");
  for (const once of ["client_hello", "server_hello", "hello_retry_request", "client_second_flight"]) {
    check(names.filter((n) => n === once).length <= 1, `${once} more than once`);
  }
  check((r.sni?.length ?? 0) <= 255 && (r.alpn?.length ?? 0) <= 32, "kept SNI or ALPN beyond its bound");
  const clientBytes = input.steps.filter((s) => s.dir === "client").reduce((t, s) => t + s.bytes.length, 0);
  check(r.alpnCount <= clientBytes / 2, "more ALPN protocols than the bytes hold");
  check(!r.serverHelloDone || names.includes("server_hello"), "ServerHello done without its event");
  if (input.expect) {
    const e = input.expect;
    const got = {
      events: names,
      sni: r.sni,
      sniTooLong: r.sniTooLong,
      alpn: r.alpn,
      alpnTooLong: r.alpnTooLong,
      alpnCount: r.alpnCount,
      offeredVersion: r.offeredVersion,
      version: r.serverHelloDone ? r.version : null,
    };
    check(JSON.stringify(got) === JSON.stringify(e), `decoded ${JSON.stringify(got)}, expected ${JSON.stringify(e)}`);
  }
  if (input.truncatedOf) {
    check(!r.stopped && r.handshakeIncomplete, "a truncated capture is not an incomplete handshake");
    check(
      JSON.stringify(names) === JSON.stringify(input.truncatedOf.events.slice(0, names.length)) && names.length < input.truncatedOf.events.length,
      `truncated: events ${names.join(",")} are not a proper prefix of ${input.truncatedOf.events.join(",")}`,
    );
  }
}

const FILTER_PLUGIN = "tf";
const FILTER_CAP = 10;

/** sitio's network filter with the TLS protocol, and running totals of its series. */
class TlsFilter {
  readonly host: ProxyWasmHost;
  readonly root: number;
  readonly totals = new Map<string, number>();
  readonly names = new Set<string>();

  constructor(wasm: string) {
    this.host = new ProxyWasmHost({ wasm, logLevel: 4 });
    this.host.onIncrement = (m, delta) => {
      const family = m.name.slice(0, m.name.indexOf(";"));
      this.totals.set(family, (this.totals.get(family) ?? 0) + delta);
      const sni = /;sni=([^;]*)/.exec(m.name);
      if (sni) this.names.add(sni[1]);
    };
    this.root = this.host.createRoot("sitio_network", FILTER_PLUGIN, JSON.stringify({ protocol: "tls", endpoints: { max_distinct: FILTER_CAP } }));
  }

  total(family: string): number {
    return this.totals.get(family) ?? 0;
  }
}

function filterCase(f: TlsFilter, r: Rng, input: TlsInput, events: string[], check: (ok: boolean, what: string) => void): void {
  const t = (name: string) => f.total(name);
  const families = [
    "sitio_tls_connections_total",
    "sitio_tls_handshake_failures_total",
    "sitio_tcp_rx_bytes_total",
    "sitio_tcp_tx_bytes_total",
    "sitio_tcp_unparsed_bytes_total",
  ];
  const before = families.map(t);
  const conn = f.host.connect(f.root);
  let client = 0;
  let server = 0;
  for (const step of input.steps) {
    const bytes = Buffer.from(step.bytes);
    for (let at = 0; at < bytes.length; ) {
      const n = Math.min(bytes.length - at, r.pick([1, 2, 7, 64, 700, r.range(1, 4000)]));
      const piece = bytes.subarray(at, at + n);
      if (step.dir === "client") conn.downstream(piece);
      else check(conn.upstream(piece).equals(piece), "filter: upstream bytes changed");
      at += n;
    }
    if (step.dir === "client") client += bytes.length;
    else server += bytes.length;
  }
  conn.close();
  f.host.flush();
  const [connections, failures, rx, tx, unparsed] = families.map((name, i) => t(name) - before[i]);
  // sitio stops reading the server's bytes at the ServerHello (and the client's after its next record):
  // what the test decoder finds past that point may or may not be counted
  const end = events.indexOf("server_hello");
  const seen = end >= 0 ? events.slice(0, end + 1) : events;
  const failed = seen.includes("not_tls") || seen.includes("malformed") || seen.includes("alert");
  check(connections === (events.includes("client_hello") ? 1 : 0), `filter: ${connections} connections counted, events ${events.join(",")}`);
  check(failures <= 1, `filter: ${failures} failures for one connection`);
  if (failed) check(failures === 1, `filter: no failure counted for ${events.join(",")}`);
  check(rx === client && tx === server, `filter: rx ${rx}/${client}, tx ${tx}/${server} bytes`);
  check(unparsed <= client, "filter: more unparsed bytes than the client sent");
  check(f.host.value(`sitio_tcp_active_connections;plugin=${FILTER_PLUGIN}`) === 0, "filter: active connections not back to 0");
  check([...f.names].filter((n) => n !== "other" && n !== "none").length <= FILTER_CAP, `filter: ${f.names.size} server-name labels (cap ${FILTER_CAP})`);
}

export function runTlsFuzz(opts: { seed: number; cases: number; from?: number; wasm?: string; filterWasm?: string }): TlsFuzzReport {
  const started = Date.now();
  buildTlsHelloWasm();
  const wasm = opts.wasm ?? TLS_HELLO_DEBUG_WASM;
  const corpus = loadTlsCorpus();
  const report: TlsFuzzReport = { cases: 0, traps: 0, violations: 0, failures: [], kinds: {}, events: {}, bytesIn: 0, ms: 0 };
  let m = new TlsHelloModule(wasm);
  let filter = opts.filterWasm ? new TlsFilter(opts.filterWasm) : null;
  const from = opts.from ?? 0;
  for (let i = from; i < from + opts.cases; i++) {
    if (i % 500 === 0) m.clear();
    const r = Rng.forCase(opts.seed, i);
    const input = tlsInput(r, corpus);
    report.kinds[input.kind] = (report.kinds[input.kind] ?? 0) + 1;
    const fail = (what: string) => {
      report.violations++;
      if (report.failures.length < 20) report.failures.push(`case ${i} (${input.kind}): ${what}`);
    };
    const check = (ok: boolean, what: string) => {
      if (!ok) fail(what);
    };
    try {
      const whole = decode(m, input.steps);
      const split = decode(m, input.steps, () => Array.from({ length: 6 }, () => r.pick([1, 1, 2, 3, 5, 13, 64, 700, r.range(1, 4000)])));
      checkCase(input, whole, split, check);
      if (filter) {
        try {
          filterCase(
            filter,
            r,
            input,
            whole.events.map((e) => e.event),
            check,
          );
        } catch (e) {
          if (!(e instanceof WasmTrap)) throw e;
          report.traps++;
          if (report.failures.length < 20) report.failures.push(`case ${i} (${input.kind}): filter: ${e.message}`);
          filter = new TlsFilter(opts.filterWasm!);
        }
      }
      for (const e of whole.events) report.events[e.event] = (report.events[e.event] ?? 0) + 1;
    } catch (e) {
      if (e instanceof ContractError) fail(e.message);
      else if (e instanceof WebAssembly.RuntimeError || (e instanceof Error && e.message.startsWith("wasm abort"))) {
        report.traps++;
        if (report.failures.length < 20) report.failures.push(`case ${i} (${input.kind}): trap: ${(e as Error).message}`);
        m = new TlsHelloModule(wasm);
      } else throw e;
    }
    report.bytesIn += input.steps.reduce((t, s) => t + s.bytes.length, 0);
    report.cases++;
  }
  report.ms = Date.now() - started;
  return report;
}
