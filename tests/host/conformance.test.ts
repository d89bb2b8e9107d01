// sitio's HTTP/1.x request parser against llhttp's request test corpus (the
// parser in Node.js; tests/fixtures/llhttp/), as compiled to wasm and run
// through the project's own proxy-wasm host: what sitio counts must be what
// llhttp reports, for every way the bytes can arrive.
//
// What is compared: the sequence of requests counted in
// `sitio_tcp_requests_total` as (method label, endpoint label), read from the
// host's metrics after every read, on a root with the default configuration
// (no collapsing of ids), in its own module instance per case, with the
// case's expected endpoints admitted beforehand (no upstream answers here; see
// assembly/labels/endpoint_table.ts). The corpus'
// requests are mapped through the same label rules (tests/harness/labels.ts mirrors assembly/labels/):
// methods outside the standard nine become `other`; the endpoint is the path
// without query or fragment, absolute-form reduced to its path, `*` and
// authority-form kept. sitio counts a request when its head is complete, so
// only llhttp's requests with `headers_complete` count. Counters cannot show
// the order of two requests counted in the same read; within one read the
// order is taken from the expected sequence when the two agree as multisets,
// and the one-byte-at-a-time runs pin the order exactly.

import { afterAll, describe, expect, test } from "vitest";
import { ProxyWasmHost, type Connection } from "../harness/proxy_wasm_host.js";
import { preAdmit } from "../harness/host_roots.js";
import { CASES, bytesOf, expectedRequests, httpBytesOf, labelOf, type LlhttpCase } from "../harness/llhttp_corpus.js";

const REQS = "sitio_tcp_requests_total;";

/** One case's own module instance and root: a failure in one case cannot spill into the next. */
class Probe {
  readonly host = new ProxyWasmHost();
  readonly plugin = "conformance";
  readonly root = this.host.createRoot("sitio_network", this.plugin);
  private readonly suffix = `;plugin=${this.plugin}`;
  private readonly admitted = new Set<string>();

  /** "METHOD endpoint" → count, for this root's requests. */
  counts(): Map<string, number> {
    const out = new Map<string, number>();
    for (const m of this.host.metrics.values()) {
      if (!m.name.startsWith(REQS) || !m.name.endsWith(this.suffix) || m.value === 0) continue;
      const labels = Object.fromEntries(
        m.name
          .slice(REQS.length, -this.suffix.length)
          .split(";")
          .map((kv) => kv.split("=", 2) as [string, string]),
      );
      out.set(`${labels.method} ${labels.endpoint}`, m.value);
    }
    return out;
  }

  unparsed(): number {
    return this.host.value(`sitio_tcp_unparsed_bytes_total${this.suffix}`);
  }

  /**
   * On a fresh connection, runs each step: a Buffer is one downstream read, a
   * function acts on the connection (an upstream answer). Returns the requests
   * counted, in order, and the bytes counted as unparsed.
   */
  run(steps: (Buffer | ((c: Connection) => void))[], expected: string[]): { seq: string[]; unparsed: number } {
    const labels = expected.map((e) => e.slice(e.indexOf(" ") + 1)).filter((l) => l !== "other" && !this.admitted.has(l));
    preAdmit(this.host, new Set(labels), this.plugin);
    for (const l of labels) this.admitted.add(l);
    const unparsedBefore = this.unparsed();
    const conn = this.host.connect(this.root);
    const seq: string[] = [];
    let before = this.counts();
    const final = () => {
      conn.close();
      this.host.flush();
    };
    for (const step of [...steps, final]) {
      if (Buffer.isBuffer(step)) conn.downstream(step);
      else step(conn);
      const after = this.counts();
      const delta: string[] = [];
      for (const [k, v] of after) for (let n = v - (before.get(k) ?? 0); n > 0; n--) delta.push(k);
      before = after;
      const next = expected.slice(seq.length, seq.length + delta.length);
      seq.push(...(sameMultiset(next, delta) ? next : delta.sort()));
    }
    return { seq, unparsed: this.unparsed() - unparsedBefore };
  }
}

function sameMultiset(a: string[], b: string[]): boolean {
  return a.length === b.length && [...a].sort().join("\n") === [...b].sort().join("\n");
}

/** Whole, split in two at every byte boundary, one byte at a time. */
function splits(bytes: Buffer): { name: string; chunks: Buffer[] }[] {
  const out = [{ name: "whole", chunks: [bytes] }];
  for (let k = 1; k < bytes.length; k++) out.push({ name: `split at ${k}`, chunks: [bytes.subarray(0, k), bytes.subarray(k)] });
  out.push({ name: "one byte at a time", chunks: [...bytes].map((b) => Buffer.from([b])) });
  return out;
}

/** A request sent after the case's bytes on the same connection: never counted after an error or a switch. */
const AFTER = Buffer.from("GET /after HTTP/1.1\r\nHost: a\r\n\r\n", "latin1");

// ---------------------------------------------------------------- loose cases
//
// llhttp accepts these only with a lenient flag. sitio follows llhttp's strict
// mode (Node's default) for all of them: these are the ambiguities request
// smuggling is made of, and counting them one way when the backend reads them
// another is exactly the disagreement to avoid; a parser can follow only one
// reference. (Envoy's own codec, given these bytes, refuses most with
// 400/426/501 but accepts a few, e.g. some obs-folds.) So each one is parsed up to the strict error: the requests
// before it are counted, the bytes from it on are unparsed. `requests`: how many
// requests a strict parser counts; `strictErrorAt`: the offset of the byte where
// strict llhttp fails (its strict twin's error offset where the corpus has one).
const LOOSE: Record<string, { requests: number; strictErrorAt: number; reason: string }> = {
  "connection.md#Resetting flags when keep-alive is off (1.0, lenient)": {
    requests: 1,
    strictErrorAt: 40,
    reason: "HTTP/1.0 without keep-alive ends the connection; a server reads no second request",
  },
  "connection.md#CRLF between requests, explicit `close` (lenient)": {
    requests: 1,
    strictErrorAt: 138,
    reason: "data after `Connection: close` is never read by the server",
  },
  "connection.md#Multiple tokens with folding": { requests: 0, strictErrorAt: 63, reason: "obs-fold (RFC 9112 §5.2: reject or replace); strict rejects" },
  "connection.md#Multiple tokens with folding, LWS, and CRLF": { requests: 0, strictErrorAt: 46, reason: "obs-fold" },
  "connection.md#Invalid whitespace token with `Connection` header field (lenient)": {
    requests: 0,
    strictErrorAt: 30,
    reason: "whitespace before the colon: RFC 9112 §5.1 requires a 400",
  },
  "content-length.md#Invalid whitespace token with `Content-Length` header field (lenient)": {
    requests: 0,
    strictErrorAt: 55,
    reason: "whitespace before the colon, on a framing header (smuggling)",
  },
  "content-length.md#No error on simultaneous `Content-Length` and `Transfer-Encoding: identity` (lenient)": {
    requests: 0,
    strictErrorAt: 56,
    reason: "Content-Length with Transfer-Encoding (RFC 9112 §6.1, smuggling)",
  },
  "content-length.md#Missing CRLF-CRLF before body (lenient)": { requests: 0, strictErrorAt: 39, reason: "CR without LF ends no line" },
  "invalid.md#Headers separated by dummy characters (lenient)": { requests: 0, strictErrorAt: 45, reason: "CR without LF ends no line" },
  "lenient-header-value-relaxed.md#Control char in header value (relaxed)": { requests: 0, strictErrorAt: 33, reason: "control byte in a field value" },
  "lenient-header-value-relaxed.md#CR without LF in header value should be rejected even with relaxed flag": {
    requests: 0,
    strictErrorAt: 42,
    reason: "an error even for lenient llhttp",
  },
  "lenient-header-value-relaxed.md#Space after start line must still fail": { requests: 0, strictErrorAt: 20, reason: "an error even for lenient llhttp" },
  "lenient-headers.md#Header value (lenient)": { requests: 0, strictErrorAt: 28, reason: "control byte in a field value" },
  "lenient-headers.md#Second request header value (lenient)": {
    requests: 1,
    strictErrorAt: 66,
    reason: "the first request is fine; the second has a control byte in a field value",
  },
  "lenient-headers.md#Empty headers separated by CR (lenient)": { requests: 0, strictErrorAt: 61, reason: "CR without LF ends no line" },
  "lenient-version.md#Invalid HTTP version (lenient)": { requests: 0, strictErrorAt: 14, reason: "HTTP/5.6 is not HTTP/1.x" },
  "sample.md#No LF after CR (lenient)": { requests: 0, strictErrorAt: 15, reason: "CR without LF ends no line" },
  "transfer-encoding.md#POST with `Transfer-Encoding` and `Content-Length` (lenient)": {
    requests: 0,
    strictErrorAt: 111,
    reason: "Content-Length with Transfer-Encoding (smuggling)",
  },
  "transfer-encoding.md#POST with `chunked` before other transfer-coding (lenient)": {
    requests: 0,
    strictErrorAt: 94,
    reason: "chunked must be the final coding (RFC 9112 §6.1)",
  },
  "transfer-encoding.md#POST with `chunked` and duplicate transfer-encoding (lenient)": {
    requests: 0,
    strictErrorAt: 115,
    reason: "chunked must be the final coding",
  },
  "transfer-encoding.md#Invalid OBS fold after chunked value": {
    requests: 0,
    strictErrorAt: 47,
    reason: "obs-fold (lenient llhttp then refuses the coding too)",
  },
  "transfer-encoding.md#Chunk header not terminated by CRLF (lenient)": { requests: 1, strictErrorAt: 78, reason: "CR without LF after a chunk size" },
  "transfer-encoding.md#Chunk data not terminated by CRLF (lenient)": { requests: 1, strictErrorAt: 84, reason: "chunk data must end in CRLF" },
};

// ---------------------------------------------------------------- leniencies
//
// Where Envoy's own HTTP/1 codec (Balsa, in 1.40) and most servers accept what
// strict llhttp refuses, sitio accepts it too, so a request the upstream
// answers is counted, timed and can have its 404 replaced: a bare LF ending
// the request line, a header line or the head, and after chunk data; blanks
// after a chunk size; obs-fold (a line starting with a blank continues the
// previous value) on fields that decide neither framing nor the connection —
// on Content-Length, Transfer-Encoding, Connection or Upgrade it stays an
// error. Not accepted (Envoy refuses them too): a bare LF after a chunk size,
// CR without LF, whitespace before a colon. `requests`: what sitio counts;
// `errorAt`: where it then stops (unparsed from there), or null.
const LENIENT: Record<string, { requests: string[]; errorAt: ((bytes: string) => number) | null; reason: string }> = {
  "invalid.md#Only LFs present (lenient)": {
    requests: ["POST /"],
    errorAt: (b) => b.indexOf("\n\n1\n") + 3,
    reason: "the head's bare LFs are accepted; a bare LF after a chunk size is not (Envoy refuses it too)",
  },
  "invalid.md#Only LFs present": { requests: ["POST /"], errorAt: (b) => b.indexOf("\n\n1\n") + 3, reason: "the same bytes, plus one" },
  "invalid.md#Spaces before headers (lenient)": {
    requests: ["POST /hello", "GET /bye"],
    errorAt: null,
    reason: "obs-fold on Foo: the folded ' Content-Length: 38' is part of Foo's value, as lenient llhttp and Envoy read it",
  },
  "invalid.md#Spaces before headers": { requests: ["POST /hello", "GET /bye"], errorAt: null, reason: "the same bytes" },
  "sample.md#Line folding in header value with CRLF": {
    requests: [],
    errorAt: (b) => b.indexOf("Connection:\r\n close") + 13,
    reason: "obs-fold accepted on Line1..Line4, refused on Connection",
  },
  "sample.md#Line folding in header value with LF": {
    requests: [],
    errorAt: (b) => b.indexOf("Connection:\n close") + 12,
    reason: "bare LF line ends, obs-fold as above",
  },
  "sample.md#X-SSL-Nonsense": { requests: ["GET /"], errorAt: null, reason: "obs-fold on an ordinary field" },
  "transfer-encoding.md#Space after chunk header (lenient)": { requests: ["PUT /url"], errorAt: null, reason: "blanks after a chunk size" },
  "transfer-encoding.md#Space after chunk header": { requests: ["PUT /url"], errorAt: null, reason: "the same bytes" },
  "invalid.md#Headers separated by LF": {
    requests: ["POST /"],
    errorAt: null,
    reason: "a bare LF ends the x line: Transfer-Encoding is a field of its own (as Envoy reads it)",
  },
  "invalid.md#Empty headers separated by LF": { requests: ["POST /"], errorAt: null, reason: "the same with an empty value" },
  "lenient-header-value-relaxed.md#LF in header value should be rejected even with relaxed flag": {
    requests: ["POST /"],
    errorAt: null,
    reason: "the same bytes: Envoy reads the LF as a line end, so sitio does",
  },
  "invalid.md#Missing CR between headers": {
    requests: ["GET /", "GET /admin"],
    errorAt: null,
    reason: "a bare LF ends the Dummy line: Content-Length 23 covers the next 23 bytes, and GET /admin follows, as Envoy reads it",
  },
};

/** A case sitio accepts beyond strict llhttp: exactly these requests for every split, and unparsed bytes only from `errorAt` on. */
function expectLenient(c: LlhttpCase, requests: string[], errorAt: number | null): void {
  const probe = new Probe();
  const bytes = bytesOf(c);
  for (const { name, chunks } of splits(bytes)) {
    const { seq, unparsed } = probe.run(chunks, requests);
    expect(seq, `${name}: requests`).toEqual(requests);
    expect(unparsed, `${name}: unparsed bytes`).toBe(errorAt === null ? 0 : bytes.length - errorAt);
  }
  expect(probe.host.traps).toBe(0);
  passed.lenient++;
}

// ---------------------------------------------------------------- protocol switches
//
// After a CONNECT or Upgrade request (and its body) sitio holds the client's
// next bytes until the upstream answers: accepted (101, or 2xx to CONNECT)
// they are tunnel data, never requests, counted as unparsed; refused, parsing
// resumes with them. The HTTP/2 preface (`PRI * HTTP/2.0` + `SM`) switches at
// once. The hold is the request parser's (`awaitingSwitch`, `resolveSwitch`);
// codec/http1.ts resolves it from the upstream's response.

const UPSTREAM_101 = "HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n";
const UPSTREAM_200 = "HTTP/1.1 200 Connection established\r\n\r\n";
const UPSTREAM_400 = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
const UPSTREAM_403 = "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n";
/** An HTTP/2 SETTINGS frame: what a client sends after the preface. */
const H2_SETTINGS = Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]);
const AFTER_2 = Buffer.from("GET /after2 HTTP/1.1\r\nHost: a\r\n\r\n", "latin1");

type SwitchKind = "preface" | "connect" | "upgrade";
const kindOf = (c: LlhttpCase): SwitchKind => (c.requests[0].method === "PRI" ? "preface" : c.requests[0].method === "CONNECT" ? "connect" : "upgrade");
const scenariosOf = (c: LlhttpCase): string[] => (kindOf(c) === "preface" ? ["switches at once"] : ["accepted", "refused"]);

/** The head (and body) before the switch, whole and one byte at a time. */
function headFeeds(head: Buffer): Buffer[][] {
  return [[head], [...head].map((b) => Buffer.from([b]))];
}

function switchScenario(c: LlhttpCase, scenario: string): void {
  const probe = new Probe();
  const bytes = bytesOf(c);
  const offset = c.upgrade!.offset;
  const expected = expectedRequests(c);
  const kind = kindOf(c);
  if (scenario === "switches at once") {
    // no answer needed: what follows the preface is HTTP/2, never a request
    const h2 = Buffer.concat([bytes.subarray(offset), H2_SETTINGS, AFTER]);
    for (const feed of headFeeds(bytes.subarray(0, offset))) {
      const { seq, unparsed } = probe.run([...feed, h2], expected);
      expect(seq).toEqual([]);
      expect(unparsed).toBe(h2.length);
    }
  } else if (scenario === "accepted") {
    // the client does not wait for the answer: tunnel bytes (and something request-shaped) arrive first
    const tunnel = Buffer.concat([bytes.subarray(offset), AFTER]);
    const answer = kind === "connect" ? UPSTREAM_200 : UPSTREAM_101;
    for (const feed of headFeeds(bytes.subarray(0, offset))) {
      const upstream = (conn: Connection) => expect(conn.upstream(answer).toString("latin1")).toBe(answer);
      const { seq, unparsed } = probe.run([...feed, tunnel, upstream, AFTER_2], expected);
      expect(seq).toEqual(expected);
      expect(unparsed).toBe(tunnel.length + AFTER_2.length);
    }
  } else {
    // refused: the next requests are counted, the one held during the wait and the one after.
    // An HTTP/1.0 request without keep-alive ends the connection even when refused, so such a
    // head is sent as HTTP/1.1 here (same bytes otherwise).
    const head = Buffer.from(
      bytes
        .subarray(0, offset)
        .toString("latin1")
        .replace(/^([^\r\n]*) HTTP\/1\.0\r\n/, "$1 HTTP/1.1\r\n"),
      "latin1",
    );
    const answer = kind === "connect" ? UPSTREAM_403 : UPSTREAM_400;
    const want = [...expected, "GET /after", "GET /after2"];
    for (const feed of headFeeds(head)) {
      const upstream = (conn: Connection) => expect(conn.upstream(answer).toString("latin1")).toBe(answer);
      const { seq, unparsed } = probe.run([...feed, AFTER, upstream, AFTER_2], want);
      expect(seq).toEqual(want);
      expect(unparsed).toBe(0);
    }
  }
  expect(probe.host.traps).toBe(0);
  switchScenarios.set(c.id, (switchScenarios.get(c.id) ?? 0) + 1);
}

// ---------------------------------------------------------------- groups and the summary line

const strictValid = CASES.filter((c) => c.mode === "strict" && c.valid);
const loose = CASES.filter((c) => c.mode === "loose");
const invalid = CASES.filter((c) => c.mode === "strict" && !c.valid);
const switches = strictValid.filter((c) => c.upgrade !== null);

const passed = { strictValid: 0, loose: 0, invalid: 0, lenient: 0 };
/** Switch scenarios passed per case; a case passes when all of its scenarios did. */
const switchScenarios = new Map<string, number>();

afterAll(() => {
  const switchesPassed = switches.filter((c) => switchScenarios.get(c.id) === scenariosOf(c).length).length;
  console.log(
    `llhttp conformance (wasm host): strict valid ${passed.strictValid}/${strictValid.length}, loose ${passed.loose}/${loose.length}, ` +
      `invalid ${passed.invalid}/${invalid.length}, switches ${switchesPassed}/${switches.length}; ` +
      `accepted by leniency (as Envoy's codec) ${passed.lenient}/${Object.keys(LENIENT).length}`,
  );
});

/** The rule for bytes a parser must refuse: never more requests than before the error, the rest unparsed, the connection still passing bytes. */
function expectRefused(c: LlhttpCase, requests: string[], errorOffset: number): void {
  const probe = new Probe();
  const bytes = bytesOf(c);
  for (const { name, chunks } of splits(bytes)) {
    const { seq, unparsed } = probe.run([...chunks, AFTER], requests);
    expect(seq, `${name}: requests`).toEqual(requests);
    expect(seq.length, name).toBeLessThanOrEqual(c.requests.length);
    // sitio stops where llhttp does: every byte from the error on is unparsed, and so is the request sent
    // after them. llhttp reports some errors at the offending byte and some one past it (after consuming
    // it); sitio's first unparsed byte is within one byte of llhttp's offset.
    const stoppedAt = bytes.length + AFTER.length - unparsed;
    expect(stoppedAt, `${name}: first unparsed byte`).toBeGreaterThanOrEqual(errorOffset - 1);
    expect(stoppedAt, `${name}: first unparsed byte`).toBeLessThanOrEqual(errorOffset + 1);
  }
  expect(probe.host.traps).toBe(0);
}

describe("llhttp corpus through the wasm host", () => {
  describe(`strict valid cases (${strictValid.length})`, () => {
    for (const c of strictValid) {
      test(c.id, () => {
        const probe = new Probe();
        const expected = expectedRequests(c);
        for (const { name, chunks } of splits(httpBytesOf(c))) {
          const { seq, unparsed } = probe.run(chunks, expected);
          expect(seq, name).toEqual(expected);
          expect(unparsed, `${name}: unparsed bytes`).toBe(0);
        }
        expect(probe.host.traps).toBe(0);
        passed.strictValid++;
      });
    }
  });

  describe(`loose cases (${loose.length}): parsed as llhttp's strict mode parses them`, () => {
    test("every loose case has a decision", () => {
      expect(loose.map((c) => c.id).filter((id) => !(id in LOOSE) && !(id in LENIENT))).toEqual([]);
      expect(Object.keys(LOOSE).length + loose.filter((c) => c.id in LENIENT).length).toBe(loose.length);
      expect(Object.keys(LENIENT).filter((id) => !CASES.some((c) => c.id === id))).toEqual([]);
    });
    for (const c of loose) {
      test(c.id, () => {
        if (c.id in LENIENT) {
          const l = LENIENT[c.id];
          expectLenient(
            c,
            l.requests.map((r) => `${r.split(" ")[0]} ${r.split(" ")[1]}`),
            l.errorAt ? l.errorAt(bytesOf(c).toString("latin1")) : null,
          );
          passed.loose++;
          return;
        }
        const decision = LOOSE[c.id];
        // a strict parser stops where the lenient flag was needed: a prefix of the requests lenient llhttp reports
        const requests = c.requests.slice(0, decision.requests).map(labelOf);
        const strictTwin = CASES.find((t) => t.mode === "strict" && !t.valid && t.raw_base64 === c.raw_base64);
        if (strictTwin) expect(decision.strictErrorAt).toBe(strictTwin.error_detail!.offset);
        expectRefused(c, requests, decision.strictErrorAt);
        passed.loose++;
      });
    }
  });

  describe(`protocol switches (${switches.length} strict valid cases)`, () => {
    for (const c of switches) {
      for (const scenario of scenariosOf(c)) test(`${c.id}: ${scenario}`, () => switchScenario(c, scenario));
    }
  });

  describe(`invalid cases (${invalid.length})`, () => {
    for (const c of invalid) {
      test(c.id, () => {
        if (c.id in LENIENT) {
          const l = LENIENT[c.id];
          expectLenient(c, l.requests, l.errorAt ? l.errorAt(bytesOf(c).toString("latin1")) : null);
          passed.invalid++;
          return;
        }
        // llhttp reports these heads complete before its error; sitio counts the same ones
        expectRefused(c, expectedRequests(c), c.error_detail!.offset);
        passed.invalid++;
      });
    }
  });
});
