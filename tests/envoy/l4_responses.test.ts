// The network filter's response side in the real Envoy, on the shipped
// envoy.yaml: per-endpoint duration histograms, responses by status class,
// and the custom 404 page rewritten into the upstream's bytes.
//
// Two Envoys: one as shipped (the :8099 example service behind :18000), one
// whose web_service cluster points at a scripted raw TCP server, for the
// responses Envoy's own service never sends (chunked bodies, heads split
// across reads, close-delimited bodies, two responses in one write). A path
// answered 404 never earns a series of its own: its requests count under
// `other` (admission, assembly/labels/endpoint_table.ts).

import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { Agent } from "node:http";
import { readFileSync } from "node:fs";
import { SHIPPED_CONFIG } from "../harness/envoy.js";
import { useEnvoy } from "../harness/use_envoy.js";
import { value, type Sample } from "../harness/prometheus.js";
import { countResponses, httpRequest, rawExchange } from "../harness/traffic.js";
import { startScriptedUpstream, type ScriptedUpstream } from "../harness/scripted_upstream.js";

const PLUGIN = "sitio_web";

/** The custom page and content type configured for sitio_web in the shipped envoy.yaml. */
function shippedPage(): { body: string; contentType: string } {
  const text = readFileSync(SHIPPED_CONFIG, "utf8");
  const block = text.slice(text.indexOf(`name: ${PLUGIN}`));
  const m = /"custom_404": \{\s*"body": ("(?:[^"\\]|\\.)*"),\s*"content_type": ("(?:[^"\\]|\\.)*")/.exec(block);
  if (!m) throw new Error(`no custom_404 page for ${PLUGIN} in ${SHIPPED_CONFIG}`);
  return { body: JSON.parse(m[1]), contentType: JSON.parse(m[2]) };
}
const PAGE = shippedPage();
const PAGE_LENGTH = Buffer.byteLength(PAGE.body);
const PAGE_HEADERS = `Content-Type: ${PAGE.contentType}\r\nContent-Length: ${PAGE_LENGTH}\r\n\r\n`;

const labels = (method: string, endpoint: string) => ({ method, endpoint, plugin: PLUGIN });
const count = (s: Sample[], method: string, endpoint: string) => value(s, "sitio_tcp_request_duration_microsecond_count", labels(method, endpoint)) ?? 0;
const requests = (s: Sample[], method: string, endpoint: string) => value(s, "sitio_tcp_requests_total", labels(method, endpoint)) ?? 0;
const responses = (s: Sample[], status: string) => value(s, "sitio_tcp_responses_total", { status, plugin: PLUGIN }) ?? 0;
const tcp = (s: Sample[], name: string) => value(s, `sitio_tcp_${name}`, { plugin: PLUGIN }) ?? 0;
const get = (path: string) => `GET ${path} HTTP/1.1\r\nHost: sitio.test\r\n\r\n`;

describe("L4 responses from the shipped example service", () => {
  const envoy = useEnvoy({ name: "l4-responses" });
  let port: number;
  beforeAll(() => {
    port = envoy.port(18000);
  });

  test("one keep-alive connection: a duration sample per request and endpoint, responses by class, the page for every 404", async () => {
    const before = await envoy.settle();
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const sent = { ok: 0, missing: 0, head: 0 };
    // one request at a time (the example service answers at most two pipelined requests)
    for (let i = 0; i < 4; i++) {
      const ok = await httpRequest(port, "/", { agent });
      expect(ok.status).toBe(200);
      expect(ok.body).toBe("example body\n");
      sent.ok++;
      const nf = await httpRequest(port, `/unknown?i=${i}`, { agent });
      expect(nf.status).toBe(404);
      expect(nf.body).toBe(PAGE.body);
      expect(nf.headers["content-length"]).toBe(String(PAGE_LENGTH));
      expect(nf.headers["content-type"]).toBe(PAGE.contentType);
      expect(nf.headers["transfer-encoding"]).toBeUndefined();
      sent.missing++;
    }
    for (let i = 0; i < 2; i++) {
      // Envoy answers HEAD with a chunked 404 and no body: the page's length, no page bytes
      const h = await httpRequest(port, "/unknown", { agent, method: "HEAD" });
      expect(h.status).toBe(404);
      expect(h.headers["content-length"]).toBe(String(PAGE_LENGTH));
      expect(h.headers["transfer-encoding"]).toBeUndefined();
      expect(h.body).toBe("");
      sent.head++;
      // the next response on the same connection is untouched
      const ok = await httpRequest(port, "/", { agent });
      expect(ok.body).toBe("example body\n");
      sent.ok++;
    }
    agent.destroy();
    const after = await envoy.waitForStats(
      (s) => count(s, "GET", "/") - count(before, "GET", "/") >= sent.ok && count(s, "HEAD", "other") - count(before, "HEAD", "other") >= sent.head,
      "duration samples",
    );
    expect(count(after, "GET", "/") - count(before, "GET", "/")).toBe(sent.ok);
    expect(count(after, "GET", "other") - count(before, "GET", "other")).toBe(sent.missing);
    expect(count(after, "HEAD", "other") - count(before, "HEAD", "other")).toBe(sent.head);
    expect(requests(after, "GET", "/") - requests(before, "GET", "/")).toBe(sent.ok);
    expect(responses(after, "2xx") - responses(before, "2xx")).toBe(sent.ok);
    expect(responses(after, "4xx") - responses(before, "4xx")).toBe(sent.missing + sent.head);
    expect(responses(after, "5xx") - responses(before, "5xx")).toBe(0);
    expect(tcp(after, "custom_404_total") - tcp(before, "custom_404_total")).toBe(sent.missing + sent.head);
    expect(tcp(after, "unmatched_responses_total") - tcp(before, "unmatched_responses_total")).toBe(0);
  });

  test("bare-LF requests (Envoy's own codec accepts them) are counted, timed, and their 404s get the page", async () => {
    const before = await envoy.settle();
    const bare = [0, 1, 2].map((i) => `GET /hidden${i} HTTP/1.1\nHost: x\n\n`);
    const ex = await rawExchange(port, [...bare, get("/")], { gapMs: 150, until: (b) => countResponses(b) === 4, idleMs: 2000 });
    expect(countResponses(ex.received)).toBe(4);
    expect(ex.received.toString("latin1").split(PAGE.body).length - 1).toBe(3);
    const after = await envoy.waitForStats(
      (s) => count(s, "GET", "other") - count(before, "GET", "other") === 3 && count(s, "GET", "/") - count(before, "GET", "/") === 1,
      "4 requests timed",
    );
    expect(requests(after, "GET", "other") - requests(before, "GET", "other")).toBe(3);
    expect(requests(after, "GET", "/") - requests(before, "GET", "/")).toBe(1);
    expect(tcp(after, "custom_404_total") - tcp(before, "custom_404_total")).toBe(3);
    expect(tcp(after, "unmatched_responses_total") - tcp(before, "unmatched_responses_total")).toBe(0);
    const settled = await envoy.settle();
    expect(tcp(settled, "unparsed_bytes_total") - tcp(before, "unparsed_bytes_total")).toBe(0);
  });

  test("curl-like: the bytes on the wire are the service's status line and headers, then the page", async () => {
    const before = await envoy.settle();
    const ex = await rawExchange(port, ["GET /unknown HTTP/1.1\r\nHost: sitio.test\r\nConnection: close\r\n\r\n"]);
    const text = ex.received.toString("latin1");
    expect(text.startsWith("HTTP/1.1 404 Not Found\r\n")).toBe(true);
    expect(text.endsWith(`\r\n${PAGE_HEADERS}${PAGE.body}`)).toBe(true);
    expect(text.match(/content-length/gi)?.length).toBe(1);
    // tx bytes count what the client got, not what the service sent
    const after = await envoy.waitForStats(
      (s) => tcp(s, "active_connections") === 0 && tcp(s, "tx_bytes_total") !== tcp(before, "tx_bytes_total"),
      "connection closed",
    );
    expect(tcp(after, "tx_bytes_total") - tcp(before, "tx_bytes_total")).toBe(ex.received.length);
  });
});

describe("L4 responses from a scripted upstream", () => {
  let port: number;
  let upstream: ScriptedUpstream;
  const OK = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n";
  const GAP = 30;

  const envoy = useEnvoy(async () => {
    upstream = await startScriptedUpstream((method, target) => {
      switch (target) {
        case "/chunked":
          // head split mid status line and mid header, body in chunks with an extension and a trailer
          return {
            writes: [
              "HTTP/1.1 40",
              GAP,
              "4 Not Found\r\nTransfer-Encoding: chu",
              GAP,
              "nked\r\nContent-Type: text/plain\r\nX-Kept: yes\r\n\r\n",
              GAP,
              "5\r\nhello\r\n",
              GAP,
              "6;x=y\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n",
            ],
          };
        case "/split-body":
          return { writes: ["HTTP/1.1 404 Not Found\r\nContent-Length: 20\r\n\r\n", GAP, "0123456789", GAP, "0123456789"] };
        case "/empty":
          return { writes: ["HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"] };
        case "/close":
          return { writes: ["HTTP/1.0 404 Not Found\r\nContent-Type: text/plain\r\n\r\n", GAP, "the body runs until the close"], close: true };
        case "/pair":
          return null; // answered together with /pair-next
        case "/pair-next":
          return { writes: ["HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found" + OK] };
        case "/slow":
          return { writes: [150, OK] };
        case "/ws":
          return { writes: ["HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"] };
        case "/ws-refused":
          return { writes: ["HTTP/1.1 426 Upgrade Required\r\nContent-Length: 0\r\n\r\n"] };
        default:
          return { writes: [OK] };
      }
    });
    return { name: "l4-responses-scripted", upstreams: { web_service: upstream.port } };
  });
  beforeAll(() => {
    port = envoy.port(18000);
  });
  afterAll(async () => upstream?.stop());

  const rewritten = (statusLine: string, kept = "") => `${statusLine}\r\n${kept}${PAGE_HEADERS}${PAGE.body}`;

  test("chunked 404 with its head split across reads: the page, with a matching Content-Length", async () => {
    const ex = await rawExchange(port, [get("/chunked")], {
      until: (b) => b.length >= rewritten("HTTP/1.1 404 Not Found", "X-Kept: yes\r\n").length,
      idleMs: 300,
    });
    expect(ex.received.toString("latin1")).toBe(rewritten("HTTP/1.1 404 Not Found", "X-Kept: yes\r\n"));
  });

  test("404 whose body arrives in several reads, then a keep-alive 200 untouched", async () => {
    const ex = await rawExchange(port, [get("/split-body"), get("/after")], { gapMs: 200, idleMs: 300 });
    expect(ex.received.toString("latin1")).toBe(rewritten("HTTP/1.1 404 Not Found") + OK);
  });

  test("empty 404", async () => {
    const ex = await rawExchange(port, [get("/empty")], { idleMs: 300 });
    expect(ex.received.toString("latin1")).toBe(rewritten("HTTP/1.1 404 Not Found"));
  });

  test("close-delimited 404: the page, then the close; its duration is recorded at the close", async () => {
    const before = await envoy.settle();
    const ex = await rawExchange(port, [get("/close")], { idleMs: 1000 });
    expect(ex.closedByPeer).toBe(true);
    expect(ex.received.toString("latin1")).toBe(rewritten("HTTP/1.0 404 Not Found"));
    await envoy.waitForStats((s) => count(s, "GET", "other") - count(before, "GET", "other") === 1, "the close-delimited response timed");
  });

  test("a 404 and a 200 in one upstream write: the 404 rewritten, the 200 untouched", async () => {
    const before = await envoy.settle();
    const ex = await rawExchange(port, [get("/pair") + get("/pair-next")], { idleMs: 300 });
    expect(ex.received.toString("latin1")).toBe(rewritten("HTTP/1.1 404 Not Found") + OK);
    const after = await envoy.waitForStats((s) => count(s, "GET", "/pair-next") - count(before, "GET", "/pair-next") === 1, "pair timed");
    expect(count(after, "GET", "other") - count(before, "GET", "other")).toBe(1);
    expect(responses(after, "4xx") - responses(before, "4xx")).toBe(1);
    expect(responses(after, "2xx") - responses(before, "2xx")).toBe(1);
  });

  test("protocol switch in Envoy: after a 101 the client's bytes are never requests; after a refusal they are", async () => {
    const upgrade = (path: string) => `GET ${path} HTTP/1.1\r\nHost: sitio.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n`;
    const before = await envoy.settle();
    const after = get("/after-switch");
    const accepted = await rawExchange(port, [upgrade("/ws"), after], { gapMs: 100, idleMs: 300 });
    expect(accepted.received.toString("latin1").startsWith("HTTP/1.1 101 ")).toBe(true);
    await rawExchange(port, [upgrade("/ws-refused") + get("/after-refusal")], { idleMs: 300 });
    const s = await envoy.waitForStats(
      (x) =>
        count(x, "GET", "/after-refusal") - count(before, "GET", "/after-refusal") === 1 &&
        tcp(x, "unparsed_bytes_total") - tcp(before, "unparsed_bytes_total") >= after.length,
      "the request after the refusal timed, the tunnel bytes published",
    );
    expect(requests(s, "GET", "/after-switch") - requests(before, "GET", "/after-switch")).toBe(0);
    expect(requests(s, "GET", "/after-refusal") - requests(before, "GET", "/after-refusal")).toBe(1);
    expect(tcp(s, "unparsed_bytes_total") - tcp(before, "unparsed_bytes_total")).toBe(after.length);
    expect(responses(s, "1xx") - responses(before, "1xx")).toBe(1);
  });

  test("durations: three 150 ms responses on one keep-alive connection, every sample above 100 ms, recorded in µs", async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    for (let i = 0; i < 3; i++) expect((await httpRequest(port, "/slow", { agent })).body).toBe("ok\n");
    agent.destroy();
    const s = await envoy.waitForStats((x) => count(x, "GET", "/slow") === 3, "3 slow samples");
    expect(value(s, "sitio_tcp_request_duration_microsecond_bucket", { ...labels("GET", "/slow"), le: "100000" })).toBe(0);
    expect(value(s, "sitio_tcp_request_duration_microsecond_bucket", { ...labels("GET", "/slow"), le: "250000" })).toBe(3);
    expect(value(s, "sitio_tcp_request_duration_microsecond_bucket", { ...labels("GET", "/slow"), le: "+Inf" })).toBe(3);
    expect(value(s, "sitio_tcp_request_duration_microsecond_sum", labels("GET", "/slow"))).toBeGreaterThanOrEqual(3 * 150_000 * 0.95);
  });

  test("durations below a millisecond have buckets of their own: the shipped buckets start at 25 µs", async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    for (let i = 0; i < 5; i++) expect((await httpRequest(port, "/fast", { agent })).body).toBe("ok\n");
    agent.destroy();
    const s = await envoy.waitForStats((x) => count(x, "GET", "/fast") === 5, "5 fast samples");
    const bounds = s.filter((x) => x.name === "sitio_tcp_request_duration_microsecond_bucket" && x.labels.endpoint === "/fast").map((x) => x.labels.le);
    expect(bounds.slice(0, 6)).toEqual(["25", "50", "100", "250", "500", "1000"]);
    expect(bounds.at(-2)).toBe("60000000");
    // a local exchange through Envoy takes well under 10 ms, even on a busy machine
    expect(value(s, "sitio_tcp_request_duration_microsecond_bucket", { ...labels("GET", "/fast"), le: "10000" })).toBe(5);
  });
});
