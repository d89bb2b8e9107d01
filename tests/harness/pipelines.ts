// Seeded pipelines of HTTP/1.x exchanges for the byte-integrity test of the
// L4 filter, and the reference model of what the client must receive.
//
// A pipeline is one connection: N requests (GET, HEAD, POST with a
// Content-Length or chunked body, some with Expect: 100-continue), and for
// each the upstream's response (200, 204, 304 or 404, sometimes preceded by
// interim 100/103 responses; bodies framed by Content-Length, chunked with
// extensions and trailers, or, for the last response only, by the close),
// each response split into writes at random points with random pauses, and
// the client's request bytes split into writes likewise. Everything is
// rebuilt from (seed, index) alone.
//
// The model (`expectedResponse`) is written from the contract, not from
// sitio's code: an upstream 404 (final, HTTP/1.x) is replaced by the
// configured page: its status line kept byte for byte, its header lines kept
// byte for byte and in order except Content-Length, Transfer-Encoding,
// Content-Type and Content-Encoding (names compared case-insensitively), then
// `Content-Type: <type>\r\nContent-Length: <page bytes>\r\n\r\n` and the page
// (no page bytes when the request was HEAD); the 404's own body is dropped.
// Every other byte (interim responses, every other response) passes unchanged.

import { readFileSync } from "node:fs";
import { Rng } from "../fuzz/rng.js";
import { SHIPPED_CONFIG } from "./envoy.js";
import type { ConnectionScript, Pause, Piece } from "./pipeline_upstream.js";

// ---------------------------------------------------------------- the page

export interface Page {
  body: Buffer;
  contentType: string;
}

/** The custom 404 page configured for `plugin` in the shipped envoy.yaml (read from the file, never copied). */
export function shippedPage(plugin = "sitio_web"): Page {
  const text = readFileSync(SHIPPED_CONFIG, "utf8");
  const at = text.indexOf(`name: ${plugin}\n`);
  if (at < 0) throw new Error(`no plugin ${plugin} in ${SHIPPED_CONFIG}`);
  // the plugin's configuration JSON: the YAML block scalar after `value: |` (its lines share the first one's indentation)
  const m = /value: \|\n( +)/.exec(text.slice(at));
  if (!m) throw new Error(`no configuration JSON for ${plugin} in ${SHIPPED_CONFIG}`);
  const lines: string[] = [];
  for (const line of text.slice(at + m.index + "value: |\n".length).split("\n")) {
    if (!line.startsWith(m[1]) && line.trim() !== "") break;
    lines.push(line);
  }
  const config = JSON.parse(lines.join("\n")) as { custom_404?: { body?: string; content_type?: string } };
  const c = config.custom_404;
  if (!c || typeof c.body !== "string" || typeof c.content_type !== "string")
    throw new Error(`${plugin} has no custom_404 body and content_type in ${SHIPPED_CONFIG}`);
  return { body: Buffer.from(c.body, "utf8"), contentType: c.content_type };
}

// ---------------------------------------------------------------- pipelines

export type Method = "GET" | "HEAD" | "POST";

export interface RequestSpec {
  method: Method;
  target: string;
  bytes: Buffer;
  /** Short description for failure reports. */
  label: string;
}

export interface ResponseSpec {
  /** The method of the request it answers. */
  method: Method;
  status: number;
  /** Interim responses (1xx heads), each complete. */
  interims: Buffer[];
  /** Status line and header lines of the final response, blank line included. */
  head: Buffer;
  /** The body as framed on the wire (chunk lines included); empty when there is none. */
  body: Buffer;
  /** The body ends when the upstream closes (only ever the last response). */
  closeDelimited: boolean;
  /** The upstream's writes of this response: pieces of interims + head + body, in order. */
  early: Piece[];
  pieces: Piece[];
  label: string;
}

export interface Pipeline {
  /** -1 for a directed (hand-built) pipeline. */
  seed: number;
  index: number;
  /** Unique per run: sent in the first request's X-Pipeline header. */
  id: string;
  requests: RequestSpec[];
  responses: ResponseSpec[];
  /** The client's writes of the request bytes. */
  clientWrites: Piece[];
  /** The upstream writes nothing before this many whole requests have arrived (0: answers each at once). */
  answerAfter: number;
}

export function requestBytes(p: Pipeline): Buffer {
  return Buffer.concat(p.requests.map((r) => r.bytes));
}

/** Every byte the upstream writes, in order. */
export function upstreamBytes(r: ResponseSpec): Buffer {
  return Buffer.concat([...r.interims, r.head, r.body]);
}

export function script(p: Pipeline): ConnectionScript {
  return {
    answerAfter: p.answerAfter,
    responses: p.responses.map((r, i) => ({ request: `${p.requests[i].method} ${p.requests[i].target}`, early: r.early, pieces: r.pieces })),
  };
}

const TARGETS = ["/ok", "/nf", "/", "/items/42", "/orders/7/lines", "/search?q=a%20b&n=3", "/static/app.js"];
const UNRELATED = [
  "Server: upstream/1.0",
  "Date: Tue, 01 Jul 2025 10:00:00 GMT",
  "Cache-Control: no-store",
  "X-Request-Id: 0f3c",
  "Vary: Accept-Encoding",
  "Content-Language: en",
  "X-Content-Type-Options: nosniff",
  "Set-Cookie: a=b; Path=/",
  'ETag: "abc"',
  "Content-Length-Hint: 9",
  "X-Transfer-Encoding: chunked",
  "Keep-Alive: timeout=5",
  "X-Empty:",
];
const REASONS: Record<number, string[]> = {
  200: ["OK", "ok", "Fine Thanks"],
  204: ["No Content"],
  304: ["Not Modified"],
  404: ["Not Found", "NOT FOUND", "", "Nope, not here"],
};

/** Changes the case of a header name at random. */
function caseOf(rng: Rng, name: string): string {
  switch (rng.int(5)) {
    case 0:
      return name.toLowerCase();
    case 1:
      return name.toUpperCase();
    case 2:
      return [...name].map((c) => (rng.chance(0.5) ? c.toUpperCase() : c.toLowerCase())).join("");
    default:
      return name;
  }
}

/**
 * A header line "Name: value" with varied name case and optional whitespace.
 * In requests (`request`), no tab after the value: llhttp, whose rules sitio's
 * request parser follows, does not read `Transfer-Encoding: chunked<HTAB>` as
 * chunked (RFC 9110 would), and the test is about the response side.
 */
function field(rng: Rng, name: string, value: string, request = false): string {
  const ws = rng.chance(0.1) ? "" : rng.chance(0.1) ? "  " : " ";
  const tail = rng.chance(0.05) ? (request ? " " : " \t") : "";
  return `${caseOf(rng, name)}:${ws}${value}${tail}`;
}

function bodyLength(rng: Rng): number {
  const r = rng.next();
  if (r < 0.15) return 0;
  if (r < 0.65) return rng.range(1, 64);
  if (r < 0.97) return rng.range(65, 1500);
  return rng.range(1501, 20000);
}

/**
 * A chunked encoding of `data`: chunk sizes in random case, some extensions,
 * sometimes trailers. `bws`: whitespace before a ";" may occur (RFC 9112 allows
 * it; llhttp, and so Envoy and sitio's request parser, refuse it in requests).
 */
function chunked(rng: Rng, data: Buffer, bws: boolean): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  const ext = () => {
    if (!rng.chance(0.2)) return "";
    return rng.pick([";a=1", ';name="quoted value"', ';q="a\\"b\\\\c"', ";x", ";k=v;k2=v2", ...(bws ? [" ;bws=1", "\t;bws=2"] : [])]);
  };
  while (at < data.length) {
    const n = Math.min(data.length - at, rng.chance(0.3) ? rng.range(1, 8) : rng.range(1, 2048));
    let size = n.toString(16);
    size = rng.chance(0.5) ? size.toUpperCase() : size;
    if (rng.chance(0.05)) size = "00" + size;
    parts.push(Buffer.from(`${size}${ext()}\r\n`, "latin1"), data.subarray(at, at + n), Buffer.from("\r\n", "latin1"));
    at += n;
  }
  let last = `0${ext()}\r\n`;
  if (rng.chance(0.2)) {
    const trailers = rng.range(1, 2);
    for (let t = 0; t < trailers; t++) last += `${caseOf(rng, rng.pick(["X-Checksum", "Expires", "X-Trailer"]))}: t${t}\r\n`;
  }
  parts.push(Buffer.from(last + "\r\n", "latin1"));
  return Buffer.concat(parts);
}

function request(rng: Rng, id: string | null, i: number): RequestSpec {
  const r = rng.next();
  const method: Method = r < 0.55 ? "GET" : r < 0.75 ? "HEAD" : "POST";
  const target = rng.pick(TARGETS);
  const lines = [`${method} ${target} HTTP/1.1`, field(rng, "Host", "sitio.test", true)];
  if (id !== null) lines.push(`X-Pipeline: ${id}`);
  if (rng.chance(0.3)) lines.push(field(rng, "User-Agent", "integrity", true));
  if (rng.chance(0.2)) lines.push(field(rng, "X-Seq", String(i), true));
  let body: Buffer = Buffer.alloc(0);
  let label = `${method} ${target}`;
  if (method === "POST") {
    const data = rng.bytes(bodyLength(rng));
    if (rng.chance(0.3)) {
      lines.push(field(rng, "Expect", "100-continue", true));
      label += " expect-100";
    }
    if (rng.chance(0.6)) {
      lines.push(field(rng, "Content-Length", String(data.length), true));
      body = data;
      label += ` CL ${data.length}`;
    } else {
      lines.push(field(rng, "Transfer-Encoding", "chunked", true));
      body = chunked(rng, data, false);
      label += ` chunked ${data.length}`;
    }
  }
  return { method, target, bytes: Buffer.concat([Buffer.from(lines.join("\r\n") + "\r\n\r\n", "latin1"), body]), label };
}

function pauseOf(rng: Rng): Pause {
  const r = rng.next();
  return r < 0.3 ? "none" : r < 0.93 ? "tick" : rng.range(1, 3);
}

/** `bytes` split at random offsets (sometimes not at all), each piece with a pause before it. */
export function split(rng: Rng, bytes: Buffer, maxCuts: number, firstPause: Pause): Piece[] {
  if (bytes.length === 0) return [];
  const cuts = new Set<number>();
  const n = rng.chance(0.3) ? 0 : rng.range(1, maxCuts);
  for (let k = 0; k < n && bytes.length > 1; k++) cuts.add(rng.range(1, bytes.length - 1));
  const at = [0, ...[...cuts].sort((a, b) => a - b), bytes.length];
  const pieces: Piece[] = [];
  for (let k = 0; k + 1 < at.length; k++) pieces.push({ pause: k === 0 ? firstPause : pauseOf(rng), bytes: bytes.subarray(at[k], at[k + 1]) });
  return pieces;
}

function response(rng: Rng, req: RequestSpec, last: boolean): ResponseSpec {
  const head = req.method === "HEAD";
  const r = rng.next();
  let status: number;
  if (head) status = r < 0.5 ? 404 : r < 0.9 ? 200 : 304;
  else if (req.method === "POST") status = r < 0.45 ? 200 : r < 0.6 ? 204 : 404;
  else status = r < 0.4 ? 200 : r < 0.5 ? 204 : r < 0.6 ? 304 : 404;

  const interims: Buffer[] = [];
  const expects = req.label.includes("expect-100");
  if ((expects && rng.chance(0.7)) || rng.chance(0.04)) interims.push(Buffer.from("HTTP/1.1 100 Continue\r\n\r\n", "latin1"));
  if (rng.chance(0.03)) interims.push(Buffer.from(`HTTP/1.1 103 Early Hints\r\n${field(rng, "Link", "</app.css>; rel=preload")}\r\n\r\n`, "latin1"));

  const bodied = !head && status !== 204 && status !== 304;
  // framing: what the headers say; "close" only for the last response
  const f = rng.next();
  let framing: "length" | "chunked" | "close" | "none" =
    status === 204
      ? "none"
      : status === 304
        ? f < 0.3
          ? "length"
          : "none"
        : last && bodied && f < 0.25
          ? "close"
          : f < 0.6
            ? "length"
            : f < 0.9 || !head
              ? "chunked"
              : "none";
  if (!bodied && framing === "close") framing = "length";
  const data = bodied ? rng.bytes(bodyLength(rng)) : Buffer.alloc(0);
  // the length a HEAD or 304 response announces is that of the representation it would have sent
  const announced = bodied ? data.length : rng.range(0, 5000);

  let version = "HTTP/1.1";
  const fields: string[] = [];
  for (let k = rng.range(0, 3); k > 0; k--) fields.push(rng.pick(UNRELATED));
  let body: Buffer = Buffer.alloc(0);
  let label = `${status}`;
  // now and then a head bigger than one read (Envoy reads 16 KiB at a time), well under 32 KiB
  if (rng.chance(0.02)) fields.push(`X-Big: ${"b".repeat(rng.range(1000, 24000))}`);
  if (framing === "length") {
    fields.push(field(rng, "Content-Length", (rng.chance(0.03) ? "00" : "") + String(announced)));
    if (rng.chance(0.03)) fields.push(field(rng, "Content-Length", String(announced))); // repeated, same value
    body = bodied ? data : body;
    label += ` CL ${announced}`;
    if (rng.chance(0.05) && !last) {
      version = "HTTP/1.0";
      fields.push(field(rng, "Connection", "keep-alive"));
      label += " 1.0-keep-alive";
    }
  } else if (framing === "chunked") {
    fields.push(field(rng, "Transfer-Encoding", rng.chance(0.1) ? "Chunked" : rng.chance(0.1) ? "gzip, chunked" : "chunked"));
    body = bodied ? chunked(rng, data, true) : body;
    label += bodied ? ` chunked ${data.length} (${body.length} B framed)` : " TE chunked";
  } else if (framing === "close") {
    if (rng.chance(0.5)) version = "HTTP/1.0";
    else fields.push(field(rng, "Connection", "close"));
    body = data;
    label += ` until-close ${data.length} ${version}`;
  } else {
    label += " no-length";
  }
  if (status === 404 || rng.chance(0.3)) {
    if (rng.chance(0.5)) fields.push(field(rng, "Content-Type", rng.pick(["text/plain", "application/json", "text/html; charset=iso-8859-1"])));
    if (rng.chance(0.2)) fields.push(field(rng, "Content-Encoding", rng.pick(["gzip", "br", "identity"])));
  }
  if (last && framing !== "close" && rng.chance(0.2)) fields.push(field(rng, "Connection", "close"));
  // shuffle so framing headers are anywhere in the head
  for (let k = fields.length - 1; k > 0; k--) {
    const j = rng.int(k + 1);
    [fields[k], fields[j]] = [fields[j], fields[k]];
  }
  const reason = rng.pick(REASONS[status]);
  const headText = `${version} ${status} ${reason}\r\n${fields.map((x) => x + "\r\n").join("")}\r\n`;
  if (head) label += " (HEAD: no body)";
  if (interims.length) label = `${interims.map((b) => b.toString("latin1").slice(9, 12)).join("+")} then ${label}`;
  const resp: ResponseSpec = {
    method: req.method,
    status,
    interims,
    head: Buffer.from(headText, "latin1"),
    body,
    closeDelimited: framing === "close",
    early: [],
    pieces: [],
    label,
  };
  // interims sent as soon as the request head is in (sometimes), the rest once it is whole
  const early = interims.length > 0 && rng.chance(0.5) ? Buffer.concat(interims) : Buffer.alloc(0);
  resp.early = split(rng, early, 2, pauseOf(rng));
  resp.pieces = split(rng, early.length ? Buffer.concat([resp.head, resp.body]) : upstreamBytes(resp), 4, pauseOf(rng));
  return resp;
}

export interface GenerateOptions {
  /** Largest depth (default 300). */
  maxDepth?: number;
}

/** Pipeline `index` of a run with `seed`. */
export function generatePipeline(seed: number, index: number, opts: GenerateOptions = {}): Pipeline {
  const rng = Rng.forCase(seed, index);
  const maxDepth = opts.maxDepth ?? 300;
  const r = rng.next();
  const depth = Math.min(maxDepth, r < 0.35 ? rng.range(1, 8) : r < 0.65 ? rng.range(9, 64) : rng.range(65, 300));
  const id = `${seed}-${index}-${rng.int(1e9)}`;
  const requests: RequestSpec[] = [];
  const responses: ResponseSpec[] = [];
  for (let i = 0; i < depth; i++) {
    const req = request(rng, i === 0 ? id : null, i);
    requests.push(req);
    responses.push(response(rng, req, i === depth - 1));
  }
  const all = Buffer.concat(requests.map((q) => q.bytes));
  const clientWrites = rng.chance(0.25) ? [{ pause: "none" as Pause, bytes: all }] : split(rng, all, 8, "none");
  const answerAfter = rng.chance(0.25) ? depth : 0;
  return { seed, index, id, requests, responses, clientWrites, answerAfter };
}

// ---------------------------------------------------------------- the model

const DROPPED = new Set(["content-length", "transfer-encoding", "content-type", "content-encoding"]);

/** The 404 head and page the client must get instead of `head` (+ its body). */
export function replaced404(head: Buffer, page: Page, headRequest: boolean): Buffer {
  const text = head.toString("latin1");
  if (!text.endsWith("\r\n\r\n")) throw new Error("a response head ends with a blank line");
  const lines = text.slice(0, -4).split("\r\n");
  const kept = [lines[0], ...lines.slice(1).filter((l) => !DROPPED.has(l.slice(0, l.indexOf(":")).toLowerCase()))];
  const tail = `Content-Type: ${page.contentType}\r\nContent-Length: ${page.body.length}\r\n\r\n`;
  return Buffer.concat([Buffer.from(kept.map((l) => l + "\r\n").join("") + tail, "latin1"), headRequest ? Buffer.alloc(0) : page.body]);
}

/** What the client must receive for one response. */
export function expectedResponse(r: ResponseSpec, page: Page): Buffer {
  const final = r.status === 404 ? replaced404(r.head, page, r.method === "HEAD") : Buffer.concat([r.head, r.body]);
  return Buffer.concat([...r.interims, final]);
}

export function expectedBytes(p: Pipeline, page: Page): Buffer {
  return Buffer.concat(p.responses.map((r) => expectedResponse(r, page)));
}

// ---------------------------------------------------------------- reports

/** A byte string readable in a report: printable ASCII as is, the rest as \r \n \xNN. */
export function show(b: Buffer): string {
  let s = "";
  for (const c of b) {
    if (c === 13) s += "\\r";
    else if (c === 10) s += "\\n";
    else if (c === 92) s += "\\\\";
    else if (c >= 32 && c < 127) s += String.fromCharCode(c);
    else s += `\\x${c.toString(16).padStart(2, "0")}`;
  }
  return s;
}

export function firstDifference(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

/** "seed S pipeline N", or the id of a directed pipeline. */
export function pipelineName(p: Pipeline): string {
  return p.seed < 0 ? `directed pipeline ${p.id}` : `seed ${p.seed} pipeline ${p.index}`;
}

/** One line per exchange (all of them, or those within `around` of index `at`). */
export function describe(p: Pipeline, at?: number, around = 3): string {
  const lines = [
    `${pipelineName(p)}: ${p.requests.length} requests in ${p.clientWrites.length} client write(s)` +
      `${p.answerAfter ? `, upstream answers only after all ${p.answerAfter} requests arrived` : ""}`,
  ];
  for (let i = 0; i < p.requests.length; i++) {
    if (at !== undefined && Math.abs(i - at) > around) continue;
    const r = p.responses[i];
    lines.push(`  #${i} ${p.requests[i].label} → ${r.label}; upstream writes ${r.early.length ? `${r.early.length} early + ` : ""}${r.pieces.length}`);
  }
  return lines.join("\n");
}

/** Which response of `p` the expected byte `offset` belongs to, and where in it. */
export function locate(p: Pipeline, page: Page, offset: number): { index: number; within: number } {
  let start = 0;
  for (let i = 0; i < p.responses.length; i++) {
    const n = expectedResponse(p.responses[i], page).length;
    if (offset < start + n) return { index: i, within: offset - start };
    start += n;
  }
  return { index: p.responses.length, within: offset - start };
}

/** The report of a mismatch: where, which exchange, both byte streams around it, and the script there. */
export function mismatchReport(p: Pipeline, page: Page, expected: Buffer, actual: Buffer, note = ""): string {
  const at = firstDifference(expected, actual);
  const where = locate(p, page, at);
  const from = Math.max(0, at - 80);
  const boundary = where.within === 0 && where.index > 0 ? `, i.e. right after response #${where.index - 1}` : "";
  return [
    `MISMATCH ${pipelineName(p)}${note ? ` (${note})` : ""}: expected ${expected.length} bytes, got ${actual.length}; first difference at offset ${at}` +
      ` (response #${where.index}, byte ${where.within} of it${boundary})`,
    `  expected [${from}..]: ${show(expected.subarray(from, at))}⟨${show(expected.subarray(at, at + 120))}`,
    `  actual   [${from}..]: ${show(actual.subarray(from, at))}⟨${show(actual.subarray(at, at + 120))}`,
    describe(p, where.index, 4),
    p.seed < 0 ? "" : `  replay: npm run integrity -- --seed ${p.seed} --from ${p.index} --pipelines 1 --verbose`,
  ].join("\n");
}

// ---------------------------------------------------------------- directed pipelines

/** One exchange built by hand: the request line's method and target, the response head's status line and fields, and its body as framed. */
export interface ExchangeSpec {
  method: Method;
  target: string;
  statusLine: string;
  fields: string[];
  body?: string;
}

/**
 * A pipeline built from exchanges (not random), every response written in
 * `piecesPerResponse` writes one event-loop turn apart; the client writes its
 * requests in `clientWrites` writes (1: all at once).
 */
export function directedPipeline(
  id: string,
  exchanges: ExchangeSpec[],
  opts: { answerAfter: number; clientWrites: number; piecesPerResponse: number },
): Pipeline {
  const requests: RequestSpec[] = [];
  const responses: ResponseSpec[] = [];
  exchanges.forEach((x, i) => {
    const head = `${x.method} ${x.target} HTTP/1.1\r\nHost: sitio.test\r\n${i === 0 ? `X-Pipeline: ${id}\r\n` : ""}\r\n`;
    requests.push({ method: x.method, target: x.target, bytes: Buffer.from(head, "latin1"), label: `${x.method} ${x.target}` });
    const status = Number(x.statusLine.split(" ")[1]);
    const r: ResponseSpec = {
      method: x.method,
      status,
      interims: [],
      head: Buffer.from(`${x.statusLine}\r\n${x.fields.map((f) => f + "\r\n").join("")}\r\n`, "latin1"),
      body: Buffer.from(x.body ?? "", "latin1"),
      closeDelimited: false,
      early: [],
      pieces: [],
      label: `${x.statusLine} ${x.fields.join(", ")}${x.body ? ` + ${x.body.length} B` : ""}`,
    };
    r.pieces = evenPieces(upstreamBytes(r), opts.piecesPerResponse);
    responses.push(r);
  });
  const all = Buffer.concat(requests.map((q) => q.bytes));
  return { seed: -1, index: 0, id, requests, responses, clientWrites: evenPieces(all, opts.clientWrites), answerAfter: opts.answerAfter };
}

function evenPieces(bytes: Buffer, n: number): Piece[] {
  const pieces: Piece[] = [];
  const size = Math.ceil(bytes.length / Math.max(1, n));
  for (let at = 0; at < bytes.length; at += size) pieces.push({ pause: at === 0 ? "none" : "tick", bytes: bytes.subarray(at, at + size) });
  return pieces;
}

export interface PassThroughMatch {
  /** The client's bytes are explained: every response replaced as the model says, or (only from `tracked` on) a 404 passed untouched. */
  ok: boolean;
  /** 404 responses found replaced. */
  replaced: number;
  /** 404 responses at positions ≥ `tracked` found untouched. */
  untouched: number[];
  report: string;
}

/**
 * Checks a deep pipeline's client bytes when the filter may stop rewriting
 * past the requests it can track: each response before position `tracked`
 * must be exactly as the model says; from `tracked` on, a 404 may instead be
 * exactly the upstream's bytes (untouched). Nothing else is accepted.
 */
export function matchWithPassThrough(p: Pipeline, page: Page, actual: Buffer, tracked: number): PassThroughMatch {
  let at = 0;
  let replaced = 0;
  const untouched: number[] = [];
  for (let i = 0; i < p.responses.length; i++) {
    const r = p.responses[i];
    const model = expectedResponse(r, page);
    if (actual.subarray(at, at + model.length).equals(model)) {
      at += model.length;
      if (r.status === 404) replaced++;
      continue;
    }
    const original = upstreamBytes(r);
    if (i >= tracked && r.status === 404 && actual.subarray(at, at + original.length).equals(original)) {
      at += original.length;
      untouched.push(i);
      continue;
    }
    // report against the model's bytes for this response
    const diff = firstDifference(model, actual.subarray(at, at + model.length));
    const from = Math.max(0, diff - 60);
    return {
      ok: false,
      replaced,
      untouched,
      report: [
        `DEEP MISMATCH in response #${i} (${p.requests[i].label} → ${r.label}) at client offset ${at + diff} (byte ${diff} of the response)` +
          `${i >= tracked && r.status === 404 ? "; it is neither replaced nor untouched" : i < tracked ? `; responses before #${tracked} must be replaced exactly` : ""}`,
        `  expected: ${show(model.subarray(from, diff))}⟨${show(model.subarray(diff, diff + 120))}`,
        `  actual:   ${show(actual.subarray(at + from, at + diff))}⟨${show(actual.subarray(at + diff, at + diff + 120))}`,
        describe(p, i, 2),
      ].join("\n"),
    };
  }
  if (at !== actual.length) {
    return {
      ok: false,
      replaced,
      untouched,
      report: `DEEP MISMATCH: ${actual.length - at} bytes after the last response: ⟨${show(actual.subarray(at, at + 120))}`,
    };
  }
  return { ok: true, replaced, untouched, report: "" };
}
