// Hostile L7 exchanges for the fuzzer: the HTTP filter sees headers Envoy has
// already parsed, but their values are still the client's (:method, :path,
// content-type) and the upstream's (:status, grpc-status in headers or trailers).

import type { Rng } from "./rng.js";

export interface HttpExchangeInput {
  kind: "http-exchange";
  /** null: the stream ends before request headers (a reset). */
  request: Record<string, string> | null;
  /** null: no response headers (reset, timeout). */
  response: Record<string, string> | null;
  /** Response trailers (after the response headers), or null. */
  trailers: Record<string, string> | null;
}

/** Content types a client may send: gRPC ones, look-alikes and junk. */
function contentType(r: Rng): string {
  return r.pick([
    "application/grpc",
    "application/grpc+proto",
    "application/grpc;a=b",
    "application/grpc-web",
    "application/grpcx",
    "application/grp",
    "text/html",
    "",
    oddString(r, 40),
  ]);
}

/** grpc-status values an upstream may send: every code, beyond, and junk. */
function grpcStatus(r: Rng): string {
  return r.pick([String(r.int(17)), "12", String(r.range(17, 1000)), "4294967296", "99999999999", "", "-1", " 0", "0 ", oddString(r, 12)]);
}

function oddString(r: Rng, max: number): string {
  const n = r.int(max);
  let s = "";
  for (let i = 0; i < n; i++)
    s += String.fromCharCode(r.chance(0.8) ? r.range(0x20, 0x7e) : r.pick([0, 9, 0x7f, 0xe9, 0xff, 0x3b, 0x22, 0x5c, 0xd800, 0x1f600 & 0xffff]));
  return s;
}

export function httpExchange(r: Rng): HttpExchangeInput {
  const method = r.pick(["GET", "HEAD", "POST", "DELETE", "CONNECT", "PURGE", "", "get", oddString(r, 30)]);
  const path = r.pick([
    "/",
    "/api/users/42",
    `/api/orders/550e8400-e29b-41d4-a716-446655440000?x=${r.int(9)}`,
    `/p${r.int(500)}`,
    "/" + "x".repeat(r.pick([300, 70_000])),
    "",
    "*",
    "http://h/abs?q",
    oddString(r, 200),
  ]);
  const status = r.pick(["200", "404", "404", "500", "", "abc", "99999", "0", String(r.range(100, 999)), oddString(r, 5)]);
  const request: Record<string, string> | null = r.chance(0.95)
    ? { ":method": method, ":path": path, ":authority": "h", ...(r.chance(0.1) ? { "x-odd": oddString(r, 100) } : {}) }
    : null;
  if (request && r.chance(0.05)) delete request[":path"];
  if (request && r.chance(0.4)) request["content-type"] = contentType(r);
  const response: Record<string, string> | null = r.chance(0.9) ? { ":status": status, "content-length": "0" } : null;
  if (response && r.chance(0.3)) response["grpc-status"] = grpcStatus(r);
  const trailers = response && r.chance(0.3) ? { "grpc-status": grpcStatus(r) } : null;
  return { kind: "http-exchange", request, response, trailers };
}
