// Runs wrk (HTTP/1.1 keep-alive, fixed connections) and reads its report.

import { execFile, spawn } from "node:child_process";
import { join } from "node:path";

const REPORT = join(import.meta.dirname, "wrk_report.lua");
const COUNT = join(import.meta.dirname, "wrk_count.lua");

export interface WrkResult {
  requests: number;
  duration_us: number;
  requests_per_s: number;
  p50_us: number;
  p90_us: number;
  p99_us: number;
  max_us: number;
  mean_us: number;
  errors: { connect: number; read: number; write: number; status: number; timeout: number };
}

export interface WrkLoad {
  url: string;
  connections: number;
  seconds: number;
  /** wrk threads; one leaves the other core to Envoy's single worker. */
  threads?: number;
}

/** The wrk binary, or a message saying how to get it. */
export async function checkWrk(): Promise<string | null> {
  return new Promise((ok) =>
    execFile("wrk", ["--version"], (err, stdout, stderr) =>
      ok(/wrk/.test(stdout + stderr) ? null : `wrk not found (${err?.message}): install it with \`apt-get update && apt-get install -y wrk\``),
    ),
  );
}

export function runWrk(load: WrkLoad): Promise<WrkResult> {
  const args = ["-t", String(load.threads ?? 1), "-c", String(load.connections), "-d", `${load.seconds}s`, "--timeout", "5s", "-s", REPORT, load.url];
  return new Promise((ok, fail) => {
    execFile("wrk", args, { maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      const line = stdout.split("\n").find((l) => l.startsWith("SITIO_WRK "));
      if (err || !line) return fail(new Error(`wrk ${args.join(" ")} failed: ${err?.message ?? ""}\n${stdout}\n${stderr}`));
      const r = JSON.parse(line.slice("SITIO_WRK ".length)) as Omit<WrkResult, "requests_per_s">;
      ok({ ...r, requests_per_s: r.requests / (r.duration_us / 1e6) });
    });
  });
}

/**
 * Exactly `requests` requests, one after another on one keep-alive connection
 * (one thread), then wrk is told to stop (wrk_count.lua); no request is in
 * flight when this resolves. `timeoutSeconds` bounds the whole run. With
 * `close`, each request says `Connection: close`: the service closes after its
 * response and wrk opens a new connection for the next one.
 */
export function runWrkRequests(url: string, requests: number, timeoutSeconds: number, close = false): Promise<WrkResult> {
  const header = close ? ["-H", "Connection: close"] : [];
  const args = ["-t", "1", "-c", "1", "-d", `${timeoutSeconds}s`, "--timeout", "30s", ...header, "-s", COUNT, url, "--", String(requests)];
  return new Promise((ok, fail) => {
    const child = spawn("wrk", args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let done = false;
    child.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
    child.stderr.on("data", (b: Buffer) => {
      stderr += b.toString();
      if (!done && stderr.includes("SITIO_WRK_DONE")) {
        done = true;
        child.kill("SIGINT"); // wrk ends its run early on SIGINT and reports
      }
    });
    child.on("error", fail);
    child.on("close", (code) => {
      const line = stdout.split("\n").find((l) => l.startsWith("SITIO_WRK "));
      if (!line) return fail(new Error(`wrk ${args.join(" ")} failed (exit ${code}):\n${stdout}\n${stderr}`));
      const r = JSON.parse(line.slice("SITIO_WRK ".length)) as Omit<WrkResult, "requests_per_s">;
      if (!done) return fail(new Error(`wrk made ${r.requests} of ${requests} requests in ${timeoutSeconds} s`));
      ok({ ...r, requests_per_s: r.requests / (r.duration_us / 1e6) });
    });
  });
}
