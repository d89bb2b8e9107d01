// startPrometheus(): a real Prometheus (the `prometheus` binary on PATH, Debian's package)
// on the shipped envoy/prometheus.yml, scraping Envoy's /stats/prometheus, on a free port,
// with its data in .test-logs/. Only the scrape target and the interval are changed.

import { spawn } from "node:child_process";
import { createWriteStream, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT, freePort, sleep } from "./envoy.js";
import { stopProcess } from "./process.js";

export const SHIPPED_PROMETHEUS_CONFIG = join(ROOT, "envoy/prometheus.yml");

/** The shipped Prometheus config scraping `targets` every `interval` instead of 127.0.0.1:8001 every 5 s. */
export function remapPrometheusConfig(text: string, targets: string[], interval: string): string {
  const out = text
    .replace(/targets: \["127\.0\.0\.1:8001"\]/, `targets: [${targets.map((t) => JSON.stringify(t)).join(", ")}]`)
    .replace(/(scrape_interval|evaluation_interval): 5s/g, `$1: ${interval}`);
  if (out.includes("127.0.0.1:8001") || out.includes(": 5s") || !out.includes(targets[0])) {
    throw new Error(`envoy/prometheus.yml changed shape: update remapPrometheusConfig()`);
  }
  return out;
}

export interface PromResult {
  metric: Record<string, string>;
  /** [unix seconds, value as Prometheus prints it ("NaN", "+Inf", "1.5")] */
  value: [number, string];
}

export interface Prometheus {
  url: string;
  /** An instant query through the HTTP API; throws on a query error. */
  query(expr: string): Promise<PromResult[]>;
  /** Runs `expr` until `check` accepts the result (or throws with the last result and log after `timeoutMs`). */
  waitFor(expr: string, check: (r: PromResult[]) => boolean, what: string, timeoutMs?: number): Promise<PromResult[]>;
  /** Values of one label across series matching `match`, from /api/v1/label/<name>/values. */
  labelValues(label: string, match: string): Promise<string[]>;
  logTail(lines?: number): string;
  stop(): Promise<void>;
}

export interface PrometheusOptions {
  name: string;
  /** Envoy admin addresses to scrape, "127.0.0.1:port". */
  targets: string[];
  /** Scrape interval; short so tests see new traffic within a second or two. */
  interval?: string;
}

export async function startPrometheus(opts: PrometheusOptions): Promise<Prometheus> {
  const port = await freePort();
  const dir = join(ROOT, ".test-logs", `${opts.name}-prometheus-${process.pid}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const configFile = join(dir, "prometheus.yml");
  writeFileSync(configFile, remapPrometheusConfig(readFileSync(SHIPPED_PROMETHEUS_CONFIG, "utf8"), opts.targets, opts.interval ?? "1s"));
  const logFile = join(dir, "prometheus.log");
  const log = createWriteStream(logFile);
  const child = spawn(
    "prometheus",
    [`--config.file=${configFile}`, `--storage.tsdb.path=${join(dir, "data")}`, `--web.listen-address=127.0.0.1:${port}`, "--log.level=warn"],
    { cwd: dir, stdio: ["ignore", "pipe", "pipe"] },
  );
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  let exited = false;
  child.on("exit", () => (exited = true));
  child.on("error", () => (exited = true));
  const url = `http://127.0.0.1:${port}`;
  const logTail = (lines = 30) => {
    try {
      return readFileSync(logFile, "utf8").split("\n").slice(-lines).join("\n");
    } catch {
      return "";
    }
  };

  async function api<T>(path: string): Promise<T> {
    const r = await fetch(`${url}${path}`);
    const body = (await r.json()) as { status: string; data: T; error?: string };
    if (body.status !== "success") throw new Error(`Prometheus ${path}: ${body.error}`);
    return body.data;
  }

  const prometheus: Prometheus = {
    url,
    logTail,
    async query(expr) {
      const data = await api<{ resultType: string; result: PromResult[] }>(`/api/v1/query?query=${encodeURIComponent(expr)}`);
      if (data.resultType !== "vector") throw new Error(`${expr}: a ${data.resultType}, not an instant vector`);
      return data.result;
    },
    async waitFor(expr, check, what, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const result = await prometheus.query(expr);
        if (check(result)) return result;
        if (Date.now() > deadline) {
          throw new Error(`timed out waiting for ${what}: ${expr}\n--- last result: ${JSON.stringify(result)}\n--- prometheus log:\n${logTail()}`);
        }
        await sleep(200);
      }
    },
    async labelValues(label, match) {
      return api<string[]>(`/api/v1/label/${encodeURIComponent(label)}/values?match[]=${encodeURIComponent(match)}`);
    },
    async stop() {
      if (exited) return;
      await stopProcess(child);
    },
  };

  const deadline = Date.now() + 20_000;
  for (;;) {
    if (exited) throw new Error(`Prometheus exited during start-up (${logFile}):\n${logTail()}`);
    try {
      if ((await fetch(`${url}/-/ready`)).status === 200) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      await prometheus.stop();
      throw new Error(`Prometheus not ready after 20 s (${logFile}):\n${logTail()}`);
    }
    await sleep(100);
  }
  return prometheus;
}
