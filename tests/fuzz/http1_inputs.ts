// Hostile and well-formed HTTP/1.x byte streams for the fuzzer.
//
// Each generator returns the bytes of one connection in each direction and,
// when the stream is well-formed by construction, the exact number of
// requests sitio must count. For everything else the invariant is an upper
// bound: a counted request head always ends in its own line feed.

import type { Rng } from "./rng.js";

export interface ConnectionInput {
  kind: string;
  /** Client → upstream bytes. */
  down: Buffer;
  /** Upstream → client bytes. */
  up: Buffer;
  /** Requests sitio must count, when known exactly. */
  exactRequests?: number;
}

/** Methods llhttp knows (the parser follows it: any other token is a protocol error). */
const METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "TRACE", "PATCH", "PURGE", "M-SEARCH"];
/** Tokens that are not methods, and bytes outside ASCII: errors, used by the mutations. */
const NON_METHODS = ["x", "GET2", "get"];
const SEGMENTS = ["", "a", "api", "v1", "users", "123", "550e8400-e29b-41d4-a716-446655440000", "%2F", "..", ".", ";x", '"q"', "\\", "%C3%A9", "~", "*"];

/** A request target: origin-form mostly, sometimes absolute-form, `*`, or long / odd bytes. */
function target(r: Rng): Buffer {
  const form = r.int(20);
  if (form === 0) return Buffer.from("*");
  if (form === 1) return Buffer.from(`http://h${r.int(9)}.test:${r.int(65536)}/${r.pick(SEGMENTS)}`, "latin1");
  if (form === 2) return Buffer.from("x".repeat(r.range(200, 2000)).replace(/^/, "/"));
  if (form === 3) {
    // any visible ASCII byte (0x21..0x7e)
    const n = r.range(1, 64);
    const b = Buffer.alloc(n + 1);
    b[0] = 0x2f;
    for (let i = 1; i <= n; i++) b[i] = r.range(0x21, 0x7e);
    return b;
  }
  let path = "";
  const depth = r.range(1, 4);
  for (let i = 0; i < depth; i++) path += "/" + r.pick(SEGMENTS);
  if (r.chance(0.3)) path += "?q=" + r.int(1000) + (r.chance(0.3) ? "&r=/x;y" : "");
  if (r.chance(0.1)) path += "#frag";
  return Buffer.from(path, "latin1");
}

/** One well-formed, persistent request; its bytes. */
export function validRequest(r: Rng, version = "HTTP/1.1"): Buffer {
  const method = r.pick(METHODS);
  const parts: Buffer[] = [Buffer.from(method + " "), target(r), Buffer.from(` ${version}\r\n`)];
  const headers: string[] = [];
  if (r.chance(0.8)) headers.push("Host: sitio.test");
  if (version === "HTTP/1.0") headers.push(r.pick(["Connection: keep-alive", "connection: Keep-Alive", "Connection: foo, keep-alive"]));
  const nOther = r.int(5);
  for (let i = 0; i < nOther; i++) headers.push(`X-H${i}:${r.chance(0.5) ? " " : ""}${"v".repeat(r.int(40))}\t`);
  let body: Buffer = Buffer.alloc(0);
  const framing = r.int(4);
  if (framing === 1) {
    body = r.bytes(r.int(300));
    headers.push(`Content-Length: ${body.length}`);
  } else if (framing === 2) {
    headers.push(r.pick(["Transfer-Encoding: chunked", "transfer-encoding: gzip, chunked", "TRANSFER-ENCODING:chunked"]));
    const chunks: Buffer[] = [];
    const n = r.int(4);
    for (let i = 0; i < n; i++) {
      const data = r.bytes(r.range(1, 100));
      const ext = r.chance(0.2) ? ";name=value" : "";
      chunks.push(Buffer.from(data.length.toString(r.chance(0.5) ? 16 : 16).toUpperCase() + ext + "\r\n"), data, Buffer.from("\r\n"));
    }
    chunks.push(Buffer.from("0\r\n"));
    if (r.chance(0.2)) chunks.push(Buffer.from("Trailer-A: 1\r\n"));
    chunks.push(Buffer.from("\r\n"));
    body = Buffer.concat(chunks);
  }
  parts.push(Buffer.from(headers.map((h) => h + "\r\n").join("") + "\r\n", "latin1"), body);
  return Buffer.concat(parts);
}

/**
 * A well-formed response (for the upstream direction). A `101` switches the
 * connection's protocol: sitio then stops counting, so it is only sent where
 * the request count is not asserted exactly.
 */
export function validResponse(r: Rng, allowSwitch = false): Buffer {
  const status = r.pick([200, 201, 204, 301, 304, 400, 404, 404, 500, 503, 100, ...(allowSwitch ? [101] : [])]);
  const headers: string[] = [`HTTP/1.1 ${status} X`, "server: fuzz"];
  let body: Buffer = Buffer.alloc(0);
  const framing = r.int(3);
  if (status === 204 || status === 304 || status < 200) {
    // no body
  } else if (framing === 0) {
    body = r.bytes(r.int(200));
    headers.push(`content-length: ${body.length}`);
  } else if (framing === 1) {
    const data = r.bytes(r.range(1, 50));
    headers.push("transfer-encoding: chunked");
    body = Buffer.concat([Buffer.from(data.length.toString(16) + "\r\n"), data, Buffer.from("\r\n0\r\n\r\n")]);
  } else {
    headers.push("content-length: 0");
  }
  return Buffer.concat([Buffer.from(headers.join("\r\n") + "\r\n\r\n", "latin1"), body]);
}

function responses(r: Rng, n: number, allowSwitch = false): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < n; i++) parts.push(validResponse(r, allowSwitch));
  return Buffer.concat(parts);
}

/** Several well-formed requests back to back (keep-alive / pipelining): exact count known. */
export function pipeline(r: Rng, max = 8): ConnectionInput {
  const n = r.range(1, max);
  const parts: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    if (r.chance(0.1)) parts.push(Buffer.from("\r\n"));
    parts.push(validRequest(r, r.chance(0.1) ? "HTTP/1.0" : "HTTP/1.1"));
  }
  return { kind: "pipeline", down: Buffer.concat(parts), up: responses(r, r.int(n + 1)), exactRequests: n };
}

/** Thousands of minimal requests in one read. */
export function manyPipelined(r: Rng): ConnectionInput {
  const n = r.range(1000, 5000);
  const one = Buffer.from(`GET /p${r.int(10)} HTTP/1.1\r\n\r\n`);
  return { kind: "many-pipelined", down: Buffer.concat(Array(n).fill(one)), up: Buffer.alloc(0), exactRequests: n };
}

const MUTATION_TOKENS = [
  ...NON_METHODS.map((m) => m + " "),
  "\xe9",
  "\0",
  "\xff",
  "\xfe\xff",
  "\r\n",
  "\r\n\r\n",
  "\n",
  "\r",
  " ",
  ":",
  "Content-Length: ",
  "Content-Length: 0\r\n",
  "Transfer-Encoding: chunked\r\n",
  "Connection: close\r\n",
  "Upgrade: x\r\nConnection: upgrade\r\n",
  "99999999999999999999",
  "-1",
  "fffffffffffffffff",
  "HTTP/1.1",
  "HTTP/9.9",
  "GET ",
  "CONNECT h:1 HTTP/1.1\r\n\r\n",
  "\t",
];

/** A well-formed stream with random byte-level damage. */
export function mutated(r: Rng): ConnectionInput {
  const base = pipeline(r);
  let b = base.down;
  const n = r.range(1, 8);
  for (let i = 0; i < n; i++) {
    const at = r.int(b.length + 1);
    switch (r.int(6)) {
      case 0: // flip a byte
        if (b.length > 0) {
          b = Buffer.from(b);
          b[Math.min(at, b.length - 1)] = r.int(256);
        }
        break;
      case 1: // insert a token
        b = Buffer.concat([b.subarray(0, at), Buffer.from(r.pick(MUTATION_TOKENS), "latin1"), b.subarray(at)]);
        break;
      case 2: // delete a range
        b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + r.range(1, 20)))]);
        break;
      case 3: // duplicate a range
        b = Buffer.concat([b.subarray(0, at), b.subarray(at, at + r.range(1, 60)), b.subarray(at)]);
        break;
      case 4: // truncate
        b = b.subarray(0, at);
        break;
      default: // random bytes
        b = Buffer.concat([b.subarray(0, at), r.bytes(r.range(1, 16)), b.subarray(at)]);
    }
  }
  return { kind: "mutated", down: b, up: mutatedResponses(r) };
}

/** Response bytes, damaged or not (the upstream direction is untrusted too). */
function mutatedResponses(r: Rng): Buffer {
  let b = responses(r, r.int(4), true);
  if (r.chance(0.5) && b.length > 0) {
    const at = r.int(b.length);
    b = Buffer.concat([b.subarray(0, at), Buffer.from(r.pick(MUTATION_TOKENS), "latin1"), b.subarray(at + r.int(3))]);
  }
  return b;
}

/** Uniform random bytes, or random concatenations of HTTP-ish tokens. */
export function noise(r: Rng): ConnectionInput {
  if (r.chance(0.3)) return { kind: "noise-bytes", down: r.bytes(r.int(2048)), up: r.bytes(r.int(512)) };
  const parts: string[] = [];
  const n = r.int(80);
  for (let i = 0; i < n; i++)
    parts.push(r.pick([...MUTATION_TOKENS, ...METHODS, "/", "/x", " ", "HTTP/1.1\r\n", "Host: h\r\n", "0\r\n\r\n", "5\r\nhello\r\n"]));
  return { kind: "noise-tokens", down: Buffer.from(parts.join(""), "latin1"), up: Buffer.from(parts.reverse().join(""), "latin1") };
}

/** Broken chunked bodies, then a well-formed request that may or may not still be read. */
export function bogusChunked(r: Rng): ConnectionInput {
  const bodies = [
    "fffffffffffffffff\r\n", // 17 hex digits: overflow
    "-5\r\nhello\r\n0\r\n\r\n",
    "5\r\nhel\r\n0\r\n\r\n", // short chunk
    "5\r\nhelloXX0\r\n\r\n", // no CRLF after data
    "5;\x01ext\r\nhello\r\n0\r\n\r\n",
    "\r\n",
    "0\r\nTrailer\x00: x\r\n\r\n",
    "0x5\r\nhello\r\n0\r\n\r\n",
    "5 \r\nhello\r\n0\r\n\r\n",
    "7fffffffffffffff\r\n" + "a".repeat(100),
    "0\n\n",
    "2\r\nhi\r\n" + "0\r\n".repeat(r.range(1, 50)),
  ];
  const te = r.pick([
    "Transfer-Encoding: chunked\r\n",
    "Transfer-Encoding: chunked, gzip\r\n",
    "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
    "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
  ]);
  const down = Buffer.concat([Buffer.from(`POST /c HTTP/1.1\r\n${te}\r\n${r.pick(bodies)}`, "latin1"), validRequest(r)]);
  return { kind: "bogus-chunked", down, up: Buffer.from(`HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n${r.pick(bodies)}`, "latin1") };
}

/** A request line or a header block around 64 KiB (the head limit is 60 KiB). */
export function huge(r: Rng): ConnectionInput {
  const size = r.pick([60 * 1024 - 40, 60 * 1024 + 1, 64 * 1024, 65536 + r.int(4096)]);
  if (r.chance(0.5)) {
    const line = Buffer.from(`GET /${"a".repeat(size)} HTTP/1.1\r\n\r\n`);
    return { kind: "huge-line", down: line, up: Buffer.alloc(0), exactRequests: line.length <= 60 * 1024 ? 1 : 0 };
  }
  const oneHeader = r.chance(0.5);
  const block = oneHeader ? `X-Big: ${"b".repeat(size)}\r\n` : Array.from({ length: Math.ceil(size / 16) }, (_, i) => `X-${i}: ${"c".repeat(8)}\r\n`).join("");
  const head = Buffer.from(`GET /h HTTP/1.1\r\n${block}\r\n`);
  return { kind: oneHeader ? "huge-header" : "many-headers", down: head, up: Buffer.alloc(0), exactRequests: head.length <= 60 * 1024 ? 1 : 0 };
}

/**
 * Upper bound on the requests in a stream: its line feeds. Every counted
 * request head ends in its own LF: "\r\n\r\n" for HTTP/1.x, and a single line
 * end for an HTTP/0.9 request line, which the llhttp-conformant parser accepts.
 */
export function maxRequests(down: Buffer): number {
  let n = 0;
  for (let i = down.indexOf(10); i >= 0; i = down.indexOf(10, i + 1)) n++;
  return n;
}

/** Cuts `b` into reads: whole, one byte each, or at random points. */
export function splitReads(r: Rng, b: Buffer): Buffer[] {
  if (b.length === 0) return [];
  const how = r.int(4);
  if (how === 0) return [b];
  if (how === 1 && b.length <= 600) {
    const out: Buffer[] = [];
    for (let i = 0; i < b.length; i++) out.push(b.subarray(i, i + 1));
    return out;
  }
  const cuts = new Set<number>();
  const n = r.range(1, Math.min(32, b.length));
  for (let i = 0; i < n; i++) cuts.add(r.range(1, b.length - 1));
  const sorted = [...cuts].filter((c) => c > 0 && c < b.length).sort((x, y) => x - y);
  const out: Buffer[] = [];
  let prev = 0;
  for (const c of sorted) {
    out.push(b.subarray(prev, c));
    prev = c;
  }
  out.push(b.subarray(prev));
  return out;
}
