// Request targets a hostile client sends to make sitio publish a broken or
// ambiguous exposition, and what sitio must count for each, at L4 (:18000,
// sitio_web) and L7 (:18080, sitio_http). The upstream answers every request
// 200 (startAnsweringUpstream), so every target the proxy lets through earns
// its own series and its label shows in the exposition.
//
// At L4 every target reaches the upstream as sent. sitio's HTTP/1 decoder reads
// llhttp's strict grammar: a target with a byte outside visible ASCII, or one
// that is no form of target at all, is no request to it: the connection's
// bytes from the offending one on pass through undecoded (counted as
// unparsed) and the upstream's answer is an unmatched response. At L7 origin-form paths go
// under /api (the shipped route to web_service) and Envoy's HTTP codec refuses
// some targets itself: those carry what Envoy answers and what sitio then
// counts (a codec error leaves no method or path: `other`).

import { startScriptedUpstream, type ScriptedUpstream } from "./scripted_upstream.js";
import { countResponses, rawExchange } from "./traffic.js";
import { endpointLabel, methodLabel } from "./labels.js";

/** What Envoy makes of a target at L7 when it does not simply forward it. */
export interface L7Outcome {
  /** The status the client gets. */
  status: number;
  /** sitio's labels for the request. */
  method: string;
  endpoint: string;
}

export interface HostileTarget {
  what: string;
  method: string;
  /** The request target (one code unit per byte). */
  target: string;
  /** The target sent at L7 when not the L4 one under /api. */
  l7Target?: string;
  /** At L4, sitio's decoder stops at this offset of the target (else: a request, labelled as labels.ts predicts). */
  l4StopsAt?: number;
  /** Envoy answers at L7 itself (else: forwarded, 200, labelled as labels.ts predicts). */
  l7?: L7Outcome;
}

const bytes = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => String.fromCharCode(from + i)).join("");
const codecError: L7Outcome = { status: 400, method: "other", endpoint: "other" };

export const HOSTILE_TARGETS: HostileTarget[] = [
  // Envoy strips trailing dots from tag values: each of these would share a label with the path without its dots
  { what: "dot-dot", method: "GET", target: "/.." },
  { what: "trailing dot", method: "GET", target: "/tr." },
  { what: "two trailing dots", method: "GET", target: "/x.." },
  { what: "version with a dot", method: "GET", target: "/api/v1." },
  { what: "dots inside", method: "GET", target: "/a/../b" },
  { what: "dot segment", method: "GET", target: "/./a" },
  { what: "empty segments", method: "GET", target: "//" },
  // `;` separates sitio's labels inside Envoy stat names; `%` is sitio's escape
  { what: "semicolon", method: "GET", target: "/semi;" },
  { what: "escaped semicolon", method: "GET", target: "/semi%3B" },
  { what: "label injection", method: "GET", target: "/x;status=500;plugin=evil" },
  { what: "lone percent", method: "GET", target: "/%" },
  { what: "escaped percent", method: "GET", target: "/%25" },
  { what: "escaped dot", method: "GET", target: "/%2E" },
  { what: "dot, semicolon", method: "GET", target: "/a.;b" },
  { what: "dot, escaped semicolon", method: "GET", target: "/a.%3Bb" },
  // `{id}` is the collapse placeholder
  { what: "placeholder look-alike", method: "GET", target: "/{id}" },
  // Prometheus sanitises names, not values: these four are four series
  { what: "dash", method: "GET", target: "/a-b" },
  { what: "underscore", method: "GET", target: "/a_b" },
  { what: "dot", method: "GET", target: "/a.b" },
  { what: "slash", method: "GET", target: "/a/b" },
  // bytes Prometheus needs escaped or refuses (invalid UTF-8 fails a whole scrape)
  { what: "bytes 0x80-0xBF", method: "GET", target: "/b80-" + bytes(0x80, 0xbf), l4StopsAt: 5, l7: codecError },
  { what: "bytes 0xC0-0xFF", method: "GET", target: "/bc0-" + bytes(0xc0, 0xff), l4StopsAt: 5, l7: codecError },
  { what: "UTF-8 é", method: "GET", target: "/caf\xc3\xa9", l4StopsAt: 4, l7: codecError },
  { what: "quotes", method: "GET", target: '/q"uote"' },
  { what: "backslash", method: "GET", target: "/back\\slash" },
  { what: "backslash, n", method: "GET", target: "/nl\\n" },
  { what: "DEL", method: "GET", target: "/del\x7f", l4StopsAt: 4, l7: codecError },
  // sitio's own words as targets
  { what: "the word other", method: "GET", target: "other", l4StopsAt: 5, l7: codecError },
  { what: "a dash", method: "GET", target: "-", l4StopsAt: 0, l7: codecError },
  { what: "CONNECT other:443", method: "CONNECT", target: "other:443", l7: { status: 404, method: "CONNECT", endpoint: "other" } },
  { what: "CONNECT other", method: "CONNECT", target: "other", l7: codecError },
  { what: "OPTIONS *", method: "OPTIONS", target: "*", l7: { status: 404, method: "OPTIONS", endpoint: "other" } },
  // absolute-form
  { what: "absolute-form", method: "GET", target: "http://sitio.test/abs/x?y=1", l7Target: "http://sitio.test/api/abs/x?y=1" },
  { what: "absolute-form, no path", method: "GET", target: "http://sitio.test" },
  // query and fragment are not part of the endpoint
  { what: "query ending in a dot", method: "GET", target: "/q?x=1." },
  { what: "fragment", method: "GET", target: "/frag#x.", l7: { status: 400, method: "GET", endpoint: "other" } },
  // length: a label holds 256 bytes at most
  { what: "256-byte path", method: "GET", target: "/" + "l".repeat(255), l7Target: "/api/" + "l".repeat(251) },
  { what: "257-byte path", method: "GET", target: "/" + "m".repeat(256), l7Target: "/api/" + "m".repeat(252) },
  { what: "8,000-byte path", method: "GET", target: "/" + "x".repeat(7999) },
  { what: "quotes, 256 bytes escaped", method: "GET", target: "/" + '"'.repeat(85), l7Target: "/api/zz" + '"'.repeat(83) },
  { what: "quotes, 259 bytes escaped", method: "GET", target: "/" + '"'.repeat(86), l7Target: "/api/zzz" + '"'.repeat(83) },
  { what: "method outside the nine", method: "PURGE", target: "/purge" },
];

/** The target sent at L7. */
export const l7TargetOf = (t: HostileTarget): string => t.l7Target ?? (t.target.startsWith("/") ? "/api" + t.target : t.target);

/** An upstream that answers every request head 200 (CONNECT: 200 and a tunnel), whatever bytes its target holds. */
export function startAnsweringUpstream(): Promise<ScriptedUpstream> {
  return startScriptedUpstream((method) => ({
    writes: [method === "CONNECT" ? "HTTP/1.1 200 Connection established\r\n\r\n" : "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n"],
  }));
}

/** Series key → requests, as sitio must count them. */
export type Expected = Map<string, number>;
export const seriesKey = (labels: Record<string, string>) =>
  Object.entries(labels)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(",");

function add(e: Expected, labels: Record<string, string>): void {
  const k = seriesKey(labels);
  e.set(k, (e.get(k) ?? 0) + 1);
}

/** The request bytes sent for a target. */
export const requestBytes = (method: string, target: string) => `${method} ${target} HTTP/1.1\r\nHost: sitio.test\r\n\r\n`;

/** What sitio must count at L4 for each target: {method, endpoint, plugin}. */
export function expectedL4(plugin: string, targets = HOSTILE_TARGETS): Expected {
  const e: Expected = new Map();
  for (const t of targets) if (t.l4StopsAt === undefined) add(e, { method: methodLabel(t.method), endpoint: endpointLabel(t.target), plugin });
  return e;
}

/** The client bytes sitio's L4 decoder passes undecoded: each refused request from its offending byte on. */
export function expectedL4Unparsed(targets = HOSTILE_TARGETS): number {
  return targets.reduce((n, t) => (t.l4StopsAt === undefined ? n : n + requestBytes(t.method, t.target).length - (t.method.length + 1 + t.l4StopsAt)), 0);
}

/** What sitio must count at L7 for each target: {method, endpoint, status, plugin}. */
export function expectedL7(plugin: string, targets = HOSTILE_TARGETS): Expected {
  const e: Expected = new Map();
  for (const t of targets) {
    const o = t.l7;
    if (o) add(e, { method: o.method, endpoint: o.endpoint, status: String(o.status), plugin });
    else add(e, { method: methodLabel(t.method), endpoint: endpointLabel(l7TargetOf(t)), status: "200", plugin });
  }
  return e;
}

/** Sends each target once, each on its own connection (ten at a time); returns the status each got (0: none), in order. */
export async function sendTargets(port: number, targets: string[][]): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < targets.length; i += 10) {
    const exchanges = await Promise.all(
      targets
        .slice(i, i + 10)
        .map(([method, target]) => rawExchange(port, [requestBytes(method, target)], { until: (b) => countResponses(b) >= 1, idleMs: 2000 })),
    );
    for (const ex of exchanges) statuses.push(Number(/^HTTP\/1\.1 (\d{3}) /.exec(ex.received.toString("latin1"))?.[1] ?? 0));
  }
  return statuses;
}
