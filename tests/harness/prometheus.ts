// Parsing Envoy's /stats/prometheus text into samples, and exact look-ups.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
  /** The line as Envoy printed it. */
  line: string;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parsePrometheus(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = LINE.exec(line);
    if (!m) throw new Error(`unparsable Prometheus line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(LABEL)) labels[l[1]] = l[2].replace(/\\(.)/g, (_, c) => (c === "n" ? "\n" : c));
    out.push({ name: m[1], labels, value: Number(m[3]), line });
  }
  return out;
}

export async function scrape(admin: string): Promise<Sample[]> {
  const r = await fetch(`${admin}/stats/prometheus`);
  if (r.status !== 200) throw new Error(`/stats/prometheus answered ${r.status}`);
  return parsePrometheus(await r.text());
}

function matches(s: Sample, name: string, labels: Record<string, string>): boolean {
  if (s.name !== name) return false;
  for (const [k, v] of Object.entries(labels)) if (s.labels[k] !== v) return false;
  return true;
}

/** The value of the one series with this name and (at least) these labels; undefined when absent. */
export function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const found = samples.filter((s) => matches(s, name, labels));
  if (found.length > 1) throw new Error(`${found.length} series match ${name} ${JSON.stringify(labels)}:\n${found.map((s) => s.line).join("\n")}`);
  return found[0]?.value;
}

/** All series of a metric name with these labels. */
export function series(samples: Sample[], name: string, labels: Record<string, string> = {}): Sample[] {
  return samples.filter((s) => matches(s, name, labels));
}
