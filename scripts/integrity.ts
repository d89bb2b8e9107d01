// Long byte-integrity runs of the L4 filter in the real Envoy:
//
//   npm run integrity -- --pipelines 1000000 [--seed 1] [--from 0] [--concurrency 6] [--verbose]
//
// Starts Envoy on the shipped envoy.yaml (web_service pointed at a scripted
// pipeline upstream), runs pipelines from (seed, index) — the same generator,
// model and upstream as tests/envoy/byte_integrity.test.ts — and prints the
// pipelines and bytes compared, the mismatches (each with its replay command),
// sitio's counters against the expected ones, and the throughput. Exit status
// 1 on any mismatch. `--from N --pipelines 1 --verbose` replays one pipeline
// and prints its whole script.

import { parseArgs } from "node:util";
import { startEnvoy } from "../tests/harness/envoy.js";
import { startPipelineUpstream } from "../tests/harness/pipeline_upstream.js";
import { describe, generatePipeline, shippedPage } from "../tests/harness/pipelines.js";
import {
  addCounts,
  countsDelta,
  emptyCounts,
  runPipeline,
  runPool,
  sitioCounts,
  type ExpectedCounts,
  type PipelineResult,
} from "../tests/harness/integrity.js";

const { values } = parseArgs({
  options: {
    pipelines: { type: "string", default: "1000" },
    seed: { type: "string", default: "1" },
    from: { type: "string", default: "0" },
    concurrency: { type: "string", default: "6" },
    "max-depth": { type: "string", default: "300" },
    "show-failures": { type: "string", default: "5" },
    verbose: { type: "boolean", default: false },
    "envoy-log": { type: "boolean", default: false },
    "classify-at": { type: "string", default: "1024" },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  console.log(`npm run integrity -- [options]
  --pipelines N     pipelines (connections) to run                        [1000]
  --seed S          generator seed                                        [1]
  --from F          first pipeline index (replay: --from F --pipelines 1)  [0]
  --concurrency C   connections at once                                   [6]
  --max-depth D     cap on requests per pipeline                          [300]
  --show-failures K mismatch reports printed in full                      [5]
  --verbose         print each pipeline's whole script
  --classify-at L   group mismatches by whether they start before response #L and
                    follow a HEAD request at position ≥ L (L: the filter's pending limit) [1024]
  --envoy-log       Envoy logs wasm at debug (path printed at the end; default: warnings only)`);
  process.exit(0);
}
const seed = Number(values.seed);
const from = Number(values.from);
const total = Number(values.pipelines);
const concurrency = Math.max(1, Number(values.concurrency));
const maxDepth = Number(values["max-depth"]);
const showFailures = Number(values["show-failures"]);

const page = shippedPage();
const upstream = await startPipelineUpstream();
const envoy = await startEnvoy({
  name: "integrity",
  upstreams: { web_service: upstream.port },
  logArgs: values["envoy-log"] ? undefined : ["--log-level", "warn"],
});
const port = envoy.port(18000);
const before = sitioCounts(await envoy.scrape());
const expected = emptyCounts();
const started = Date.now();
let done = 0;
let requests = 0;
let bytesCompared = 0;
let mismatched = 0;
let printed = 0;
const failedIndexes: number[] = [];
const kinds = new Map<string, number>();
const classifyAt = Number(values["classify-at"]);
const classes = new Map<string, number>();

/** A mismatch's shape: before or after response #L, in which exchange, after which HEAD at position ≥ L. */
function classify(r: PipelineResult): string {
  const i = r.firstDiff!.response;
  const p = r.pipeline;
  const where = i >= p.responses.length ? "past the last response" : `${p.requests[i].method} → ${p.responses[i].status}`;
  let head = -1;
  for (let k = classifyAt; k <= Math.min(i, p.requests.length - 1) && head < 0; k++)
    if (p.requests[k].method === "HEAD" && p.responses[k].status !== 304) head = k;
  const framing = (label: string) => (label.includes(" CL ") ? "Content-Length" : label.includes("TE chunked") ? "chunked" : "no length");
  const headKind = head < 0 ? "none" : `${p.responses[head].status} with ${framing(p.responses[head].label)}${head === i ? " (itself)" : ""}`;
  return `first difference in response #${i < classifyAt ? `<${classifyAt}` : `≥${classifyAt}`} (${where}); first HEAD (not answered 304) at #≥${classifyAt} up to there: ${headKind}`;
}
let lastProgress = Date.now();

const each = (r: PipelineResult) => {
  done++;
  requests += r.pipeline.requests.length;
  bytesCompared += r.expected.length + r.upstream.received.length;
  addCounts(expected, r.pipeline);
  if (values.verbose) console.log(describe(r.pipeline));
  if (r.failures.length > 0) {
    mismatched++;
    if (failedIndexes.length < 1000) failedIndexes.push(r.pipeline.index);
    for (const f of r.failures) {
      const kind = f.slice(0, f.indexOf(" seed "));
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
    }
    if (r.firstDiff) {
      const c = classify(r);
      classes.set(c, (classes.get(c) ?? 0) + 1);
    }
    if (printed++ < showFailures) console.log(r.failures.join("\n"));
  }
  if (Date.now() - lastProgress > 10_000) {
    lastProgress = Date.now();
    const s = (Date.now() - started) / 1000;
    console.log(`  … ${done}/${total} pipelines, ${mismatched} mismatched, ${(done / s).toFixed(0)} pipelines/s, ${(requests / s).toFixed(0)} requests/s`);
  }
};

try {
  await runPool(total, concurrency, (i) => runPipeline(port, upstream, page, generatePipeline(seed, from + i, { maxDepth })), each);
} finally {
  const seconds = (Date.now() - started) / 1000;
  let after: ExpectedCounts | undefined;
  try {
    after = sitioCounts(await envoy.scrape());
  } catch {
    /* Envoy gone */
  }
  await envoy.stop();
  await upstream.stop();
  if (values["envoy-log"]) console.log(`Envoy log: ${envoy.logFile}`);
  console.log(
    `integrity seed ${seed} pipelines ${from}..${from + done - 1}: ${done} pipelines, ${requests} requests, ` +
      `${(bytesCompared / 2 ** 20).toFixed(1)} MiB compared, ${mismatched} mismatched, ${seconds.toFixed(1)} s ` +
      `(${(done / seconds).toFixed(1)} pipelines/s, ${(requests / seconds).toFixed(0)} requests/s, ${(bytesCompared / 2 ** 20 / seconds).toFixed(2)} MiB/s)`,
  );
  for (const [k, n] of kinds) console.log(`  ${k}: ${n} pipelines`);
  for (const [k, n] of [...classes].sort((a, b) => b[1] - a[1])) console.log(`    ${n} × ${k}`);
  if (failedIndexes.length)
    console.log(
      `  failed pipelines: ${failedIndexes
        .sort((a, b) => a - b)
        .slice(0, 200)
        .join(" ")}${mismatched > 200 ? " …" : ""}`,
    );
  if (upstream.strays.length) console.log(`  stray upstream connections: ${upstream.strays.length}: ${upstream.strays.slice(0, 3).join(" | ")}`);
  if (after) {
    const got = countsDelta(before, after);
    const ok = JSON.stringify(got) === JSON.stringify({ ...expected, responses: Object.fromEntries(Object.entries(expected.responses).sort()) });
    console.log(`  sitio counted: ${JSON.stringify(got)}`);
    console.log(
      `  expected:      ${JSON.stringify({ ...expected, responses: Object.fromEntries(Object.entries(expected.responses).sort()) })}${ok ? "" : "  ← differs"}`,
    );
  }
  process.exitCode = mismatched > 0 ? 1 : 0;
}
