// Long fuzzing runs: `npm run fuzz -- --cases 1000000 [--seed 1] [--from 0] [--wasm debug|release] [--target all|filter|tls]`.
// `filter` is the shipped module; `tls` the TLS hello decoder's test-only module
// (tls_fuzzer.ts); `all` (the default) runs both with the same cases count.
// Exits non-zero on any trap or broken invariant and prints the cases to replay.

import { parseArgs } from "node:util";
import { DEBUG_WASM, RELEASE_WASM, runFuzz, type FuzzReport } from "./fuzzer.js";
import { runTlsFuzz, TLS_HELLO_DEBUG_WASM, TLS_HELLO_WASM } from "./tls_fuzzer.js";

const { values } = parseArgs({
  options: {
    cases: { type: "string", default: "100000" },
    seed: { type: "string", default: "1" },
    from: { type: "string", default: "0" },
    wasm: { type: "string", default: "debug" },
    target: { type: "string", default: "all" },
  },
});
if (!["all", "filter", "tls"].includes(values.target!)) throw new Error("--target is all, filter or tls");
const seed = Number(values.seed);
const wasm = values.wasm === "release" ? RELEASE_WASM : DEBUG_WASM;

const line = (r: FuzzReport, done: number) =>
  `${done} cases, ${r.traps} traps, ${r.violations} violations, ${r.requestsCounted} requests counted, ` +
  `${(r.bytesIn / 2 ** 20).toFixed(0)} MiB in, wasm memory ${r.memoryEnd / 1024} KiB (max ${r.memoryMax / 1024} KiB)`;

let bad = 0;
if (values.target !== "tls") {
  const started = Date.now();
  const report = runFuzz({
    seed,
    cases: Number(values.cases),
    from: Number(values.from),
    wasm,
    progressEvery: 50_000,
    onProgress: (done, r) => console.log(`  … ${line(r, done)}, ${((Date.now() - started) / 1000).toFixed(0)} s`),
  });
  console.log(`fuzz seed ${seed} (${values.wasm} build): ${line(report, report.cases)}, ${(report.ms / 1000).toFixed(1)} s`);
  console.log(`  wasm memory after warm-up ${report.memoryAfterWarmup / 1024} KiB, at the end ${report.memoryEnd / 1024} KiB`);
  console.log(
    `  kinds: ${Object.entries(report.kinds)
      .sort()
      .map(([k, n]) => `${k} ${n} (${((report.kindsMs[k] ?? 0) / 1000).toFixed(1)} s)`)
      .join(", ")}`,
  );
  for (const f of report.failures) console.log(`  FAIL ${f}`);
  bad += report.traps + report.violations;
}
if (values.target !== "filter") {
  const tls = runTlsFuzz({
    seed,
    cases: Number(values.cases),
    from: Number(values.from),
    wasm: values.wasm === "release" ? TLS_HELLO_WASM : TLS_HELLO_DEBUG_WASM,
    filterWasm: wasm,
  });
  console.log(
    `tls hello fuzz seed ${seed} (${values.wasm} build): ${tls.cases} cases, ${tls.traps} traps, ${tls.violations} violations, ${(tls.bytesIn / 2 ** 20).toFixed(0)} MiB in, ${(tls.ms / 1000).toFixed(1)} s`,
  );
  console.log(
    `  kinds: ${Object.entries(tls.kinds)
      .sort()
      .map(([k, n]) => `${k} ${n}`)
      .join(", ")}; events: ${Object.entries(tls.events)
      .sort()
      .map(([k, n]) => `${k} ${n}`)
      .join(", ")}`,
  );
  for (const f of tls.failures) console.log(`  FAIL ${f}`);
  bad += tls.traps + tls.violations;
}
process.exit(bad > 0 ? 1 : 0);
