// Is a whole /stats/prometheus page a valid Prometheus text exposition?
//
// Two readers look at every byte of the page:
// - parse-prometheus-text-format (npm, pinned), a port of the Prometheus
//   client's parser: it throws on a line it cannot read. It is lenient about
//   the rest (it merges consecutive samples with equal labels, folds a
//   histogram's series together, checks no names), so
// - a strict reader here checks what Prometheus's own scrape parser and
//   `promtool check metrics` refuse or lose data over: the page must be valid
//   UTF-8 (one invalid byte fails the whole scrape: `invalid UTF-8 label
//   value`, up=0), metric and label names must be well formed, a metric name
//   may have only one `# TYPE` line (`second TYPE line for metric name`), a
//   family's lines must be together, a sample may not repeat a label name,
//   and no two samples may have the same name and label set (Prometheus keeps
//   one of them and drops the rest: counts are lost).
//
// It also says whether sitio's series lost their labels: without the
// `stats_tags` of envoy/envoy.yaml, Envoy publishes each sitio series as its
// own metric name with the labels sanitised into it (`sitio_tcp_requests_total_method_GET_endpoint__a_b_plugin_sitio_web`).

import parsePrometheusTextFormat from "parse-prometheus-text-format";

export interface ExpositionCheck {
  /** Every problem found, one line each (the first 50); empty when the page is valid. */
  problems: string[];
  /** Families (metric names with a `# TYPE` line, or sampled without one). */
  families: number;
  /** Sample lines. */
  samples: number;
  /** Sample lines of sitio metrics (`sitio_…`) that carry no `plugin` label: their labels went into the name (no stats_tags). */
  untaggedSitio: string[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);
const VALUE = /^(?:[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|Inf|inf)|NaN|nan)$/;
const MAX_PROBLEMS = 50;

/** The offset of the first byte that breaks UTF-8 (overlong forms, surrogates and values past U+10FFFF included), or -1. */
export function firstInvalidUtf8(b: Uint8Array): number {
  for (let i = 0; i < b.length; ) {
    const c = b[i];
    let n = 0;
    let min = 0;
    if (c < 0x80) {
      i++;
      continue;
    } else if (c >= 0xc2 && c <= 0xdf) [n, min] = [1, 0x80];
    else if (c >= 0xe0 && c <= 0xef) [n, min] = [2, 0x800];
    else if (c >= 0xf0 && c <= 0xf4) [n, min] = [3, 0x10000];
    else return i;
    if (i + n >= b.length) return i; // cut short
    let cp = c & (0x3f >> n);
    for (let k = 1; k <= n; k++) {
      const d = b[i + k];
      if ((d & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (d & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += n + 1;
  }
  return -1;
}

interface SampleLine {
  name: string;
  /** Label pairs in the order written (values unescaped). */
  labels: [string, string][];
}

/** Reads one sample line strictly; a string is what is wrong with it. */
function readSample(line: string): SampleLine | string {
  let i = 0;
  while (i < line.length && /[a-zA-Z0-9_:]/.test(line[i])) i++;
  const name = line.slice(0, i);
  if (!METRIC_NAME.test(name)) return `invalid metric name ${JSON.stringify(name)}`;
  const labels: [string, string][] = [];
  if (line[i] === "{") {
    i++;
    while (line[i] !== "}") {
      let j = i;
      while (j < line.length && /[a-zA-Z0-9_]/.test(line[j])) j++;
      const key = line.slice(i, j);
      if (!LABEL_NAME.test(key)) return `invalid label name ${JSON.stringify(line.slice(i, i + 40))}`;
      if (line[j] !== "=" || line[j + 1] !== '"') return `label ${key} is not followed by ="`;
      i = j + 2;
      let value = "";
      for (;;) {
        if (i >= line.length) return `unterminated value of label ${key}`;
        const c = line[i++];
        if (c === '"') break;
        if (c === "\\") {
          const e = line[i++];
          if (e === "\\") value += "\\";
          else if (e === '"') value += '"';
          else if (e === "n") value += "\n";
          else return `invalid escape \\${e} in label ${key}`;
        } else value += c;
      }
      labels.push([key, value]);
      if (line[i] === ",") i++;
      else if (line[i] !== "}") return `expected , or } after label ${key}`;
    }
    i++;
  }
  if (line[i] !== " ") return "no space before the value";
  const rest = line.slice(i + 1).split(" ");
  if (rest.length > 2 || !VALUE.test(rest[0]) || (rest.length === 2 && !/^-?\d+$/.test(rest[1]))) return `invalid value ${JSON.stringify(line.slice(i + 1))}`;
  return { name, labels };
}

/** Checks a whole exposition, given as the bytes Envoy sent. */
export function checkExposition(body: Uint8Array): ExpositionCheck {
  const problems: string[] = [];
  const problem = (p: string) => {
    if (problems.length < MAX_PROBLEMS) problems.push(p);
  };
  const bad = firstInvalidUtf8(body);
  if (bad >= 0) problem(`invalid UTF-8 at byte ${bad}: …${JSON.stringify(Buffer.from(body.subarray(Math.max(0, bad - 40), bad + 8)).toString("latin1"))}`);
  const text = Buffer.from(body).toString("utf8");
  try {
    parsePrometheusTextFormat(text);
  } catch (e) {
    problem(`parse-prometheus-text-format: ${(e as Error).message.slice(0, 300)}`);
  }

  const typed = new Map<string, string>();
  /** The family of the line before; a family met again after another one is split. */
  const lastFamily = { name: "" };
  const closed = new Set<string>();
  const seen = new Set<string>();
  const untaggedSitio: string[] = [];
  let samples = 0;
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  const enter = (family: string, lineNo: number) => {
    if (family === lastFamily.name) return;
    if (closed.has(family)) problem(`line ${lineNo}: the lines of ${family} are not together`);
    if (lastFamily.name) closed.add(lastFamily.name);
    lastFamily.name = family;
  };
  lines.forEach((line, k) => {
    const lineNo = k + 1;
    if (line.startsWith("#")) {
      const m = /^# (TYPE|HELP) (\S+)(?: (.*))?$/.exec(line);
      if (!m) return; // a plain comment
      if (!METRIC_NAME.test(m[2])) problem(`line ${lineNo}: invalid metric name in ${m[1]}: ${JSON.stringify(m[2])}`);
      if (m[1] === "TYPE") {
        if (!TYPES.has(m[3] ?? "")) problem(`line ${lineNo}: unknown type ${JSON.stringify(m[3])} for ${m[2]}`);
        if (typed.has(m[2])) problem(`line ${lineNo}: second TYPE line for metric name ${JSON.stringify(m[2])}`);
        typed.set(m[2], m[3] ?? "");
      }
      enter(m[2], lineNo);
      return;
    }
    if (line.trim() === "") return;
    samples++;
    const s = readSample(line);
    if (typeof s === "string") {
      problem(`line ${lineNo}: ${s}: ${line.slice(0, 200)}`);
      return;
    }
    const keys = s.labels.map(([key]) => key);
    if (new Set(keys).size !== keys.length) problem(`line ${lineNo}: a label name repeats: ${line.slice(0, 200)}`);
    const base = s.name.replace(/_(bucket|sum|count)$/, "");
    const family = base !== s.name && ["histogram", "summary"].includes(typed.get(base) ?? "") ? base : s.name;
    enter(family, lineNo);
    const id = `${s.name}{${[...s.labels]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, v]) => `${key}=${JSON.stringify(v)}`)
      .join(",")}}`;
    if (seen.has(id)) problem(`line ${lineNo}: duplicate series ${id.slice(0, 300)}`);
    seen.add(id);
    if (s.name.startsWith("sitio_") && !keys.includes("plugin")) untaggedSitio.push(line);
  });
  const families = new Set([...typed.keys(), ...closed, lastFamily.name].filter((f) => f !== "")).size;
  return { problems, families, samples, untaggedSitio };
}

/** Reads a page from Envoy's admin (`http://host:port`) as bytes and checks it. */
export async function checkAdminExposition(admin: string): Promise<ExpositionCheck & { body: Uint8Array }> {
  const r = await fetch(`${admin}/stats/prometheus`);
  if (r.status !== 200) throw new Error(`${admin}/stats/prometheus answered ${r.status}`);
  const body = new Uint8Array(await r.arrayBuffer());
  return { ...checkExposition(body), body };
}
