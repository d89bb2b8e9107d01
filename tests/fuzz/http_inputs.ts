// Hostile L7 exchanges for the fuzzer: the HTTP filter sees headers Envoy has
// already parsed, but their values are still the client's (:method, :path)
// and the upstream's (:status).

import { Rng } from "./rng.js";

export interface HttpExchangeInput {
  kind: "http-exchange";
  /** null: the stream ends before request headers (a reset). */
  request: Record<string, string> | null;
  /** null: no response headers (reset, timeout). */
  response: Record<string, string> | null;
}

function oddString(r: Rng, max: number): string {
  const n = r.int(max);
  let s = "";
  for (let i = 0; i < n; i++) s += String.fromCharCode(r.chance(0.8) ? r.range(0x20, 0x7e) : r.pick([0, 9, 0x7f, 0xe9, 0xff, 0x3b, 0x22, 0x5c, 0xd800, 0x1f600 & 0xffff]));
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
  const request = r.chance(0.95) ? { ":method": method, ":path": path, ":authority": "h", ...(r.chance(0.1) ? { "x-odd": oddString(r, 100) } : {}) } : null;
  if (request && r.chance(0.05)) delete (request as Record<string, string>)[":path"];
  const response = r.chance(0.9) ? { ":status": status, "content-length": "0" } : null;
  return { kind: "http-exchange", request, response };
}
