// npm run traffic -- [options]: drive sitio and compare what was sent with what Envoy's stats say.
//
//   npm run traffic -- -n 1000 -c 4 --paths /,/api/items,/missing      (HTTP to :18000)
//   npm run traffic -- --port 18080 --paths /,/api/x                   (the L7 listener)
//   npm run traffic -- --foo -n 500 -c 2                               (Foo messages to :18001)
//
// Sends N requests over C keep-alive connections (request i goes to path i mod the mix),
// shows a progress bar, then reads /stats/prometheus before and after and prints, per
// endpoint: requests sent, requests sitio counted, p50 and p99 from sitio's duration
// histogram, and the answers seen. A path every answer to which was a 4xx never earns a
// series of its own (sitio's admission rule): its row is `METHOD other`, where sitio counts
// it. Rows where sitio's count differs from what was sent are marked. Exit status 1 when
// any row differs.

import { parseArgs } from "node:util";
import { Agent } from "node:http";
import { scrape, series, type Sample } from "../tests/harness/prometheus.js";
import { buckets, quantile } from "../tests/harness/histogram.js";
import { httpRequest } from "../tests/harness/traffic.js";
import { FooClient } from "../tests/harness/foo_client.js";
import { sleep } from "../tests/harness/envoy.js";

const { values: opts } = parseArgs({
  options: {
    requests: { type: "string", short: "n", default: "1000" },
    connections: { type: "string", short: "c", default: "4" },
    paths: { type: "string", default: "/,/api/items,/missing" },
    port: { type: "string", short: "p" },
    admin: { type: "string", default: "http://127.0.0.1:8001" },
    plugin: { type: "string" },
    foo: { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (opts.help) {
  console.log(`npm run traffic -- [options]
  -n, --requests N      requests (or Foo messages) to send            [1000]
  -c, --connections C   keep-alive connections, used in parallel      [4]
      --paths LIST      comma-separated request paths, sent in turn   [/,/api/items,/missing]
  -p, --port PORT       the listener to send to                       [18000; 18001 with --foo]
      --foo             send Foo messages ("REQ <seq> <data>") instead of HTTP
      --admin URL       Envoy's admin, for /stats/prometheus          [http://127.0.0.1:8001]
      --plugin NAME     the plugin label to read                      [the shipped listener's: sitio_web,
                                                                       sitio_foo on 18001, sitio_http on 18080]`);
  process.exit(0);
}

const total = Number(opts.requests);
const conns = Math.max(1, Math.min(Number(opts.connections), total));
const port = Number(opts.port ?? (opts.foo ? 18001 : 18000));
/** The plugin each listener of the shipped envoy.yaml runs. */
const SHIPPED_PLUGINS: Record<number, string> = { 18000: "sitio_web", 18001: "sitio_foo", 18080: "sitio_http" };
const plugin = opts.plugin ?? SHIPPED_PLUGINS[port] ?? "sitio_web";
const paths = opts.paths.split(",").filter(Boolean);
const tty = process.stderr.isTTY === true;
const color = process.stdout.isTTY === true;
const paint = (code: number, s: string) => (color ? `\x1b[${code}m${s}\x1b[0m` : s);

/** What the client sent and heard, per "METHOD endpoint". */
interface Sent {
  count: number;
  answers: Map<string, number>;
}
const sent = new Map<string, Sent>();
function record(key: string, answer: string): void {
  const s = sent.get(key) ?? { count: 0, answers: new Map() };
  s.count++;
  s.answers.set(answer, (s.answers.get(answer) ?? 0) + 1);
  sent.set(key, s);
}
/** sitio's endpoint label for a request path: the path without query string and fragment. */
const endpointOf = (path: string) => path.split(/[?#]/)[0] || "/";

let done = 0;
let next = 0;
let errors = 0;

async function httpWorker(): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    while (next < total) {
      const path = paths[next++ % paths.length];
      try {
        const r = await httpRequest(port, path, { agent });
        record(`GET ${endpointOf(path)}`, String(r.status));
      } catch {
        errors++;
      }
      done++;
    }
  } finally {
    agent.destroy();
  }
}

let seq = 0;
async function fooWorker(): Promise<void> {
  const foo = await FooClient.connect(port);
  try {
    while (next < total) {
      next++;
      try {
        record("REQ -", await foo.request(++seq));
      } catch {
        errors++;
        break;
      }
      done++;
    }
  } finally {
    await foo.close();
  }
}

function progress(final = false): void {
  if (!tty) return;
  const width = 30;
  const filled = Math.round((done / total) * width);
  const rate = done / Math.max(0.001, (Date.now() - started) / 1000);
  process.stderr.write(`\r[${"#".repeat(filled)}${".".repeat(width - filled)}] ${done}/${total}  ${rate.toFixed(0)}/s${final ? "\n" : ""}`);
}

/** Total requests sitio counted for this plugin, over every requests family. */
const counted = (s: Sample[]) => requestSeries(s).reduce((sum, x) => sum + x.value, 0);
const requestSeries = (s: Sample[]) => [...series(s, "sitio_tcp_requests_total", { plugin }), ...series(s, "sitio_http_requests_total", { plugin })];

const before = await scrape(opts.admin).catch((e) => {
  console.error(`cannot read ${opts.admin}/stats/prometheus (${e.message}): is sitio running? (npm start)`);
  process.exit(2);
});
const started = Date.now();
const ticker = setInterval(progress, 100);
await Promise.all(Array.from({ length: conns }, () => (opts.foo ? fooWorker() : httpWorker())));
clearInterval(ticker);
progress(true);
const seconds = (Date.now() - started) / 1000;

// The last response can reach the client a moment before sitio has counted it, and Envoy
// merges histograms from its workers one scrape behind the counters: poll briefly for both.
const sentTotal = [...sent.values()].reduce((a, s) => a + s.count, 0);
/** The duration histogram of the plugin's filter: L7 (sitio_http_*) or L4 (sitio_tcp_*). */
const histogramOf = (s: Sample[]) => `sitio_${series(s, "sitio_http_requests_total", { plugin }).length ? "http" : "tcp"}_request_duration_microsecond`;
const observed = (s: Sample[], name: string) => series(s, `${name}_count`, { plugin }).reduce((sum, x) => sum + x.value, 0);
let after = await scrape(opts.admin);
for (let deadline = Date.now() + 3000; Date.now() < deadline; ) {
  const n = counted(after) - counted(before);
  const h = histogramOf(after);
  if (n >= sentTotal && observed(after, h) - observed(before, h) >= n) break;
  await sleep(50);
  after = await scrape(opts.admin);
}
const histogram = histogramOf(after);

// One row per endpoint sent to or counted: sitio_http_requests_total splits by status, so sum those.
const countedBy = new Map<string, number>();
const labelsOf = new Map<string, Record<string, string>>();
for (const s of requestSeries(after)) {
  const key = `${s.labels.method} ${s.labels.endpoint}`;
  const old = requestSeries(before).find((b) => b.name === s.name && JSON.stringify(b.labels) === JSON.stringify(s.labels))?.value ?? 0;
  if (s.value - old === 0) continue;
  countedBy.set(key, (countedBy.get(key) ?? 0) + s.value - old);
  labelsOf.set(key, { method: s.labels.method, endpoint: s.labels.endpoint, plugin });
}
/** A duration from the µs histograms, shown in ms. */
const ms = (us: number) => {
  if (Number.isNaN(us)) return "–";
  const v = us / 1000;
  return v < 10 ? v.toFixed(2) : v.toFixed(1);
};

// What sitio counts where: a path answered only with 4xx counts under `other` (no evidence let it in).
const onlyClientErrors = (x: Sent) => [...x.answers.keys()].every((a) => /^4\d\d$/.test(a));
const expected = new Map<string, Sent>();
for (const [key, x] of sent) {
  const label = onlyClientErrors(x) ? `${key.split(" ")[0]} other` : key;
  const e = expected.get(label) ?? { count: 0, answers: new Map() };
  e.count += x.count;
  for (const [a, n] of x.answers) e.answers.set(a, (e.answers.get(a) ?? 0) + n);
  expected.set(label, e);
}

const rows: string[][] = [["endpoint", "sent", "counted", "p50 ms", "p99 ms", "answers"]];
const bad: boolean[] = [false];
for (const key of [...new Set([...expected.keys(), ...countedBy.keys()])].sort()) {
  const s = expected.get(key);
  const c = countedBy.get(key) ?? 0;
  const labels = labelsOf.get(key) ?? { method: key.split(" ")[0], endpoint: key.slice(key.indexOf(" ") + 1), plugin };
  const bs = buckets(after, histogram, labels, before);
  const answers = s ? [...s.answers].map(([a, n]) => `${a}×${n}`).join(" ") : "";
  rows.push([key, String(s?.count ?? 0), String(c), ms(quantile(0.5, bs)), ms(quantile(0.99, bs)), answers]);
  bad.push((s?.count ?? 0) !== c);
}
const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
console.log(
  `\n${sentTotal} ${opts.foo ? "Foo messages" : "requests"} to :${port} over ${conns} connection(s) in ${seconds.toFixed(2)} s` +
    (errors ? paint(31, `, ${errors} failed`) : ""),
);
console.log(`sitio (plugin ${plugin}) at ${opts.admin}/stats/prometheus:\n`);
rows.forEach((r, i) => {
  const line = r
    .map((cell, j) => (j === 0 || j === 5 ? cell.padEnd(widths[j]) : cell.padStart(widths[j])))
    .join("  ")
    .trimEnd();
  console.log(i === 0 ? paint(1, line) : bad[i] ? `${paint(31, line)}  ${paint(31, "← mismatch")}` : line);
});
const mismatches = bad.filter(Boolean).length;
console.log(mismatches ? paint(31, `\n${mismatches} endpoint(s) differ from what was sent`) : "\nevery endpoint: counted = sent");
process.exit(mismatches || errors ? 1 : 0);
