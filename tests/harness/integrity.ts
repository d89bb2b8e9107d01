// Runs pipelines (harness/pipelines.ts) through Envoy's :18000 listener
// against a pipeline upstream (harness/pipeline_upstream.ts) and compares the
// client's bytes with the model. Shared by tests/envoy/byte_integrity.test.ts
// and `npm run integrity` (scripts/integrity.ts).

import { connect } from "node:net";
import {
  expectedBytes,
  firstDifference,
  locate,
  mismatchReport,
  pipelineName,
  requestBytes,
  script,
  show,
  upstreamBytes,
  type Page,
  type Pipeline,
} from "./pipelines.js";
import type { ConnectionRecord, Pause, PipelineUpstream } from "./pipeline_upstream.js";
import type { Sample } from "./prometheus.js";

export interface ClientResult {
  /** Every byte the client received. */
  received: Buffer;
  /** How the read ended. */
  ended: "close" | "timeout" | "error";
  error?: string;
}

function pause(p: Pause): Promise<void> {
  if (p === "none") return Promise.resolve();
  if (p === "tick") return new Promise((ok) => setImmediate(ok));
  return new Promise((ok) => setTimeout(ok, p));
}

/**
 * Writes `p`'s request bytes in its scripted writes, then reads until the
 * connection ends (the upstream closes after its last response, and Envoy
 * passes the close on), or `timeoutMs` passes.
 */
export async function runClient(port: number, p: Pipeline, timeoutMs: number): Promise<ClientResult> {
  const sock = connect({ port, host: "127.0.0.1", noDelay: true });
  const got: Buffer[] = [];
  return new Promise<ClientResult>((resolve) => {
    let settled = false;
    const settle = (ended: ClientResult["ended"], error?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ received: Buffer.concat(got), ended, error });
    };
    const timer = setTimeout(() => settle("timeout"), timeoutMs);
    sock.on("data", (d: Buffer) => got.push(d));
    sock.on("end", () => settle("close"));
    sock.on("close", () => settle("close"));
    sock.on("error", (e) => settle("error", e.message));
    sock.once("connect", async () => {
      for (const w of p.clientWrites) {
        await pause(w.pause);
        if (settled || sock.destroyed) return;
        sock.write(w.bytes);
      }
    });
  });
}

export interface PipelineResult {
  pipeline: Pipeline;
  expected: Buffer;
  client: ClientResult;
  upstream: ConnectionRecord;
  /** Empty when the client got exactly the model's bytes and the upstream exactly the client's. */
  failures: string[];
  /** Where the client's bytes first differ from the model's: the response it falls in (undefined when they are equal). */
  firstDiff?: { offset: number; response: number };
  ms: number;
}

/** Runs one pipeline and checks it against the model. */
export async function runPipeline(port: number, upstream: PipelineUpstream, page: Page, p: Pipeline, timeoutMs = 30_000): Promise<PipelineResult> {
  const started = Date.now();
  const record = upstream.expect(p.id, script(p));
  const client = await runClient(port, p, timeoutMs);
  // the upstream's side closes at most shortly after the client's
  let timer: NodeJS.Timeout | undefined;
  const upstreamRecord = await Promise.race([
    record,
    new Promise<ConnectionRecord>((ok) => {
      timer = setTimeout(
        () =>
          ok({
            received: Buffer.alloc(0),
            written: Buffer.alloc(0),
            requests: -1,
            problems: ["the upstream connection did not close within 5 s of the client's"],
          }),
        5_000,
      );
    }),
  ]);
  clearTimeout(timer);
  const expected = expectedBytes(p, page);
  const failures: string[] = [];
  let firstDiff: PipelineResult["firstDiff"];
  if (!client.received.equals(expected)) {
    const offset = firstDifference(expected, client.received);
    firstDiff = { offset, response: locate(p, page, offset).index };
    failures.push(
      mismatchReport(
        p,
        page,
        expected,
        client.received,
        client.ended === "close" ? "" : `the client's read ended by ${client.ended}${client.error ? `: ${client.error}` : ""}`,
      ),
    );
  }
  const sent = requestBytes(p);
  if (upstreamRecord.requests >= 0 && !upstreamRecord.received.equals(sent)) {
    const at = firstDifference(sent, upstreamRecord.received);
    failures.push(
      `REQUEST BYTES CHANGED ${pipelineName(p)}: the client sent ${sent.length} bytes, the upstream got ${upstreamRecord.received.length}; first difference at ${at}: sent ⟨${show(sent.subarray(at, at + 60))}⟩ got ⟨${show(upstreamRecord.received.subarray(at, at + 60))}⟩`,
    );
  }
  const scripted = Buffer.concat(p.responses.map(upstreamBytes));
  if (upstreamRecord.requests >= 0 && !upstreamRecord.written.equals(scripted)) {
    failures.push(
      `UPSTREAM ${pipelineName(p)}: wrote ${upstreamRecord.written.length} of the ${scripted.length} scripted response bytes (first difference at ${firstDifference(scripted, upstreamRecord.written)})`,
    );
  }
  if (upstreamRecord.problems.length > 0) failures.push(`UPSTREAM ${pipelineName(p)}: ${upstreamRecord.problems.join("; ")}`);
  return { pipeline: p, expected, client, upstream: upstreamRecord, failures, firstDiff, ms: Date.now() - started };
}

/** Runs `count` jobs, at most `concurrency` at once, in index order; `each` sees every result. */
export async function runPool<T>(count: number, concurrency: number, job: (i: number) => Promise<T>, each: (r: T, i: number) => void): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      each(await job(i), i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

/** What the pipelines should add to sitio's counters. */
export interface ExpectedCounts {
  requests: number;
  custom404: number;
  /** Final responses by status class ("2xx", …); interim 1xx responses complete nothing. */
  responses: Record<string, number>;
}

export function emptyCounts(): ExpectedCounts {
  return { requests: 0, custom404: 0, responses: {} };
}

/** Adds what pipeline `p` should add to sitio's counters to `c`. */
export function addCounts(c: ExpectedCounts, p: Pipeline): ExpectedCounts {
  c.requests += p.requests.length;
  for (const r of p.responses) {
    if (r.status === 404) c.custom404++;
    const cls = `${Math.floor(r.status / 100)}xx`;
    c.responses[cls] = (c.responses[cls] ?? 0) + 1;
  }
  return c;
}

/** sitio_web's counters, summed over their labels: what `ExpectedCounts` predicts. */
export function sitioCounts(samples: Sample[], plugin = "sitio_web"): ExpectedCounts {
  const c = emptyCounts();
  for (const s of samples) {
    if (s.labels.plugin !== plugin) continue;
    if (s.name === "sitio_tcp_requests_total") c.requests += s.value;
    else if (s.name === "sitio_tcp_custom_404_total") c.custom404 += s.value;
    else if (s.name === "sitio_tcp_responses_total") c.responses[s.labels.status] = (c.responses[s.labels.status] ?? 0) + s.value;
  }
  return c;
}

/** after − before, per counter. */
export function countsDelta(before: ExpectedCounts, after: ExpectedCounts): ExpectedCounts {
  const d: ExpectedCounts = { requests: after.requests - before.requests, custom404: after.custom404 - before.custom404, responses: {} };
  for (const k of [...new Set([...Object.keys(before.responses), ...Object.keys(after.responses)])].sort()) {
    const v = (after.responses[k] ?? 0) - (before.responses[k] ?? 0);
    if (v !== 0) d.responses[k] = v;
  }
  return d;
}
