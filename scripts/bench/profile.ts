// npm run bench -- --profile: where each request's cost goes, counted in
// instructions (callgrind), so the figures do not depend on how busy the
// machine is.
//
// For each listener (L4 :18000, network filter; L7 :18080, HTTP filter), one
// Envoy per variant runs under callgrind, one worker, one after another:
//
//   without    the shipped config minus that listener's sitio filter block
//   empty      build/bench/empty.wasm (bench/variants/empty.ts): sitio's
//              exports, each doing nothing (the ABI floor: Envoy entering
//              the VM for every callback)
//   read-only  build/bench/read_only.wasm (bench/variants/read_only.ts):
//              empty, plus the host reads sitio makes (L4: every byte of both
//              directions; L7: the request's header map, the response's
//              :status): the host-memory floor
//   sitio      build/sitio.wasm
//   NAME       each --wasm NAME=FILE (say, a build of an older commit)
//
// The wasm variants change only the .wasm path in the shipped config (every
// listener's filter runs that module); --config FILE cuts every variant from
// another config instead (a module of an older commit may refuse today's: that
// variant is then reported as not started and the run goes on).
//
// Per variant: start Envoy with instrumentation off, turn it on, warm up with
// --warmup requests (V8 tiers the wasm code up), then two windows, each
// between a zero of the counters and a dump: first --idle-seconds with no
// traffic, which measures the background (timers; sitio's 1 s tick, on the
// main thread and the worker), then exactly --requests requests (wrk, one
// keep-alive connection, GET /; with --close each request on a connection of
// its own). Envoy's own counters say how many requests it
// served; they must equal --requests. The background per second is taken out
// of the load window's count in proportion to its length, so the figure is per
// request and not per second of valgrind's slowness.
//
// Self instructions are split by where the code lies: Envoy's binary
// (stripped, so no function names; V8's runtime and builtins are in it),
// tcmalloc (Envoy's allocator, in a section of the binary of its own), code in
// no file (what V8 compiled from the wasm module: the JIT), libc, and the rest.
// The dumps stay in .test-logs/profile-*/ for callgrind_annotate.

import { execFileSync } from "node:child_process";
import { get as httpGet } from "node:http";
import { existsSync, mkdirSync, readFileSync, realpathSync, renameSync, statSync, writeFileSync } from "node:fs";
import { basename, join, relative, resolve } from "node:path";
import { availableParallelism, loadavg } from "node:os";
import { ROOT, SHIPPED_CONFIG, WASM, envoyBinary, sleep, startEnvoy, type Envoy } from "../../tests/harness/envoy.js";
import { callgrindCommand, checkValgrind, dump, instrumentation, partFiles, readPart, zero, type AddressRange, type ThreadCost } from "./callgrind.js";
import { executableSections, loadBase } from "./elf.js";
import { hasWasmFilter, withoutWasmFilter, type FilterKind } from "./config_variants.js";
import { commit, envoyVersion, fmt, signed, table } from "./report.js";
import { checkWrk, runWrkRequests, type WrkResult } from "./wrk.js";

export interface ProfileOptions {
  only: Set<string>;
  /** Requests counted per variant. */
  requests: number;
  /** Requests before counting (V8 tier-up, Envoy's pools). */
  warmup: number;
  /** Length of the idle window that measures the background. */
  idleSeconds: number;
  /** --close: every request on a new connection (Connection: close), so the figure is per new connection. */
  close: boolean;
  /** Extra modules: --wasm NAME=FILE. */
  wasm: { name: string; file: string }[];
  /** The config every variant is cut from (--config; default envoy/envoy.yaml). */
  config: string | null;
  out: string | null;
}

// ---------------------------------------------------------------- the floor modules

const VARIANTS_DIR = join(ROOT, "bench/variants");
const FLOOR_OUT = join(ROOT, "build/bench");
export const EMPTY_WASM = join(FLOOR_OUT, "empty.wasm");
export const READ_ONLY_WASM = join(FLOOR_OUT, "read_only.wasm");

/** Builds bench/variants/{empty,read_only}.ts into build/bench/ unless newer than their sources. */
export function buildFloorModules(): void {
  const config = join(VARIANTS_DIR, "asconfig.json");
  for (const [source, out] of [
    [join(VARIANTS_DIR, "empty.ts"), EMPTY_WASM],
    [join(VARIANTS_DIR, "read_only.ts"), READ_ONLY_WASM],
  ]) {
    const newest = Math.max(statSync(source).mtimeMs, statSync(config).mtimeMs);
    if (existsSync(out) && statSync(out).mtimeMs >= newest) continue;
    mkdirSync(FLOOR_OUT, { recursive: true });
    const tmp = `${out}.${process.pid}.tmp`;
    execFileSync(join(ROOT, "node_modules/.bin/asc"), [relative(ROOT, source), "--config", relative(ROOT, config), "-o", tmp], { cwd: ROOT, stdio: "pipe" });
    renameSync(tmp, out);
  }
}

/** The proxy-wasm callbacks (and malloc) a module exports. */
function exportedFunctions(file: string): string[] {
  const m = new WebAssembly.Module(readFileSync(file));
  return WebAssembly.Module.exports(m)
    .filter((e) => e.kind === "function")
    .map((e) => e.name)
    .sort();
}

// ---------------------------------------------------------------- one variant, measured

interface Variant {
  name: string;
  /** null: the listener without any sitio filter block. */
  wasm: string | null;
}

/** Instructions split the way the table shows them. */
interface Split {
  total: number;
  /** Envoy's binary (V8's runtime and builtins included), tcmalloc apart. */
  envoy: number;
  /** Envoy's allocator: its sections google_malloc and malloc_hook. */
  tcmalloc: number;
  /** Code in no file: what V8 compiled from the wasm module. */
  jit: number;
  libc: number;
  other: number;
}

const PARTS: (keyof Split)[] = ["total", "envoy", "tcmalloc", "jit", "libc", "other"];
/** Envoy's sections that are tcmalloc's. */
const TCMALLOC_SECTIONS = new Set(["google_malloc", "malloc_hook"]);

/** One counted window (zero to dump). */
interface Window {
  seconds: number;
  split: Split;
  /** Self instructions by object file, or by Envoy section ("envoy:google_malloc"), all threads. */
  by_object: Record<string, number>;
  /** Instructions by thread (callgrind's numbering: 1 is Envoy's main thread; the worker is the busy one). */
  threads: Record<string, number>;
}

function window(seconds: number, threads: ThreadCost[], envoyFiles: Set<string>): Window {
  const byObject: Record<string, number> = {};
  for (const t of threads) for (const [o, ir] of Object.entries(t.byObject)) byObject[o] = (byObject[o] ?? 0) + ir;
  return { seconds, split: split(threads, envoyFiles), by_object: byObject, threads: Object.fromEntries(threads.map((t) => [String(t.thread), t.ir])) };
}

interface VariantResult {
  variant: string;
  wasm: string | null;
  wasm_bytes: number | null;
  warmup_requests: number;
  /** Requests wrk made in the counted window, and what Envoy's counters say it served. */
  requests: number;
  envoy_requests: Record<string, number>;
  wrk: WrkResult;
  load: Window;
  idle: Window;
  /** Instructions per request, background taken out: (load − idle/s × load s) / requests. */
  per_request: Split;
  /** Instructions per request as counted, background included. */
  per_request_raw: Split;
  /** The background: instructions per second with no traffic. */
  idle_per_second: Split;
  dumps: string;
}

/** Which column an object file's (or an Envoy section's, "envoy:NAME") instructions go to. */
function column(object: string, envoyFiles: Set<string>): keyof Split {
  if (object === "???") return "jit";
  if (object.startsWith("envoy:")) return TCMALLOC_SECTIONS.has(object.slice("envoy:".length)) ? "tcmalloc" : "envoy";
  if (envoyFiles.has(object)) return "envoy";
  if (/^libc\.so/.test(basename(object))) return "libc";
  return "other";
}

function split(threads: ThreadCost[], envoyFiles: Set<string>): Split {
  const s: Split = { total: 0, envoy: 0, tcmalloc: 0, jit: 0, libc: 0, other: 0 };
  for (const t of threads) {
    for (const [object, ir] of Object.entries(t.byObject)) {
      s[column(object, envoyFiles)] += ir;
      s.total += ir;
    }
  }
  return s;
}

function mapSplit(a: Split, f: (k: keyof Split) => number): Split {
  return Object.fromEntries(PARTS.map((k) => [k, f(k)])) as unknown as Split;
}

/**
 * Envoy's executable sections where process `pid` mapped them, named
 * "envoy:SECTION": callgrind counts only .text as the binary's code, so the
 * rest (tcmalloc's google_malloc above all) is told apart by address.
 */
function envoySections(pid: number): AddressRange[] {
  const binary = realpathSync(envoyBinary());
  const base = loadBase(pid, binary);
  if (base === null) throw new Error(`${binary} is not mapped in process ${pid} (/proc/${pid}/maps)`);
  return executableSections(binary).map((s) => ({ start: base + s.addr, end: base + s.addr + s.size, name: `envoy:${s.name}` }));
}

/** The newest dump part of this callgrind output (parts count up from 1 with each dump). */
function newestPart(outFile: string): number {
  for (let part = 1; ; part++) if (partFiles(outFile, part).length === 0) return part - 1;
}

/**
 * One admin request on a connection of its own, closed when answered: a
 * keep-alive connection (fetch's) would be closed by the client seconds later,
 * inside a counted window.
 */
function adminGet(url: string): Promise<string> {
  return new Promise((ok, fail) => {
    const req = httpGet(url, { agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => (res.statusCode === 200 ? ok(body) : fail(new Error(`${url}: HTTP ${res.statusCode}\n${body}`))));
    });
    req.on("error", fail);
  });
}

/** Time for what the warm-up and an admin request leave behind (a stats flush, deferred deletes) to be done. */
const SETTLE_MS = 2000;

/** Envoy's request counters (front listener and the example service behind it). */
async function requestCounters(envoy: Envoy): Promise<Record<string, number>> {
  const filter = "^http\\.(sitio_l7|web_service)\\.downstream_rq_(total|2xx)$";
  const text = await adminGet(`${envoy.admin}/stats?filter=${encodeURIComponent(filter)}`);
  const counters: Record<string, number> = {};
  for (const line of text.split("\n")) {
    const m = /^(\S+): (\d+)$/.exec(line.trim());
    if (m) counters[m[1]] = Number(m[2]);
  }
  return counters;
}

interface Listener {
  key: string;
  name: string;
  port: number;
  kind: FilterKind;
  /** The counters that must each have grown by exactly the requests made. */
  counters: string[];
}

async function measure(
  listener: Listener,
  variant: Variant,
  configText: string,
  o: ProfileOptions,
  dir: string,
  envoyFiles: Set<string>,
  log: (s: string) => void,
): Promise<VariantResult> {
  const dumps = join(dir, `${listener.key}-${variant.name}`);
  mkdirSync(dumps, { recursive: true });
  const outFile = join(dumps, "callgrind.out");
  const envoy = await startEnvoy({
    name: `profile-${listener.key}-${variant.name}`,
    configText,
    workers: 1,
    logArgs: ["--log-level", "warning"],
    wrapper: callgrindCommand(outFile),
    startTimeoutMs: 600_000,
  });
  try {
    const pid = envoy.process.pid!;
    const ranges = envoySections(pid);
    const url = `http://127.0.0.1:${envoy.port(listener.port)}/`;
    // Under callgrind Envoy serves a few hundred requests a second at most: generous bounds.
    const bound = (n: number) => Math.max(120, Math.ceil(n / 5));
    await instrumentation(pid, true);
    const warm = await runWrkRequests(url, o.warmup, bound(o.warmup), o.close);
    checkErrors(warm, `${listener.name} ${variant.name} warm-up`);

    // The idle window first: this config flushes stats only when the admin asks (stats_flush_on_admin), and
    // a flush asked for by the counters read below runs after its answer, so it gets time to end before the
    // zero, and the load window has no admin request in it at all.
    const before = await requestCounters(envoy);
    await sleep(SETTLE_MS);
    await zero(pid);
    const t0 = performance.now();
    await sleep(o.idleSeconds * 1000);
    await dump(pid);
    const idleSeconds = (performance.now() - t0) / 1000;
    const idlePart = newestPart(outFile);

    await zero(pid);
    const t1 = performance.now();
    const wrk = await runWrkRequests(url, o.requests, bound(o.requests), o.close);
    // wrk has seen its last response; its connection's close is handled inside the window too.
    await sleep(500);
    await dump(pid);
    const loadSeconds = (performance.now() - t1) / 1000;
    const loadPart = newestPart(outFile);
    if (loadPart !== idlePart + 1) throw new Error(`${outFile}: expected dump part ${idlePart + 1}, found ${loadPart}`);
    const after = await requestCounters(envoy);
    checkErrors(wrk, `${listener.name} ${variant.name}`);
    const served: Record<string, number> = {};
    for (const c of listener.counters) {
      served[c] = (after[c] ?? NaN) - (before[c] ?? NaN);
      if (served[c] !== o.requests)
        throw new Error(`${listener.name} ${variant.name}: ${c} grew by ${served[c]}, expected ${o.requests} (wrk counted ${wrk.requests})`);
    }

    const loadThreads = readPart(outFile, loadPart, ranges);
    const idleThreads = readPart(outFile, idlePart, ranges);
    const load = window(loadSeconds, loadThreads, envoyFiles);
    const idle = window(idleSeconds, idleThreads, envoyFiles);
    const idlePerSecond = mapSplit(idle.split, (k) => idle.split[k] / idle.seconds);
    const perRequest = mapSplit(load.split, (k) => (load.split[k] - idlePerSecond[k] * load.seconds) / o.requests);
    const perRequestRaw = mapSplit(load.split, (k) => load.split[k] / o.requests);
    log(
      `  ${variant.name.padEnd(10)} ${fmt(perRequest.total, 0)} instructions/request ` +
        `(${o.requests} requests in ${fmt(loadSeconds, 1)} s; background ${fmt(idlePerSecond.total, 0)}/s, ${fmt(perRequestRaw.total - perRequest.total, 0)}/request)`,
    );
    return {
      variant: variant.name,
      wasm: variant.wasm === null ? null : relative(ROOT, variant.wasm),
      wasm_bytes: variant.wasm === null ? null : statSync(variant.wasm).size,
      warmup_requests: o.warmup,
      requests: o.requests,
      envoy_requests: served,
      wrk,
      load,
      idle,
      per_request: perRequest,
      per_request_raw: perRequestRaw,
      idle_per_second: idlePerSecond,
      dumps: relative(ROOT, dumps),
    };
  } finally {
    await envoy.stop();
  }
}

function checkErrors(w: WrkResult, what: string): void {
  const e = w.errors;
  if (e.connect + e.read + e.write + e.status + e.timeout > 0) throw new Error(`${what}: wrk saw errors ${JSON.stringify(e)}`);
}

// ---------------------------------------------------------------- the run

const LISTENERS: Listener[] = [
  {
    key: "l4",
    name: "L4 :18000 network filter",
    port: 18000,
    kind: "network",
    counters: ["http.web_service.downstream_rq_total", "http.web_service.downstream_rq_2xx"],
  },
  {
    key: "l7",
    name: "L7 :18080 HTTP filter",
    port: 18080,
    kind: "http",
    counters: ["http.sitio_l7.downstream_rq_total", "http.sitio_l7.downstream_rq_2xx", "http.web_service.downstream_rq_total"],
  },
];

interface Difference {
  label: string;
  of: string;
  minus: string;
}

interface ListenerResult {
  listener: string;
  port: number;
  variants: VariantResult[];
  differences: { label: string; per_request: Split }[];
  /** Each wasm variant's total over without's. */
  ratio_over_without: Record<string, number>;
}

function differencesFor(variants: string[]): Difference[] {
  const d: Difference[] = [
    { label: "ABI floor (empty − without)", of: "empty", minus: "without" },
    { label: "read floor (read-only − empty)", of: "read-only", minus: "empty" },
    { label: "sitio's own (sitio − read-only)", of: "sitio", minus: "read-only" },
    { label: "sitio in all (sitio − without)", of: "sitio", minus: "without" },
  ];
  for (const v of variants.filter((v) => !["without", "empty", "read-only", "sitio"].includes(v))) {
    d.push({ label: `${v}'s own (${v} − read-only)`, of: v, minus: "read-only" });
    d.push({ label: `${v} − sitio`, of: v, minus: "sitio" });
  }
  return d;
}

export async function runProfile(o: ProfileOptions): Promise<void> {
  for (const missing of [await checkWrk(), await checkValgrind()]) if (missing) throw new Error(missing);
  if (!existsSync(WASM)) throw new Error(`${WASM} is missing: run \`npm run build\``);
  buildFloorModules();
  const extra: Variant[] = o.wasm.map((w) => ({ name: w.name, wasm: resolve(w.file) }));
  for (const w of extra) {
    if (!existsSync(w.wasm!)) throw new Error(`--wasm ${w.name}=${w.wasm}: no such file`);
    if (["without", "empty", "read-only", "sitio"].includes(w.name)) throw new Error(`--wasm ${w.name}=...: that name is taken`);
  }
  const variants: Variant[] = [
    { name: "without", wasm: null },
    { name: "empty", wasm: EMPTY_WASM },
    { name: "read-only", wasm: READ_ONLY_WASM },
    { name: "sitio", wasm: WASM },
    ...extra,
  ];
  const listeners = LISTENERS.filter((l) => o.only.has(l.key));
  if (listeners.length === 0) throw new Error("--profile measures l4 and/or l7: --only l4,l7");

  const binary = envoyBinary();
  const envoyFiles = new Set([binary, realpathSync(binary)]);
  const configFile = o.config === null ? SHIPPED_CONFIG : resolve(o.config);
  const configName = relative(ROOT, configFile);
  const shipped = readFileSync(configFile, "utf8");
  const { sha, dirty } = commit();
  const startedAt = new Date().toISOString();
  const load0 = loadavg();
  const stamp = startedAt.replace(/[:.]/g, "-");
  const dir = join(ROOT, ".test-logs", `profile-${stamp}`);
  const log = (s: string) => console.error(s);

  // The floors stand for sitio only while they export the same callbacks: Envoy skips one a module does not export.
  const notes: string[] = [];
  const sitioExports = exportedFunctions(WASM);
  for (const v of variants) {
    if (v.wasm === null || v.wasm === WASM) continue;
    const mine = exportedFunctions(v.wasm);
    const missing = sitioExports.filter((e) => !mine.includes(e));
    const more = mine.filter((e) => !sitioExports.includes(e));
    if (missing.length + more.length > 0) {
      notes.push(
        `note: ${v.name} (${relative(ROOT, v.wasm)}) exports differ from build/sitio.wasm's: ` +
          [missing.length ? `lacks ${missing.join(", ")}` : "", more.length ? `has ${more.join(", ")} too` : ""].filter(Boolean).join("; "),
      );
    }
  }
  for (const n of notes) log(n);
  log(
    `sitio profile: callgrind, ${o.requests} requests per variant after ${o.warmup} to warm up, ${o.close ? "each on a new connection (Connection: close)" : "one keep-alive connection"}, GET /; background from ${o.idleSeconds} s idle; dumps in ${relative(process.cwd(), dir)}`,
  );

  const results: ListenerResult[] = [];
  const skipped: string[] = [];
  for (const l of listeners) {
    if (!hasWasmFilter(shipped, l.port, l.kind)) {
      skipped.push(`${l.name}: skipped, ${configName} has no listener on :${l.port} with the sitio ${l.kind} filter`);
      log(skipped[skipped.length - 1]);
      continue;
    }
    log(`${l.name}:`);
    const measured: VariantResult[] = [];
    for (const v of variants) {
      let text: string;
      if (v.wasm === null) text = withoutWasmFilter(shipped, l.port, l.kind);
      else {
        if (!shipped.includes("filename: build/sitio.wasm")) throw new Error(`${configName} names no build/sitio.wasm`);
        text = shipped.replaceAll("filename: build/sitio.wasm", `filename: ${v.wasm}`);
      }
      try {
        measured.push(await measure(l, v, text, o, dir, envoyFiles, log));
      } catch (e) {
        // A module of another commit may refuse today's config (a protocol it does not know, say): say so and go on.
        const message = e instanceof Error ? e.message : String(e);
        if (!extra.includes(v) || !message.startsWith("Envoy exited during start-up")) throw e;
        const why =
          message
            .split("\n")
            .find((line) => /\]\[critical\]\[wasm\]/.test(line))
            ?.replace(/^.*\] /, "") ?? message.split("\n")[0];
        notes.push(`${l.name}: ${v.name} did not start on ${configName}: ${why} (--config with its commit's envoy/envoy.yaml runs every variant on that)`);
        log(`  ${v.name.padEnd(10)} did not start: ${why}`);
      }
    }
    const by = new Map(measured.map((m) => [m.variant, m.per_request]));
    const differences = differencesFor(measured.map((m) => m.variant)).map((d) => ({
      label: d.label,
      per_request: mapSplit(by.get(d.of)!, (k) => by.get(d.of)![k] - by.get(d.minus)![k]),
    }));
    const without = by.get("without")!.total;
    const ratio: Record<string, number> = {};
    for (const m of measured) if (m.variant !== "without") ratio[m.variant] = m.per_request.total / without;
    results.push({ listener: l.name, port: l.port, variants: measured, differences, ratio_over_without: ratio });
  }

  // ---- the tables
  const lines: string[] = [];
  lines.push(`sitio ${sha}${dirty ? "+changes" : ""}: instructions per request (callgrind; Envoy ${envoyVersion()}, one worker, ${configName})`);
  lines.push(
    `${fmt(o.requests, 0)} ${o.close ? "requests per variant, each on a new connection (Connection: close)," : "keep-alive requests per variant on one connection"} after ${fmt(o.warmup, 0)} to warm up; background (${o.idleSeconds} s idle) taken out`,
  );
  lines.push(
    "columns: self instructions in Envoy's binary (V8 included) but not its tcmalloc, in tcmalloc, in code V8 compiled from the wasm module (JIT), in libc, elsewhere",
  );
  for (const r of results) {
    lines.push("");
    lines.push(r.listener);
    const rows: string[][] = [["variant", "total", "envoy", "tcmalloc", "JIT", "libc", "other", "over without", "wasm bytes", "idle/s"]];
    const without = r.variants.find((v) => v.variant === "without")!.per_request.total;
    for (const v of r.variants) {
      const p = v.per_request;
      rows.push([
        v.variant,
        fmt(p.total, 0),
        fmt(p.envoy, 0),
        fmt(p.tcmalloc, 0),
        fmt(p.jit, 0),
        fmt(p.libc, 0),
        fmt(p.other, 0),
        v.variant === "without" ? "" : `×${fmt(p.total / without, 3)}`,
        v.wasm_bytes === null ? "" : fmt(v.wasm_bytes, 0),
        fmt(v.idle_per_second.total, 0),
      ]);
    }
    for (const d of r.differences) {
      const p = d.per_request;
      rows.push([d.label, signed(p.total, 0), signed(p.envoy, 0), signed(p.tcmalloc, 0), signed(p.jit, 0), signed(p.libc, 0), signed(p.other, 0), "", "", ""]);
    }
    lines.push(table(rows));
  }
  lines.push(...skipped, ...notes);
  const load1 = loadavg();
  console.log("\n" + lines.join("\n"));

  // ---- the JSON, next to bench.ts's (one file per commit)
  const out = o.out ?? join(ROOT, "bench/results", `${sha}${dirty ? "-dirty" : ""}-profile${o.close ? "-close" : ""}.json`);
  mkdirSync(join(out, ".."), { recursive: true });
  const result = {
    kind: "profile",
    commit: sha,
    dirty,
    started_at: startedAt,
    finished_at: new Date().toISOString(),
    machine: { cpus: availableParallelism(), load_average_start: load0, load_average_end: load1 },
    envoy: envoyVersion(),
    valgrind: execFileSync("valgrind", ["--version"]).toString().trim(),
    options: { ...o, only: [...o.only] },
    wasm_bytes: Object.fromEntries(variants.filter((v) => v.wasm !== null).map((v) => [v.name, statSync(v.wasm!).size])),
    listeners: results,
    skipped,
    notes,
    table: lines.join("\n"),
  };
  writeFileSync(out, JSON.stringify(result, null, 2) + "\n");
  console.log(`\nresults: ${relative(process.cwd(), out)}\ncallgrind dumps: ${relative(process.cwd(), dir)}`);
}
