// npm run check:exposition -- [admin URL]: is this Envoy's /stats/prometheus a valid
// Prometheus exposition, and do sitio's series have their labels?
//
//   npm run check:exposition                               (http://127.0.0.1:8001)
//   npm run check:exposition -- http://envoy.internal:15000
//
// Reads the whole page and checks it as tests/harness/exposition.ts does: valid UTF-8,
// well-formed names and lines, one `# TYPE` per metric name, no two samples with the same
// name and labels (Prometheus would keep one and lose the others). A sitio series without
// a `plugin` label means Envoy's bootstrap lacks the `stats_tags` of envoy/envoy.yaml:
// each series then becomes a metric name of its own. Exit status 1 on any problem.

import { checkAdminExposition } from "../tests/harness/exposition.js";

const admin = (process.argv[2] ?? "http://127.0.0.1:8001").replace(/\/+$/, "");
const check = await checkAdminExposition(admin);
console.log(`${admin}/stats/prometheus: ${check.body.length} bytes, ${check.families} families, ${check.samples} samples`);
for (const p of check.problems) console.log(`problem: ${p}`);
if (check.untaggedSitio.length > 0) {
  console.log(
    `${check.untaggedSitio.length} sitio samples have no labels, e.g.\n  ${check.untaggedSitio.slice(0, 3).join("\n  ")}\n` +
      "Envoy's stats_config lacks sitio's stats_tags: copy the `stats_tags` entries of envoy/envoy.yaml into your bootstrap.",
  );
}
const ok = check.problems.length === 0 && check.untaggedSitio.length === 0;
console.log(ok ? "ok: a valid exposition, sitio's series labelled" : "not ok");
process.exit(ok ? 0 : 1);
