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

import { buildTlsHelloWasm, ContractError, decode, TLS_HELLO_DEBUG_WASM, TLS_HELLO_WASM, TlsHelloModule, type TlsEventSeen, type TlsReport } from "../harness/tls_hello_wasm.js";
import { loadTlsCorpus } from "../harness/tls_corpus.js";
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

function checkCase(input: TlsInput, whole: { events: TlsEventSeen[]; report: TlsReport }, split: { events: TlsEventSeen[]; report: TlsReport }, check: (ok: boolean, what: string) => void): void {
  check(JSON.stringify(split.events) === JSON.stringify(whole.events), `events differ with random reads: ${JSON.stringify(split.events)} vs ${JSON.stringify(whole.events)}`);
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
    const got = { events: names, sni: r.sni, sniTooLong: r.sniTooLong, alpn: r.alpn, alpnTooLong: r.alpnTooLong, alpnCount: r.alpnCount, offeredVersion: r.offeredVersion, version: r.serverHelloDone ? r.version : null };
    check(JSON.stringify(got) === JSON.stringify(e), `decoded ${JSON.stringify(got)}, expected ${JSON.stringify(e)}`);
  }
  if (input.truncatedOf) {
    check(!r.stopped && r.handshakeIncomplete, "a truncated capture is not an incomplete handshake");
    check(JSON.stringify(names) === JSON.stringify(input.truncatedOf.events.slice(0, names.length)) && names.length < input.truncatedOf.events.length, `truncated: events ${names.join(",")} are not a proper prefix of ${input.truncatedOf.events.join(",")}`);
  }
}

export function runTlsFuzz(opts: { seed: number; cases: number; from?: number; wasm?: string }): TlsFuzzReport {
  const started = Date.now();
  buildTlsHelloWasm();
  const wasm = opts.wasm ?? TLS_HELLO_DEBUG_WASM;
  const corpus = loadTlsCorpus();
  const report: TlsFuzzReport = { cases: 0, traps: 0, violations: 0, failures: [], kinds: {}, events: {}, bytesIn: 0, ms: 0 };
  let m = new TlsHelloModule(wasm);
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
