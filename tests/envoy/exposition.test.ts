// A valid exposition whatever clients send: hostile request targets
// (tests/harness/hostile_targets.ts) through the real Envoy at L4 and L7,
// with an upstream that answers 200 so that each earns its own series; then
// the WHOLE /stats/prometheus page read by a Prometheus text parser and a
// strict check (tests/harness/exposition.ts): valid UTF-8, no metric name
// typed twice, no two samples with the same name and labels. Each target's
// label is the one tests/harness/labels.ts predicts, and the escaping round-
// trips to the bytes the client sent. The escaping table is printed.

import { beforeAll, describe, expect, test } from "vitest";
import { useEnvoy } from "../harness/use_envoy.js";
import { series, type Sample } from "../harness/prometheus.js";
import { checkAdminExposition, type ExpositionCheck } from "../harness/exposition.js";
import {
  HOSTILE_TARGETS,
  expectedL4,
  expectedL4Unparsed,
  expectedL7,
  l7TargetOf,
  sendTargets,
  seriesKey,
  startAnsweringUpstream,
  type Expected,
} from "../harness/hostile_targets.js";
import { endpointLabel, endpointPath, escapeLabel, unescapeLabel } from "../harness/labels.js";
import type { ScriptedUpstream } from "../harness/scripted_upstream.js";
import parsePrometheusTextFormat from "parse-prometheus-text-format";

let upstream: ScriptedUpstream;
const envoy = useEnvoy(async () => {
  upstream = await startAnsweringUpstream();
  return { name: "exposition", upstreams: { web_service: upstream.port } };
});

const L4 = "sitio_web";
const L7 = "sitio_http";

/** Series of a family for a plugin, as key → value (the key without the plugin). */
function counted(s: Sample[], family: string, plugin: string): Expected {
  return new Map(series(s, family, { plugin }).map((x) => [seriesKey(x.labels), x.value]));
}

let l4Statuses: number[] = [];
let l7Statuses: number[] = [];
let before: Sample[] = [];
let after: Sample[] = [];
let page: ExpositionCheck & { body: Uint8Array };

const L4_REQUESTS = HOSTILE_TARGETS.filter((t) => t.l4StopsAt === undefined).length;
const L4_REFUSED = HOSTILE_TARGETS.length - L4_REQUESTS;
const tcp = (s: Sample[], name: string) => series(s, `sitio_tcp_${name}`, { plugin: L4 })[0]?.value ?? 0;

/** The escaping table, as the test's output: target → label at L4 and L7. */
function printTable(): void {
  // bytes outside printable ASCII as \xNN
  const show = (x: string) =>
    (x.length > 48 ? `${x.slice(0, 24)}…(${x.length} bytes)` : x).replace(
      /[^\x20-\x7e…]/g,
      (c) => `\\x${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0")}`,
    );
  const rows = HOSTILE_TARGETS.map((t, i) => {
    const l4 = t.l4StopsAt === undefined ? `\`${show(endpointLabel(t.target))}\`` : `not a request (\`${show(endpointLabel(t.target))}\` if it were)`;
    const l7 = t.l7 ? `${t.l7.status}, \`${t.l7.endpoint}\` (method \`${t.l7.method}\`)` : `${l7Statuses[i]}, \`${show(endpointLabel(l7TargetOf(t)))}\``;
    return `| ${t.what} | \`${t.method} ${show(t.target)}\` | ${l4} | \`${show(l7TargetOf(t))}\` | ${l7} |`;
  });
  console.log(
    ["| what | L4 request (:18000) | L4 endpoint label | L7 target (:18080) | L7 status, endpoint label |", "|---|---|---|---|---|", ...rows].join("\n"),
  );
}

beforeAll(async () => {
  before = await envoy.settle();
  l4Statuses = await sendTargets(
    envoy.port(18000),
    HOSTILE_TARGETS.map((t) => [t.method, t.target]),
  );
  l7Statuses = await sendTargets(
    envoy.port(18080),
    HOSTILE_TARGETS.map((t) => [t.method, l7TargetOf(t)]),
  );
  const total = (s: Sample[], family: string, plugin: string) => series(s, family, { plugin }).reduce((a, x) => a + x.value, 0);
  after = await envoy.waitForStats(
    (s) =>
      total(s, "sitio_tcp_requests_total", L4) === L4_REQUESTS &&
      total(s, "sitio_http_requests_total", L7) === HOSTILE_TARGETS.length &&
      tcp(s, "connections_total") === HOSTILE_TARGETS.length &&
      tcp(s, "active_connections") === 0,
    "every hostile target counted at L4 and L7",
  );
  // once the histograms are merged too, the whole page
  await envoy.settle();
  page = await checkAdminExposition(envoy.admin);
  printTable();
}, 60_000);

describe("hostile targets", () => {
  test("the upstream answered every target 200 at L4, and saw it byte for byte", () => {
    expect(l4Statuses).toEqual(HOSTILE_TARGETS.map(() => 200));
    for (const t of HOSTILE_TARGETS) expect(upstream.received).toContain(`${t.method} ${t.target}`);
  });

  test("at L7 Envoy forwards or answers each target as the table says", () => {
    expect(l7Statuses).toEqual(HOSTILE_TARGETS.map((t) => t.l7?.status ?? 200));
  });

  test("L4: each target counted once under the label labels.ts predicts", () => {
    expect(Object.fromEntries(counted(after, "sitio_tcp_requests_total", L4))).toEqual(Object.fromEntries(expectedL4(L4)));
  });

  test(`L4: the ${L4_REFUSED} targets outside llhttp's strict grammar are no request to sitio: their bytes pass unparsed, their answers are unmatched`, () => {
    expect(tcp(after, "unparsed_bytes_total") - tcp(before, "unparsed_bytes_total")).toBe(expectedL4Unparsed());
    expect(tcp(after, "unmatched_responses_total") - tcp(before, "unmatched_responses_total")).toBe(L4_REFUSED);
  });

  test("L7: each target counted once under the label labels.ts predicts (or Envoy's own answer's)", () => {
    expect(Object.fromEntries(counted(after, "sitio_http_requests_total", L7))).toEqual(Object.fromEntries(expectedL7(L7)));
  });

  test("the escaping round-trips: every label but `other` decodes to the client's path bytes, and no two targets share a label", () => {
    const labels = new Map<string, string>();
    for (const t of [...HOSTILE_TARGETS.map((x) => x.target), ...HOSTILE_TARGETS.filter((x) => !x.l7).map(l7TargetOf)]) {
      const label = endpointLabel(t);
      if (label === "other") {
        expect(escapeLabel(endpointPath(t)).length, t.slice(0, 40)).toBeGreaterThan(256);
        continue;
      }
      expect(unescapeLabel(label)).toBe(endpointPath(t));
      expect(label).toMatch(/^[!-~]+$/); // printable ASCII: valid UTF-8 whatever the client sent
      expect(label.endsWith(".")).toBe(false); // Envoy would strip it
      const path = endpointPath(t);
      if (labels.has(label)) expect(labels.get(label)).toBe(path);
      labels.set(label, path);
    }
    // distinct paths, distinct labels
    expect(new Set(labels.values()).size).toBe(labels.size);
  });
});

describe("the whole /stats/prometheus page", () => {
  test("valid UTF-8, parsed by parse-prometheus-text-format, no metric typed twice, no duplicate series, names well formed", () => {
    console.log(`exposition: ${page.body.length} bytes, ${page.families} families, ${page.samples} samples; problems: ${page.problems.length}`);
    expect(page.problems).toEqual([]);
    expect(page.untaggedSitio).toEqual([]);
    expect(() => new TextDecoder("utf-8", { fatal: true }).decode(page.body)).not.toThrow();
    const families = parsePrometheusTextFormat(Buffer.from(page.body).toString("utf8"));
    const names = families.map((f) => f.name);
    expect(new Set(names).size).toBe(names.length);
    const sitio = families.filter((f) => f.name.startsWith("sitio_"));
    expect(sitio.find((f) => f.name === "sitio_tcp_requests_total")?.type).toBe("COUNTER");
    expect(sitio.find((f) => f.name === "sitio_tcp_request_duration_microsecond")?.type).toBe("HISTOGRAM");
  });

  test("every sitio label value is printable ASCII, and the hostile targets' labels are all there", () => {
    const values = after.filter((s) => s.name.startsWith("sitio_")).flatMap((s) => Object.values(s.labels));
    expect(values.filter((v) => !/^[!-~]+$/.test(v))).toEqual([]);
    const endpoints = new Set(series(after, "sitio_tcp_requests_total", { plugin: L4 }).map((s) => s.labels.endpoint));
    for (const t of HOSTILE_TARGETS.filter((x) => x.l4StopsAt === undefined)) expect(endpoints).toContain(endpointLabel(t.target));
  });
});
