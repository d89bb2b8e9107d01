// The network filter's response side through the project's own proxy-wasm
// host: response matching and timing, status classes, the custom 404 rewrite
// and protocol switches, on byte tables fed split at every byte.

import { describe, expect, test } from "vitest";
import { ProxyWasmHost, type Connection } from "../harness/proxy_wasm_host.js";

const PAGE = "<h1>custom 404</h1>\n";
const CONFIG_404 = JSON.stringify({ custom_404: { body: PAGE, content_type: "text/html" } });
const PAGE_HEAD = `Content-Type: text/html\r\nContent-Length: ${Buffer.byteLength(PAGE)}\r\n\r\n`;

const P = ";plugin=p";
const responses = (cls: string) => `sitio_tcp_responses_total;status=${cls}${P}`;
const duration = (method: string, endpoint: string) => `sitio_tcp_request_duration_microsecond;method=${method};endpoint=${endpoint}${P}`;
const UNPARSED = `sitio_tcp_unparsed_bytes_total${P}`;
const UNMATCHED = `sitio_tcp_unmatched_responses_total${P}`;
const CUSTOM_404 = `sitio_tcp_custom_404_total${P}`;
const UNTIMED = `sitio_tcp_untimed_requests_total${P}`;
const requests = (method: string, endpoint: string) => `sitio_tcp_requests_total;method=${method};endpoint=${endpoint}${P}`;
/** Requests a connection may have awaiting a response (assembly/codec/decoder.ts MAX_PENDING_REQUESTS). */
const CAP = 1024;

function setup(config = "") {
  const host = new ProxyWasmHost();
  const root = host.createRoot("sitio_network", "p", config);
  return { host, root };
}

const get = (path: string) => `GET ${path} HTTP/1.1\r\nHost: h\r\n\r\n`;
const head = (path: string) => `HEAD ${path} HTTP/1.1\r\nHost: h\r\n\r\n`;

/** Every way of cutting `bytes` into reads: whole, in two at every byte, and one byte at a time. */
function splits(bytes: string): string[][] {
  const out: string[][] = [[bytes]];
  for (let k = 1; k < bytes.length; k++) out.push([bytes.slice(0, k), bytes.slice(k)]);
  out.push([...bytes]);
  return out;
}

/** Sends the upstream reads; returns what the client received, as one string. */
function receive(c: Connection, reads: string[]): string {
  return reads.map((r) => c.upstream(r).toString("latin1")).join("");
}

interface Case {
  name: string;
  /** Client bytes (sent before any response byte). */
  requests: string;
  /** Upstream bytes. */
  upstream: string;
  /** What the client must receive. */
  expected: string;
  /** Response counts by class after the exchange. */
  classes: Record<string, number>;
  rewrites: number;
  /** Close the upstream after the bytes (close-delimited bodies). */
  close?: boolean;
}

const NOT_FOUND_HEAD = "HTTP/1.1 404 Not Found\r\ndate: Mon, 23 Nov 2026 10:00:00 GMT\r\n";
const KEPT = "HTTP/1.1 404 Not Found\r\ndate: Mon, 23 Nov 2026 10:00:00 GMT\r\n";
const OK = "HTTP/1.1 200 OK\r\ncontent-length: 13\r\ncontent-type: text/plain\r\n\r\nexample body\n";

const CASES: Case[] = [
  {
    name: "plain 404 (Content-Length body)",
    requests: get("/missing"),
    upstream: NOT_FOUND_HEAD + "Content-Length: 9\r\nContent-Type: text/plain\r\nx-kept: 1\r\n\r\nnot found",
    expected: KEPT + "x-kept: 1\r\n" + PAGE_HEAD + PAGE,
    classes: { "4xx": 1 },
    rewrites: 1,
  },
  {
    name: "chunked 404 with extensions and trailers",
    requests: get("/missing"),
    upstream: NOT_FOUND_HEAD + "Transfer-Encoding: chunked\r\nContent-Encoding: identity\r\n\r\n4;ext=1\r\nnot \r\n5\r\nfound\r\n0\r\nx-trailer: t\r\n\r\n",
    expected: KEPT + PAGE_HEAD + PAGE,
    classes: { "4xx": 1 },
    rewrites: 1,
  },
  {
    name: "empty 404",
    requests: get("/missing"),
    upstream: NOT_FOUND_HEAD + "content-length: 0\r\n\r\n",
    expected: KEPT + PAGE_HEAD + PAGE,
    classes: { "4xx": 1 },
    rewrites: 1,
  },
  {
    name: "404 to HEAD: the page's Content-Length, no page bytes",
    requests: head("/missing"),
    upstream: NOT_FOUND_HEAD + "transfer-encoding: chunked\r\n\r\n",
    expected: KEPT + PAGE_HEAD,
    classes: { "4xx": 1 },
    rewrites: 1,
  },
  {
    name: "404 then 200 in the same bytes: the 200 is untouched",
    requests: get("/missing") + get("/"),
    upstream: NOT_FOUND_HEAD + "Content-Length: 9\r\n\r\nnot found" + OK,
    expected: KEPT + PAGE_HEAD + PAGE + OK,
    classes: { "4xx": 1, "2xx": 1 },
    rewrites: 1,
  },
  {
    name: "200 then chunked 404 then 200",
    requests: get("/") + get("/missing") + get("/"),
    upstream: OK + NOT_FOUND_HEAD + "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n" + OK,
    expected: OK + KEPT + PAGE_HEAD + PAGE + OK,
    classes: { "4xx": 1, "2xx": 2 },
    rewrites: 1,
  },
  {
    name: "1xx interim responses do not complete the request",
    requests: get("/"),
    upstream: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\n" + OK,
    expected: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\n" + OK,
    classes: { "2xx": 1 },
    rewrites: 0,
  },
  {
    name: "interim 100 before a 404",
    requests: get("/missing"),
    upstream: "HTTP/1.1 100 Continue\r\n\r\n" + NOT_FOUND_HEAD + "Content-Length: 3\r\n\r\nabc",
    expected: "HTTP/1.1 100 Continue\r\n\r\n" + KEPT + PAGE_HEAD + PAGE,
    classes: { "4xx": 1 },
    rewrites: 1,
  },
  {
    name: "pipelined responses without bodies by status",
    requests: get("/a") + get("/b") + get("/c") + head("/d"),
    upstream:
      "HTTP/1.1 204 No Content\r\ncontent-length: 99\r\n\r\n" +
      "HTTP/1.1 304 Not Modified\r\ncontent-length: 5\r\n\r\n" +
      "HTTP/1.1 500 Oops\r\ncontent-length: 2\r\n\r\nno" +
      "HTTP/1.1 200 OK\r\ncontent-length: 13\r\n\r\n",
    expected:
      "HTTP/1.1 204 No Content\r\ncontent-length: 99\r\n\r\n" +
      "HTTP/1.1 304 Not Modified\r\ncontent-length: 5\r\n\r\n" +
      "HTTP/1.1 500 Oops\r\ncontent-length: 2\r\n\r\nno" +
      "HTTP/1.1 200 OK\r\ncontent-length: 13\r\n\r\n",
    classes: { "2xx": 2, "3xx": 1, "5xx": 1 },
    rewrites: 0,
  },
  {
    name: "close-delimited 404 (HTTP/1.0, no length)",
    requests: get("/missing"),
    upstream: "HTTP/1.0 404 Not Found\r\nServer: old\r\n\r\nthe body runs until the close",
    expected: "HTTP/1.0 404 Not Found\r\nServer: old\r\n" + PAGE_HEAD + PAGE,
    classes: { "4xx": 1 },
    rewrites: 1,
    close: true,
  },
  {
    name: "close-delimited 200 is complete at the close",
    requests: get("/"),
    upstream: "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nbody until close",
    expected: "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nbody until close",
    classes: { "2xx": 1 },
    rewrites: 0,
    close: true,
  },
];

describe("wasm host: responses and the custom 404 page, every split", () => {
  for (const c of CASES) {
    test(c.name, () => {
      const { host, root } = setup(CONFIG_404);
      const runs = splits(c.upstream);
      for (const reads of runs) {
        const conn = host.connect(root);
        conn.downstream(c.requests);
        const got = receive(conn, reads);
        if (c.close) conn.close();
        expect(got, `reads: ${JSON.stringify(reads.map((r) => r.length))}`).toBe(c.expected);
        if (!c.close) conn.close();
      }
      host.flush();
      for (const [cls, n] of Object.entries(c.classes)) expect(host.value(responses(cls)), cls).toBe(n * runs.length);
      expect(host.sum("sitio_tcp_responses_total")).toBe(Object.values(c.classes).reduce((a, b) => a + b, 0) * runs.length);
      expect(host.value(CUSTOM_404)).toBe(c.rewrites * runs.length);
      expect(host.value(UNMATCHED)).toBe(0);
      expect(host.value(UNPARSED)).toBe(0);
      expect(host.traps).toBe(0);
    });
  }

  test("without custom_404 every response passes through untouched, and nothing is held", () => {
    const { host, root } = setup();
    for (const c of CASES) {
      for (const reads of [[c.upstream], [...c.upstream]]) {
        const conn = host.connect(root);
        conn.downstream(c.requests);
        for (const r of reads) expect(conn.upstream(r).toString("latin1")).toBe(r);
        conn.close();
      }
    }
    expect(host.value(CUSTOM_404)).toBe(0);
  });

  test("a 404 head longer than the hold cap, split across reads, passes through untouched", () => {
    const { host, root } = setup(CONFIG_404);
    const big = NOT_FOUND_HEAD + `x-big: ${"a".repeat(40 * 1024)}\r\ncontent-length: 3\r\n\r\nabc`;
    const conn = host.connect(root);
    conn.downstream(get("/missing"));
    const reads = big.match(/[\s\S]{1,1000}/g)!;
    expect(receive(conn, reads)).toBe(big);
    expect(host.value(CUSTOM_404)).toBe(0);
    expect(host.value(responses("4xx"))).toBe(1);
    // the next 404 on the connection is rewritten again
    conn.downstream(get("/missing"));
    expect(receive(conn, [NOT_FOUND_HEAD + "content-length: 0\r\n\r\n"])).toBe(KEPT + PAGE_HEAD + PAGE);
    expect(host.value(CUSTOM_404)).toBe(1);
  });

  test("a Transfer-Encoding value longer than the bytes kept for it still ends in chunked: the 404 is framed by its chunks and the 200 after it passes untouched", () => {
    const { host, root } = setup(CONFIG_404);
    for (const codings of ["gzip, ".repeat(20) + "chunked", "gzip,".repeat(13) + "chunked", "x".repeat(300) + ", chunked"]) {
      const notFound = NOT_FOUND_HEAD + `transfer-encoding: ${codings}\r\n\r\n5\r\nnope!\r\n0\r\n\r\n`;
      const ok = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
      for (const reads of splits(notFound + ok).filter((_, i) => i % 7 === 0)) {
        const conn = host.connect(root);
        conn.downstream(get("/missing") + get("/"));
        expect(receive(conn, reads)).toBe(KEPT + PAGE_HEAD + PAGE + ok);
        conn.close();
      }
    }
    // a value that merely ends in the letters of chunked (not the token): the body runs until the close, and the page replaces it
    const conn = host.connect(root);
    conn.downstream(get("/missing"));
    const unframed = NOT_FOUND_HEAD + `transfer-encoding: ${"x".repeat(100)}chunked\r\n\r\nbody until the close`;
    expect(receive(conn, [unframed])).toBe(KEPT + PAGE_HEAD + PAGE);
    conn.close();
  });
});

/** A small deterministic PRNG (mulberry32), so a failure can be replayed. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("wasm host: random sequences and random splits", () => {
  // [request, response on the wire, what the client must get]
  const EXCHANGES: [string, string, string][] = CASES.filter((c) => !c.close && c.requests.split("\r\n\r\n").length === 2).map((c) => [
    c.requests,
    c.upstream,
    c.expected,
  ]);

  test("keep-alive sequences of the table's exchanges, cut at random places, give exactly the expected bytes", () => {
    const { host, root } = setup(CONFIG_404);
    const rand = prng(42);
    let rewrites = 0;
    for (let round = 0; round < 300; round++) {
      const picked = Array.from({ length: 1 + Math.floor(rand() * 5) }, () => EXCHANGES[Math.floor(rand() * EXCHANGES.length)]);
      const wire = picked.map((e) => e[1]).join("");
      const cuts = [...new Set(Array.from({ length: Math.floor(rand() * 8) }, () => Math.floor(rand() * wire.length)))].sort((a, b) => a - b);
      const reads = [0, ...cuts].map((from, i) => wire.slice(from, i < cuts.length ? cuts[i] : wire.length)).filter((r) => r.length > 0);
      const conn = host.connect(root);
      conn.downstream(picked.map((e) => e[0]).join(""));
      expect(receive(conn, reads), `round ${round}`).toBe(picked.map((e) => e[2]).join(""));
      conn.close();
      rewrites += picked.filter((e) => e[1] !== e[2]).length;
    }
    expect(host.value(CUSTOM_404)).toBe(rewrites);
    expect(host.value(UNMATCHED)).toBe(0);
  });

  test("random bytes both ways never trap; without a rewrite the client gets a prefix of the upstream bytes, in order", () => {
    const { host, root } = setup(CONFIG_404);
    const rand = prng(7);
    const alphabet = [
      "HTTP/1.1 ",
      "404 ",
      "200 ",
      "101 ",
      "\r\n",
      "Content-Length: 3",
      "Transfer-Encoding: chunked",
      ":",
      " ",
      "0",
      "5",
      "x",
      "\x00",
      "\xff",
      "GET / HTTP/1.1\r\n",
      "CONNECT a:1 HTTP/1.1\r\n",
      "Upgrade: x\r\nConnection: upgrade\r\n",
    ];
    const noise = (n: number) => Array.from({ length: n }, () => alphabet[Math.floor(rand() * alphabet.length)]).join("");
    let untouched = 0;
    for (let round = 0; round < 300; round++) {
      const conn = host.connect(root);
      const before = host.value(CUSTOM_404);
      let sent = "";
      let got = "";
      for (let i = 0; i < 6; i++) {
        conn.downstream(noise(1 + Math.floor(rand() * 10)));
        const up = noise(1 + Math.floor(rand() * 10));
        sent += up;
        got += conn.upstream(up).toString("latin1");
      }
      conn.close();
      // bytes may be withheld (a head that may be a 404's) but only a rewrite changes them
      if (host.value(CUSTOM_404) === before) {
        expect(sent.startsWith(got), `round ${round}`).toBe(true);
        untouched++;
      }
    }
    expect(untouched).toBeGreaterThan(100);
    expect(host.traps).toBe(0);
  });
});

describe("wasm host: response timing", () => {
  test("duration is the request's first byte to the response's last byte, per endpoint", () => {
    const { host, root } = setup();
    const conn = host.connect(root);
    host.nowNs = 1_000_000_000n;
    conn.downstream("GET /slow HTTP/1.1\r\n");
    host.nowNs += 3_000_000n;
    conn.downstream("Host: h\r\n\r\n");
    host.nowNs += 4_000_000n;
    conn.upstream("HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nab");
    expect(host.metrics.get(duration("GET", "/slow"))?.samples ?? []).toEqual([]);
    host.nowNs += 5_000_000n;
    conn.upstream("cd");
    expect(host.metrics.get(duration("GET", "/slow"))!.samples).toEqual([12_000]);
    conn.close();
  });

  test("durations are whole microseconds: a 200 µs and a 700 µs exchange are told apart", () => {
    const { host, root } = setup();
    const conn = host.connect(root);
    for (const us of [200n, 700n]) {
      conn.downstream(get("/us"));
      host.nowNs += us * 1000n;
      conn.upstream("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
    }
    conn.close();
    expect(host.metrics.get(duration("GET", "/us"))!.samples).toEqual([200, 700]);
  });

  test("pipelined requests are matched in order, each timed from its own first byte", () => {
    const { host, root } = setup();
    const conn = host.connect(root);
    host.nowNs = 0n;
    conn.downstream(get("/first"));
    host.nowNs = 10_000_000n;
    conn.downstream(get("/second") + get("/third"));
    host.nowNs = 30_000_000n;
    conn.upstream("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\nHTTP/1.1 404 NF\r\ncontent-length: 0\r\n\r\n");
    host.nowNs = 50_000_000n;
    conn.upstream("HTTP/1.1 503 Busy\r\ncontent-length: 0\r\n\r\n");
    conn.close();
    expect(host.metrics.get(duration("GET", "/first"))!.samples).toEqual([30_000]);
    // a 404 is no evidence of an endpoint: /second counts under other; a 503 is, so /third gets in
    expect(host.metrics.get(duration("GET", "other"))!.samples).toEqual([20_000]);
    expect(host.metrics.get(duration("GET", "/third"))!.samples).toEqual([40_000]);
    expect([host.value(responses("2xx")), host.value(responses("4xx")), host.value(responses("5xx"))]).toEqual([1, 1, 1]);
  });

  test("more pending requests than the cap: all responses counted, the overflow untimed, later ones still matched", () => {
    const { host, root } = setup();
    const conn = host.connect(root);
    // /p gets in first, so the requests past the cap (counted when they arrive) count under it
    conn.downstream(get("/p"));
    conn.upstream("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
    conn.downstream(get("/p").repeat(CAP + 6));
    conn.upstream("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n".repeat(CAP + 6));
    conn.downstream(head("/after"));
    // a HEAD response announces a body it does not send: matched to the HEAD, not misread
    conn.upstream("HTTP/1.1 200 OK\r\ncontent-length: 13\r\n\r\n");
    conn.downstream(get("/last"));
    conn.upstream("HTTP/1.1 201 Created\r\ncontent-length: 0\r\n\r\n");
    conn.close();
    expect(host.value(UNTIMED)).toBe(6);
    expect(host.value(requests("GET", "/p"))).toBe(CAP + 7);
    expect(host.metrics.get(duration("GET", "/p"))!.samples.length).toBe(CAP + 1);
    expect(host.metrics.get(duration("HEAD", "/after"))!.samples.length).toBe(1);
    expect(host.metrics.get(duration("GET", "/last"))!.samples.length).toBe(1);
    expect(host.value(responses("2xx"))).toBe(CAP + 9);
    expect(host.value(UNMATCHED)).toBe(0);
  });

  test("a HEAD past the cap: its response's framing is unknown, so the upstream side passes through untouched from there", () => {
    const { host, root } = setup(CONFIG_404);
    const conn = host.connect(root);
    conn.downstream(get("/p").repeat(CAP) + get("/q") + head("/nf") + get("/p"));
    const ok = "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
    const nf = "HTTP/1.1 404 Not Found\r\ncontent-length: 4\r\n\r\n";
    const wire = ok.repeat(CAP + 1) + nf + ok;
    expect(receive(conn, [wire])).toBe(wire);
    conn.close();
    expect(host.value(responses("2xx"))).toBe(CAP + 1);
    expect(host.value(CUSTOM_404)).toBe(0);
    expect(host.value(UNTIMED)).toBe(3);
  });

  test("a response with no pending request is unmatched; the upstream side then passes through unread", () => {
    const { host, root } = setup(CONFIG_404);
    const conn = host.connect(root);
    const stray = "HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\n\r\n";
    expect(conn.upstream(stray).toString("latin1")).toBe(stray);
    conn.downstream(get("/missing"));
    const nf = NOT_FOUND_HEAD + "content-length: 0\r\n\r\n";
    expect(conn.upstream(nf).toString("latin1")).toBe(nf);
    conn.close();
    expect(host.value(UNMATCHED)).toBe(1);
    expect(host.sum("sitio_tcp_responses_total")).toBe(0);
    expect(host.value(CUSTOM_404)).toBe(0);
  });

  test("bytes that are not HTTP from the upstream pass through and stop response parsing", () => {
    const { host, root } = setup(CONFIG_404);
    const conn = host.connect(root);
    conn.downstream(get("/missing"));
    expect(conn.upstream("SSH-2.0-x\r\n").toString("latin1")).toBe("SSH-2.0-x\r\n");
    const nf = NOT_FOUND_HEAD + "content-length: 0\r\n\r\n";
    expect(conn.upstream(nf).toString("latin1")).toBe(nf);
    conn.close();
    expect(host.sum("sitio_tcp_responses_total")).toBe(0);
    expect(host.traps).toBe(0);
  });
});

describe("wasm host: protocol switches", () => {
  const upgrade = "GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n";
  const after = get("/after-switch");
  const gets = (endpoint: string) => requests("GET", endpoint);

  test("101 accepts the Upgrade: the bytes that followed it are never requests, both directions opaque", () => {
    for (const reads of splits(upgrade + after)) {
      const { host, root } = setup();
      const conn = host.connect(root);
      for (const r of reads) conn.downstream(r);
      expect(host.value(gets("/after-switch"))).toBe(0);
      const switching = "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n";
      expect(receive(conn, [switching + "\x81\x05hello"])).toBe(switching + "\x81\x05hello");
      conn.downstream(after);
      conn.close();
      host.flush();
      expect(host.value(gets("/ws"))).toBe(1);
      expect(host.value(gets("/after-switch"))).toBe(0);
      expect(host.value(UNPARSED)).toBe(after.length * 2);
      expect(host.value(responses("1xx"))).toBe(1);
      expect(host.metrics.get(duration("GET", "/ws"))!.samples.length).toBe(1);
    }
  });

  test("a refused Upgrade resumes parsing with the held bytes", () => {
    for (const reads of splits(upgrade + after)) {
      const { host, root } = setup();
      const conn = host.connect(root);
      for (const r of reads) conn.downstream(r);
      conn.upstream("HTTP/1.1 400 Bad Request\r\ncontent-length: 3\r\n\r\nno\n");
      // the held request is decoded now; it counts when its response says where
      expect(host.sum("sitio_tcp_requests_total")).toBe(1);
      conn.upstream("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
      expect(host.value(gets("/after-switch"))).toBe(1);
      conn.close();
      host.flush();
      expect(host.value(UNPARSED)).toBe(0);
      expect([host.value(responses("4xx")), host.value(responses("2xx"))]).toEqual([1, 1]);
      expect(host.metrics.get(duration("GET", "/after-switch"))!.samples.length).toBe(1);
    }
  });

  test("CONNECT: 2xx switches, anything else resumes", () => {
    const connect = "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n";
    const tls = "\x16\x03\x01\x00\x05hello";
    {
      const { host, root } = setup();
      const conn = host.connect(root);
      conn.downstream(connect + tls);
      conn.upstream("HTTP/1.1 200 Connection Established\r\n\r\n");
      conn.downstream(after);
      conn.close();
      host.flush();
      expect(host.value(UNPARSED)).toBe(tls.length + after.length);
      expect(host.value(responses("2xx"))).toBe(1);
      expect(host.value(gets("/after-switch"))).toBe(0);
    }
    {
      const { host, root } = setup();
      const conn = host.connect(root);
      conn.downstream(connect + after);
      conn.upstream("HTTP/1.1 407 Proxy Authentication Required\r\ncontent-length: 0\r\n\r\n");
      conn.upstream("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
      conn.close();
      host.flush();
      expect(host.value(gets("/after-switch"))).toBe(1);
      expect(host.value(UNPARSED)).toBe(0);
    }
  });

  test("held bytes past 16 KiB make the connection opaque", () => {
    const { host, root } = setup();
    const conn = host.connect(root);
    conn.downstream(upgrade);
    const chunk = "x".repeat(4096);
    for (let i = 0; i < 5; i++) conn.downstream(chunk);
    conn.upstream("HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n");
    conn.downstream(after);
    conn.close();
    host.flush();
    expect(host.value(UNPARSED)).toBe(5 * 4096 + after.length);
    expect(host.value(gets("/after-switch"))).toBe(0);
  });

  test("the HTTP/2 preface switches without waiting and is not a request", () => {
    const preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    const frames = "\x00\x00\x00\x04\x00\x00\x00\x00\x00";
    for (const reads of splits(preface + frames)) {
      const { host, root } = setup();
      const conn = host.connect(root);
      for (const r of reads) conn.downstream(r);
      conn.close();
      host.flush();
      expect(host.sum("sitio_tcp_requests_total")).toBe(0);
      expect(host.value(UNPARSED)).toBe(frames.length);
    }
  });
});
