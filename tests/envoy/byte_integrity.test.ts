// Byte integrity of the network filter in the real Envoy: pipelined HTTP/1.x
// connections through the shipped :18000 listener (sitio_web → tcp_proxy)
// to a scripted raw upstream, the client's bytes compared with a reference
// model of the custom-404 rewrite (harness/pipelines.ts), byte for byte.
//
// - Seeded pipelines: depth 1–300, GET/HEAD/POST (Content-Length and chunked
//   request bodies, Expect: 100-continue), responses 200/204/304/404 framed by
//   Content-Length, chunked (extensions, trailers) or the close, interim
//   100/103 responses, every response split into writes at random points.
//   The client must get exactly the model's bytes, the upstream exactly the
//   client's, and sitio must count every request, every final response by
//   class and every 404 it replaced.
// - Directed, HEAD right past 64 pending requests (the limit before issue 13):
//   each HEAD response shape (404 with Content-Length, chunked or no length;
//   200 with Content-Length), then a 404 and a 200, exactly as the model says.
// - Directed, pipelines deeper than 1,024 requests, all pending at once, with
//   HEADs near the end: responses #0–#1023 exactly as the model says; from #1024
//   on a 404 may also pass untouched (the filter cannot track that far), nothing
//   else may differ.
//
// A failure prints the seed and pipeline index, the script around the first
// differing byte, both byte streams there, and the command that replays it:
// `npm run integrity -- --seed S --from N --pipelines 1 --verbose`.

import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { useEnvoy } from "../harness/use_envoy.js";
import { value } from "../harness/prometheus.js";
import { startPipelineUpstream, type PipelineUpstream } from "../harness/pipeline_upstream.js";
import { directedPipeline, generatePipeline, matchWithPassThrough, requestBytes, script, shippedPage, show, type ExchangeSpec } from "../harness/pipelines.js";
import {
  addCounts,
  countsDelta,
  emptyCounts,
  runClient,
  runPipeline,
  runPool,
  sitioCounts,
  type ExpectedCounts,
  type PipelineResult,
} from "../harness/integrity.js";

const SEED = 13;
const PIPELINES = 300;
const CONCURRENCY = 6;
/** Requests the filter must track per connection (the depth up to which every 404 is replaced). */
const TRACKED = 1024;

const PAGE = shippedPage();
const PLUGIN = "sitio_web";

let upstream: PipelineUpstream;
const envoy = useEnvoy(async () => {
  upstream = await startPipelineUpstream();
  return { name: "byte-integrity", upstreams: { web_service: upstream.port }, logArgs: ["--log-level", "warn"] };
});
afterAll(async () => upstream?.stop());
let port: number;
beforeAll(() => {
  port = envoy.port(18000);
});

/** Waits until every connection is over and sitio has counted `want.requests` more requests, then returns the counters' change. */
async function countedSince(before: ExpectedCounts, want: ExpectedCounts): Promise<ExpectedCounts> {
  const after = await envoy.waitForStats(
    (s) => value(s, "sitio_tcp_active_connections", { plugin: PLUGIN }) === 0 && sitioCounts(s).requests - before.requests >= want.requests,
    `${want.requests} requests counted and no connection open`,
  );
  return countsDelta(before, sitioCounts(after));
}

function sorted(c: ExpectedCounts): ExpectedCounts {
  return { ...c, responses: Object.fromEntries(Object.entries(c.responses).sort()) };
}

describe(`${PIPELINES} seeded pipelines (seed ${SEED})`, () => {
  const results: PipelineResult[] = [];
  let before: ExpectedCounts;

  test("the client gets exactly the model's bytes and the upstream exactly the client's", async () => {
    before = sitioCounts(await envoy.scrape());
    await runPool(
      PIPELINES,
      CONCURRENCY,
      (i) => runPipeline(port, upstream, PAGE, generatePipeline(SEED, i)),
      (r) => results.push(r),
    );
    results.sort((a, b) => a.pipeline.index - b.pipeline.index);
    const failed = results.filter((r) => r.failures.length > 0);
    const summary = failed.map((r) => {
      const p = r.pipeline;
      const d = r.firstDiff;
      const bytes = d
        ? ` expected ⟨${show(r.expected.subarray(d.offset, d.offset + 24))}⟩ got ⟨${show(r.client.received.subarray(d.offset, d.offset + 24))}⟩`
        : "";
      const where = d
        ? `first difference at offset ${d.offset}, in response #${d.response}${d.response < p.requests.length ? ` (${p.requests[d.response].label} → ${p.responses[d.response].label})` : ""}:${bytes}`
        : r.failures[0].split("\n")[0];
      return `pipeline ${p.index} (depth ${p.requests.length}): ${where}`;
    });
    const details = failed
      .slice(0, 4)
      .flatMap((r) => r.failures)
      .join("\n\n");
    expect(summary, `${failed.length} of ${PIPELINES} pipelines differ (seed ${SEED}); the first ones in full:\n\n${details}\n`).toEqual([]);
    expect(upstream.strays).toEqual([]);
  });

  test("sitio counted every request, every final response by class, and every 404 it replaced", async () => {
    expect(results.length, "the byte test ran first").toBe(PIPELINES);
    const want = emptyCounts();
    for (const r of results) addCounts(want, r.pipeline);
    expect(want.custom404).toBeGreaterThan(0);
    expect(sorted(await countedSince(before, want))).toEqual(sorted(want));
  });
});

/** HEAD responses whose framing headers announce a body they do not have (a filter that forgets the method reads one). */
const HEAD_SHAPES: { name: string; head: ExchangeSpec }[] = [
  {
    name: "HEAD 404 with Content-Length",
    head: { method: "HEAD", target: "/nf", statusLine: "HTTP/1.1 404 Not Found", fields: ["Content-Type: text/plain", "Content-Length: 4"] },
  },
  {
    name: "HEAD 404 with Transfer-Encoding: chunked",
    head: { method: "HEAD", target: "/nf", statusLine: "HTTP/1.1 404 Not Found", fields: ["Transfer-Encoding: chunked"] },
  },
  { name: "HEAD 404 with no length", head: { method: "HEAD", target: "/nf", statusLine: "HTTP/1.1 404 Not Found", fields: ["X-Length: none"] } },
  { name: "HEAD 200 with Content-Length", head: { method: "HEAD", target: "/ok", statusLine: "HTTP/1.1 200 OK", fields: ["Content-Length: 5"] } },
];
const ok = (i: number): ExchangeSpec => ({
  method: "GET",
  target: "/ok",
  statusLine: "HTTP/1.1 200 OK",
  fields: [`Content-Length: ${`ok ${i}\n`.length}`],
  body: `ok ${i}\n`,
});
const gone = (i: number): ExchangeSpec => ({
  method: "GET",
  target: "/gone",
  statusLine: "HTTP/1.1 404 Not Found",
  fields: [`X-At: ${i}`, `Content-Length: ${`gone ${i}\n`.length}`],
  body: `gone ${i}\n`,
});

describe("a HEAD request right past 64 pending requests (the limit before issue 13), in one client write", () => {
  for (const [n, shape] of HEAD_SHAPES.entries()) {
    test(`64 × GET, then ${shape.name}, a GET 404 and a GET 200: exactly the model's bytes`, async () => {
      const xs = [...Array.from({ length: 64 }, (_, i) => ok(i)), shape.head, gone(65), ok(66)];
      const p = directedPipeline(`head-64-${n}`, xs, { answerAfter: 0, clientWrites: 1, piecesPerResponse: 1 });
      const r = await runPipeline(port, upstream, PAGE, p);
      expect(r.failures, r.failures.join("\n")).toEqual([]);
    });
  }
});

describe(`a pipeline deeper than ${TRACKED} requests, all pending at once`, () => {
  const DEPTH = 1100;
  /** HEADs whose response announces a body: some before the tracking limit (their 404s must be replaced), most near the end. */
  const HEADS = [70, 500, 1000, 1010, 1022, 1024, 1030, 1035, 1050, 1066, 1075, 1080, 1090, 1097];
  /** GET 404s with a body, before and past the limit. */
  const GET_404 = new Set([3, 64, 65, 700, 1023, 1025, 1040, 1060, 1095]);

  function exchanges(): ExchangeSpec[] {
    const x: ExchangeSpec[] = [];
    for (let i = 0; i < DEPTH; i++) {
      const h = HEADS.indexOf(i);
      // each HEAD shape in turn; the response after it would lose its first bytes to a misread HEAD
      if (h >= 0) x.push(HEAD_SHAPES[h % HEAD_SHAPES.length].head);
      else if (GET_404.has(i)) x.push(gone(i));
      else x.push(ok(i));
    }
    return x;
  }

  const variants = [
    { name: "requests in one write, each response in one write", clientWrites: 1, piecesPerResponse: 1 },
    { name: "requests in 40 writes, each response in 3 writes", clientWrites: 40, piecesPerResponse: 3 },
  ];
  for (const [n, v] of variants.entries()) {
    test(`${v.name}: every 404 before #${TRACKED} replaced, later ones replaced or untouched, nothing else changed`, async () => {
      const before = sitioCounts(await envoy.scrape());
      const p = directedPipeline(`deep-${n}`, exchanges(), { answerAfter: DEPTH, clientWrites: v.clientWrites, piecesPerResponse: v.piecesPerResponse });
      const record = upstream.expect(p.id, script(p));
      const client = await runClient(port, p, 30_000);
      const up = await record;
      expect(up.problems).toEqual([]);
      expect(up.requests).toBe(DEPTH);
      expect(up.received.equals(requestBytes(p)), "the upstream got exactly the client's bytes").toBe(true);
      expect(client.ended).toBe("close");
      const m = matchWithPassThrough(p, PAGE, client.received, TRACKED);
      expect(m.ok, m.report).toBe(true);
      // sitio counted exactly the 404s it replaced
      const want = { ...emptyCounts(), requests: DEPTH };
      const got = await countedSince(before, want);
      expect(got.requests).toBe(DEPTH);
      expect(got.custom404).toBe(m.replaced);
    });
  }
});
