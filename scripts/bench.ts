// npm run bench: what sitio costs, measured side by side with the same Envoy
// without it.
//
// Pairs: Envoy on the shipped envoy/envoy.yaml ("with") and on the same text
// minus one sitio filter block ("without"), both running at once, one worker
// each. The load alternates between the two, round after round (with/without,
// then without/with), and every figure is the median over rounds, so a busy
// machine slows both sides alike rather than one of them.
//
//   1. keep-alive throughput: wrk, HTTP/1.1, fixed connections → requests/s,
//      Envoy CPU per request; then one connection → added p50/p99 latency.
//   2. new connections with N idle keep-alive connections open (N = 10, 1000,
//      5000): Envoy CPU per new connection, connect-to-response p50/p99.
//
// Options: --quick, --rounds N, --seconds S, --connections C, --idle 10,1000,5000,
// --new M, --only l4,l7,conn, --out file.json
//
// --profile: instead of the timings above, instructions per request under
// callgrind, split by where they run (Envoy and V8, tcmalloc, the JIT-compiled
// wasm, libc),
// for Envoy without sitio, two floor modules (empty callbacks; callbacks that
// only read what sitio reads) and build/sitio.wasm, side by side
// (scripts/bench/profile.ts; docs/performance.md, "Profile: instructions per
// request"). Needs valgrind. With --only l4,l7, --requests N (2000),
// --warmup N (1000), --idle-seconds S (10), --close (each request on a new
// connection: the profile of a new connection), --wasm NAME=FILE (repeatable: more
// modules in the same run, e.g. a build of an older commit), --config FILE
// (every variant cut from that config instead of envoy/envoy.yaml, e.g. the
// older commit's), --out file.json (default bench/results/<commit>-profile.json).

import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { basename, join, relative } from "node:path";
import { availableParallelism, loadavg } from "node:os";
import { ROOT, SHIPPED_CONFIG, WASM, envoyBinary, sleep, startEnvoy, type Envoy } from "../tests/harness/envoy.js";
import { hasWasmFilter, withClusterConnections, withoutWasmFilter, type FilterKind } from "./bench/config_variants.js";
import { globalConnectionLimit, withGlobalConnectionLimit } from "../tests/harness/config_text.js";
import { cpuMicros, schedMicros } from "./bench/cpu.js";
import { allOpen, closeAll, openIdle, shortConnections } from "./bench/connections.js";
import { median, pairedMedian, percentile } from "./bench/stats.js";
import { checkWrk, runWrk, type WrkResult } from "./bench/wrk.js";
import { commit, envoyVersion, fmt, signed, table } from "./bench/report.js";
import { runProfile } from "./bench/profile.js";

// ---------------------------------------------------------------- options

interface Options {
  rounds: number;
  seconds: number;
  connections: number;
  idle: number[];
  newConnections: number;
  only: Set<string>;
  out: string | null;
  quick: boolean;
  /** --profile: instructions per request under callgrind (scripts/bench/profile.ts) instead of the timings. */
  profile: boolean;
  requests: number;
  warmup: number;
  idleSeconds: number;
  close: boolean;
  wasm: { name: string; file: string }[];
  config: string | null;
}

function parseOptions(argv: string[]): Options {
  const quick = argv.includes("--quick");
  const o: Options = {
    rounds: quick ? 2 : 5,
    seconds: quick ? 2 : 10,
    connections: 10,
    idle: [10, 1000, 5000],
    newConnections: quick ? 300 : 2000,
    only: new Set(["l4", "l7", "conn"]),
    out: null,
    quick,
    profile: false,
    requests: 2000,
    warmup: 1000,
    idleSeconds: 10,
    close: false,
    wasm: [],
    config: null,
  };
  for (let i = 0; i < argv.length; i++) {
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${argv[i - 1]} needs a value`);
      return v;
    };
    switch (argv[i]) {
      case "--quick":
        break;
      case "--rounds":
        o.rounds = Number(value());
        break;
      case "--seconds":
        o.seconds = Number(value());
        break;
      case "--connections":
        o.connections = Number(value());
        break;
      case "--idle":
        o.idle = value().split(",").map(Number);
        break;
      case "--new":
        o.newConnections = Number(value());
        break;
      case "--only":
        o.only = new Set(value().split(","));
        break;
      case "--out":
        o.out = value();
        break;
      case "--profile":
        o.profile = true;
        break;
      case "--requests":
        o.requests = positive(argv[i], value());
        break;
      case "--warmup":
        o.warmup = positive(argv[i], value());
        break;
      case "--idle-seconds":
        o.idleSeconds = positive(argv[i], value());
        break;
      case "--config":
        o.config = value();
        break;
      case "--close":
        o.close = true;
        break;
      case "--wasm": {
        // NAME=FILE, or FILE (named after the file)
        const v = value();
        const eq = v.indexOf("=");
        const file = eq > 0 ? v.slice(eq + 1) : v;
        const name = eq > 0 ? v.slice(0, eq) : basename(file).replace(/\.wasm$/, "");
        if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new Error(`--wasm ${v}: the name must be letters, digits, "_", "." or "-"`);
        if (o.wasm.some((w) => w.name === name)) throw new Error(`--wasm ${v}: ${name} is named twice`);
        o.wasm.push({ name, file });
        break;
      }
      default:
        throw new Error(`unknown option ${argv[i]} (see the header of scripts/bench.ts)`);
    }
  }
  if (!o.profile && (o.wasm.length > 0 || argv.some((a) => ["--requests", "--warmup", "--idle-seconds", "--config", "--close"].includes(a)))) {
    throw new Error("--requests, --warmup, --idle-seconds, --close, --wasm and --config go with --profile");
  }
  return o;
}

function positive(option: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${option} needs a whole number above 0, not ${v}`);
  return n;
}

// ---------------------------------------------------------------- the two sides of a pair

interface Side {
  label: "with" | "without";
  envoy: Envoy;
}

interface Pair {
  name: string;
  port: number;
  with: Side;
  without: Side;
}

/** CPU used by Envoy so far (µs): scheduler time when the kernel has it, else utime+stime. */
interface CpuSnapshot {
  sched: number | null;
  stat: number;
}

function cpu(side: Side): CpuSnapshot {
  const pid = side.envoy.process.pid!;
  return { sched: schedMicros(pid), stat: cpuMicros(pid) };
}

function cpuDelta(a: CpuSnapshot, b: CpuSnapshot): { us: number; source: string } {
  if (a.sched !== null && b.sched !== null) return { us: b.sched - a.sched, source: "schedstat" };
  return { us: b.stat - a.stat, source: "stat" };
}

/** Envoy as `npm start` runs it (log level warning), on this config text. */
function start(name: string, configText: string): Promise<Envoy> {
  return startEnvoy({ name: `bench-${name}`, configText, logArgs: ["--log-level", "warning"] });
}

/** "with" runs `base` (the shipped text), "without" the same minus the sitio filter; `tag` names Envoy's files in .test-logs/. */
async function startPair(name: string, tag: string, port: number, kind: FilterKind, base: string): Promise<Pair> {
  const without = withoutWasmFilter(base, port, kind);
  const [w, wo] = await Promise.all([start(`${tag}-with`, base), start(`${tag}-without`, without)]);
  return { name, port, with: { label: "with", envoy: w }, without: { label: "without", envoy: wo } };
}

async function stopPair(p: Pair): Promise<void> {
  await Promise.all([p.with.envoy.stop(), p.without.envoy.stop()]);
}

/** Each round visits both sides, alternating which goes first. */
function roundOrder(p: Pair, round: number): Side[] {
  return round % 2 === 0 ? [p.with, p.without] : [p.without, p.with];
}

// ---------------------------------------------------------------- 1. keep-alive throughput and latency

interface ThroughputRound {
  throughput: WrkResult;
  latency: WrkResult;
  cpu_us_per_request: number;
}

interface ThroughputResult {
  pair: string;
  port: number;
  with: ThroughputRound[];
  without: ThroughputRound[];
  summary: {
    rps_with: number;
    rps_without: number;
    rps_ratio: number;
    p50_with_us: number;
    p50_without_us: number;
    added_p50_us: number;
    p99_with_us: number;
    p99_without_us: number;
    added_p99_us: number;
    cpu_us_per_request_with: number;
    cpu_us_per_request_without: number;
    added_cpu_us_per_request: number;
  };
}

async function throughputPair(p: Pair, o: Options, log: (s: string) => void): Promise<ThroughputResult> {
  const url = (s: Side) => `http://127.0.0.1:${s.envoy.port(p.port)}/`;
  // Warm-up: V8 tiers the wasm up and Envoy fills its pools before anything counts.
  for (const s of [p.with, p.without]) await runWrk({ url: url(s), connections: o.connections, seconds: Math.max(1, o.seconds / 2) });
  const rounds: Record<Side["label"], ThroughputRound[]> = { with: [], without: [] };
  for (let r = 0; r < o.rounds; r++) {
    for (const s of roundOrder(p, r)) {
      const before = cpu(s);
      const throughput = await runWrk({ url: url(s), connections: o.connections, seconds: o.seconds });
      const used = cpuDelta(before, cpu(s));
      const latency = await runWrk({ url: url(s), connections: 1, seconds: Math.max(1, o.seconds / 2) });
      for (const w of [throughput, latency]) {
        const e = w.errors;
        if (e.connect + e.read + e.write + e.status + e.timeout > 0) throw new Error(`${p.name} ${s.label}: wrk saw errors ${JSON.stringify(e)}`);
      }
      rounds[s.label].push({ throughput, latency, cpu_us_per_request: used.us / throughput.requests });
      log(
        `  ${p.name} round ${r + 1}/${o.rounds} ${s.label.padEnd(7)} ${fmt(throughput.requests_per_s, 0)} req/s, p50 ${latency.p50_us} µs, p99 ${latency.p99_us} µs, ${fmt(used.us / throughput.requests, 2)} µs CPU/req`,
      );
    }
  }
  const w = rounds.with;
  const wo = rounds.without;
  const rps = (x: ThroughputRound[]) => x.map((r) => r.throughput.requests_per_s);
  const p50 = (x: ThroughputRound[]) => x.map((r) => r.latency.p50_us);
  const p99 = (x: ThroughputRound[]) => x.map((r) => r.latency.p99_us);
  const cpuReq = (x: ThroughputRound[]) => x.map((r) => r.cpu_us_per_request);
  const ratio = (a: number, b: number) => a / b;
  const diff = (a: number, b: number) => a - b;
  return {
    pair: p.name,
    port: p.port,
    with: w,
    without: wo,
    summary: {
      rps_with: median(rps(w)),
      rps_without: median(rps(wo)),
      rps_ratio: pairedMedian(rps(w), rps(wo), ratio),
      p50_with_us: median(p50(w)),
      p50_without_us: median(p50(wo)),
      added_p50_us: pairedMedian(p50(w), p50(wo), diff),
      p99_with_us: median(p99(w)),
      p99_without_us: median(p99(wo)),
      added_p99_us: pairedMedian(p99(w), p99(wo), diff),
      cpu_us_per_request_with: median(cpuReq(w)),
      cpu_us_per_request_without: median(cpuReq(wo)),
      added_cpu_us_per_request: pairedMedian(cpuReq(w), cpuReq(wo), diff),
    },
  };
}

// ---------------------------------------------------------------- 2. new connections vs live connections

interface NewConnRound {
  cpu_us_per_connection: number;
  p50_us: number;
  p99_us: number;
}

interface NewConnRow {
  idle: number;
  with: NewConnRound[];
  without: NewConnRound[];
  summary: {
    cpu_us_per_connection_with: number;
    cpu_us_per_connection_without: number;
    p50_with_us: number;
    p50_without_us: number;
    p99_with_us: number;
    p99_without_us: number;
  };
}

/** Polls Envoy's listener gauge until `n` downstream connections are open on `port`. */
async function waitForActive(s: Side, port: number, n: number): Promise<void> {
  const stat = `listener.0.0.0.0_${s.envoy.port(port)}.downstream_cx_active`;
  const deadline = Date.now() + 30_000;
  let last = NaN;
  while (Date.now() < deadline) {
    const text = await (await fetch(`${s.envoy.admin}/stats?filter=${encodeURIComponent(`^${stat.replaceAll(".", "\\.")}$`)}`)).text();
    const m = /: (\d+)/.exec(text);
    last = m ? Number(m[1]) : NaN;
    if (last === n) return;
    await sleep(100);
  }
  throw new Error(`${s.label}: ${stat} is ${last}, expected ${n}`);
}

async function newConnectionRows(p: Pair, o: Options, log: (s: string) => void): Promise<NewConnRow[]> {
  const rows: NewConnRow[] = [];
  const port = (s: Side) => s.envoy.port(p.port);
  // Warm-up, as above.
  for (const s of [p.with, p.without]) await shortConnections(port(s), Math.min(200, o.newConnections));
  for (const n of o.idle) {
    const idle = { with: await openIdle(port(p.with), n), without: await openIdle(port(p.without), n) };
    try {
      for (const s of [p.with, p.without]) await waitForActive(s, p.port, n);
      const rounds: Record<Side["label"], NewConnRound[]> = { with: [], without: [] };
      for (let r = 0; r < o.rounds; r++) {
        for (const s of roundOrder(p, r)) {
          const before = cpu(s);
          const micros = await shortConnections(port(s), o.newConnections);
          // The last close is still being handled when its socket reports closed.
          await waitForActive(s, p.port, n);
          const used = cpuDelta(before, cpu(s));
          const round = { cpu_us_per_connection: used.us / o.newConnections, p50_us: percentile(micros, 50), p99_us: percentile(micros, 99) };
          rounds[s.label].push(round);
          log(
            `  ${n} idle, round ${r + 1}/${o.rounds} ${s.label.padEnd(7)} ${fmt(round.cpu_us_per_connection, 1)} µs CPU/conn, p50 ${fmt(round.p50_us, 0)} µs, p99 ${fmt(round.p99_us, 0)} µs`,
          );
        }
      }
      if (!allOpen(idle.with) || !allOpen(idle.without)) throw new Error(`some of the ${n} idle connections were closed during the measurement`);
      const pick = (x: NewConnRound[], f: (r: NewConnRound) => number) => median(x.map(f));
      rows.push({
        idle: n,
        with: rounds.with,
        without: rounds.without,
        summary: {
          cpu_us_per_connection_with: pick(rounds.with, (r) => r.cpu_us_per_connection),
          cpu_us_per_connection_without: pick(rounds.without, (r) => r.cpu_us_per_connection),
          p50_with_us: pick(rounds.with, (r) => r.p50_us),
          p50_without_us: pick(rounds.without, (r) => r.p50_us),
          p99_with_us: pick(rounds.with, (r) => r.p99_us),
          p99_without_us: pick(rounds.without, (r) => r.p99_us),
        },
      });
    } finally {
      closeAll(idle.with);
      closeAll(idle.without);
      for (const s of [p.with, p.without]) await waitForActive(s, p.port, 0);
    }
  }
  return rows;
}

// ---------------------------------------------------------------- machine, output

/** Lets this process and the Envoys it starts hold many sockets (5,000 idle connections ≈ 15,000 fds in Envoy). */
function raiseFdLimit(want: number): number {
  const limits = () =>
    execFileSync("prlimit", ["--pid", String(process.pid), "--nofile", "--output", "SOFT,HARD", "--noheadings"])
      .toString()
      .trim()
      .split(/\s+/)
      .map(Number);
  try {
    execFileSync("prlimit", ["--pid", String(process.pid), `--nofile=${want}:${want}`], { stdio: "ignore" });
  } catch {
    // Not allowed to raise the hard limit: take the soft one up to it.
    try {
      const hard = limits()[1];
      execFileSync("prlimit", ["--pid", String(process.pid), `--nofile=${hard}:${hard}`], { stdio: "ignore" });
    } catch {
      /* keep what we have */
    }
  }
  try {
    return limits()[0];
  } catch {
    return NaN;
  }
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  if (o.profile) {
    const only = new Set([...o.only].filter((k) => k !== "conn"));
    return runProfile({ only, requests: o.requests, warmup: o.warmup, idleSeconds: o.idleSeconds, close: o.close, wasm: o.wasm, config: o.config, out: o.out });
  }
  const missing = await checkWrk();
  if (missing) throw new Error(missing);
  if (!existsSync(WASM)) throw new Error(`${WASM} is missing: run \`npm run build\``);
  envoyBinary();
  const fdLimit = raiseFdLimit(65536);
  const maxIdle = Math.max(0, ...o.idle);
  // Each proxied idle connection holds three sockets in Envoy (client side, upstream, the backend's accept).
  if (o.only.has("conn") && fdLimit < maxIdle * 3 + 1000)
    throw new Error(`the open-file limit is ${fdLimit}; ${maxIdle} idle connections need about ${maxIdle * 3 + 1000} (run as root, or lower --idle)`);

  const shipped = readFileSync(SHIPPED_CONFIG, "utf8");
  const wasmBytes = statSync(WASM).size;
  const { sha, dirty } = commit();
  const startedAt = new Date().toISOString();
  const load0 = loadavg();
  const lines: string[] = [];
  const log = (s: string) => console.error(s);
  log(
    `sitio bench: ${o.rounds} rounds × ${o.seconds} s, ${o.connections} connections (latency: 1 connection); new connections: ${o.newConnections} per round with ${o.idle.join(", ")} idle; load average ${load0.map((x) => x.toFixed(2)).join(" ")} on ${availableParallelism()} CPUs`,
  );

  const throughput: ThroughputResult[] = [];
  const skipped: string[] = [];
  const pairs: { name: string; port: number; kind: FilterKind; key: string }[] = [
    { name: "L4 :18000 network filter", port: 18000, kind: "network", key: "l4" },
    { name: "L7 :18080 HTTP filter", port: 18080, kind: "http", key: "l7" },
  ];
  for (const def of pairs) {
    if (!o.only.has(def.key)) continue;
    if (!hasWasmFilter(shipped, def.port, def.kind)) {
      const note = `${def.name}: skipped, envoy/envoy.yaml has no listener on :${def.port} with the sitio ${def.kind} filter`;
      skipped.push(note);
      log(note);
      continue;
    }
    log(`${def.name}:`);
    const p = await startPair(def.name, def.key, def.port, def.kind, shipped);
    try {
      throughput.push(await throughputPair(p, o, log));
    } finally {
      await stopPair(p);
    }
  }

  let newConnections: NewConnRow[] = [];
  if (o.only.has("conn")) {
    log("new connections through L4 :18000:");
    // Room for every idle connection upstream (Envoy's default circuit breaker stops at 1,024), on both sides,
    // and under the global downstream limit: each idle client holds two downstream connections of the same
    // Envoy (its own on :18000 and Envoy's to the example service on :8099).
    const needed = maxIdle * 2 + 1000;
    const roomy = withGlobalConnectionLimit(withClusterConnections(shipped, "web_service", needed), Math.max(needed, globalConnectionLimit(shipped)));
    const p = await startPair("L4 :18000 new connections", "conn", 18000, "network", roomy);
    try {
      newConnections = await newConnectionRows(p, o, log);
    } finally {
      await stopPair(p);
    }
  }

  // ---- the table
  const busy = load0[0] > availableParallelism() * 0.5 ? ` (machine busy: load average ${load0[0].toFixed(2)} at start)` : "";
  lines.push(`sitio ${sha}${dirty ? "+changes" : ""}: build/sitio.wasm ${fmt(wasmBytes, 0)} bytes (${fmt(wasmBytes / 1024, 1)} KiB)${busy}`);
  lines.push(
    `keep-alive HTTP/1.1, medians of ${o.rounds} alternating rounds: ${o.seconds} s × ${o.connections} connections for req/s and CPU, ${fmt(Math.max(1, o.seconds / 2), 0)} s × 1 connection for latency`,
  );
  const t: string[][] = [
    ["pair", "req/s with", "without", "ratio", "p50 with", "without", "added", "p99 with", "without", "added", "CPU/req with", "without", "added"],
  ];
  for (const r of throughput) {
    const s = r.summary;
    t.push([
      r.pair,
      fmt(s.rps_with, 0),
      fmt(s.rps_without, 0),
      fmt(s.rps_ratio, 3),
      `${fmt(s.p50_with_us, 0)} µs`,
      `${fmt(s.p50_without_us, 0)} µs`,
      `${signed(s.added_p50_us, 0)} µs`,
      `${fmt(s.p99_with_us, 0)} µs`,
      `${fmt(s.p99_without_us, 0)} µs`,
      `${signed(s.added_p99_us, 0)} µs`,
      `${fmt(s.cpu_us_per_request_with, 2)} µs`,
      `${fmt(s.cpu_us_per_request_without, 2)} µs`,
      `${signed(s.added_cpu_us_per_request, 2)} µs`,
    ]);
  }
  if (throughput.length > 0) lines.push(table(t));
  lines.push(...skipped);
  if (newConnections.length > 0) {
    lines.push("");
    lines.push(
      `new connections through :18000 (connect, GET, full response, close; ${o.newConnections} one after another per round, medians of ${o.rounds} rounds)`,
    );
    const n: string[][] = [["idle connections", "CPU/conn with", "without", "added", "p50 with", "without", "p99 with", "without"]];
    for (const row of newConnections) {
      const s = row.summary;
      n.push([
        fmt(row.idle, 0),
        `${fmt(s.cpu_us_per_connection_with, 1)} µs`,
        `${fmt(s.cpu_us_per_connection_without, 1)} µs`,
        `${signed(s.cpu_us_per_connection_with - s.cpu_us_per_connection_without, 1)} µs`,
        `${fmt(s.p50_with_us, 0)} µs`,
        `${fmt(s.p50_without_us, 0)} µs`,
        `${fmt(s.p99_with_us, 0)} µs`,
        `${fmt(s.p99_without_us, 0)} µs`,
      ]);
    }
    lines.push(table(n));
    const first = newConnections[0];
    const last = newConnections[newConnections.length - 1];
    if (first !== last) {
      const r = (f: (x: NewConnRow["summary"]) => number) => fmt(f(last.summary) / f(first.summary), 3);
      lines.push(
        `${fmt(last.idle, 0)} vs ${fmt(first.idle, 0)} idle: CPU/conn with ×${r((s) => s.cpu_us_per_connection_with)}, without ×${r((s) => s.cpu_us_per_connection_without)}; ` +
          `p50 with ×${r((s) => s.p50_with_us)}, without ×${r((s) => s.p50_without_us)}`,
      );
    }
  }
  const load1 = loadavg();
  lines.push(`load average ${load0[0].toFixed(2)} at start, ${load1[0].toFixed(2)} at end, ${availableParallelism()} CPUs`);
  console.log("\n" + lines.join("\n"));

  // ---- the JSON, one file per commit so runs can be compared (git diff --no-index, jq)
  const out = o.out ?? join(ROOT, "bench/results", `${sha}${dirty ? "-dirty" : ""}${o.quick ? "-quick" : ""}.json`);
  mkdirSync(join(out, ".."), { recursive: true });
  const result = {
    commit: sha,
    dirty,
    started_at: startedAt,
    finished_at: new Date().toISOString(),
    machine: { cpus: availableParallelism(), load_average_start: load0, load_average_end: load1 },
    envoy: envoyVersion(),
    options: { ...o, only: [...o.only] },
    wasm_bytes: wasmBytes,
    throughput,
    skipped,
    new_connections: newConnections,
    table: lines.join("\n"),
  };
  writeFileSync(out, JSON.stringify(result, null, 2) + "\n");
  console.log(`\nresults: ${relative(process.cwd(), out)}`);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
