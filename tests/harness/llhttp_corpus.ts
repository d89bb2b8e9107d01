// The llhttp request-parsing corpus (tests/fixtures/llhttp/) and the metric
// labels sitio should give its requests.

import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";

export interface LlhttpRequest {
  method: string;
  url: string;
  protocol: string | null;
  version: string | null;
  url_complete: boolean;
  headers_complete: boolean;
  message_complete: boolean;
}

export interface LlhttpCase {
  id: string;
  mode: "strict" | "loose";
  raw_base64: string;
  length: number;
  valid: boolean;
  requests: LlhttpRequest[];
  error: string | null;
  error_detail: { offset: number; name: string; reason: string } | null;
  upgrade: { offset: number; name: string } | null;
}

const FIXTURE = join(resolve(import.meta.dirname, "../.."), "tests/fixtures/llhttp/http1-requests.json");

export const CASES: LlhttpCase[] = JSON.parse(readFileSync(FIXTURE, "utf8"));

export const bytesOf = (c: LlhttpCase): Buffer => Buffer.from(c.raw_base64, "base64");

/** The bytes sitio parses as HTTP/1.x: up to a protocol switch, all of them otherwise. */
export const httpBytesOf = (c: LlhttpCase): Buffer => bytesOf(c).subarray(0, c.upgrade ? c.upgrade.offset : c.length);

// ---- labels, the same rules as assembly/endpoints.ts (methodLabel, endpointOf)

const STANDARD_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"]);

/** sitio's method label: the nine standard methods by name, any other method `other`. */
export const methodLabel = (m: string): string => (STANDARD_METHODS.has(m) ? m : "other");

/**
 * sitio's endpoint label: the target's path without query and fragment; absolute-form
 * `http://host/x?y` → `/x` (`/` without a path); authority-form (`host:443`) and `*` as they are;
 * bytes outside printable ASCII and `;` `"` `\` %-encoded; over 256 bytes → `other`.
 */
export function endpointLabel(url: string): string {
  let start = 0;
  if (url.length > 0 && url[0] !== "/") {
    const sep = url.indexOf("://");
    if (sep > 0) {
      const slash = url.indexOf("/", sep + 3);
      const q = url.indexOf("?", sep + 3);
      if (slash < 0 || (q >= 0 && q < slash)) return "/";
      start = slash;
    }
  }
  let end = url.length;
  for (let i = start; i < url.length; i++) {
    if (url[i] === "?" || url[i] === "#") {
      end = i;
      break;
    }
  }
  if (end === start) return "/";
  let out = "";
  for (let i = start; i < end; i++) {
    const c = url.charCodeAt(i);
    out += c <= 0x20 || c >= 0x7f || c === 59 || c === 34 || c === 92 ? "%" + c.toString(16).toUpperCase().padStart(2, "0") : url[i];
  }
  return out.length > 256 ? "other" : out;
}

/** A request as sitio labels it: "METHOD endpoint". */
export const labelOf = (r: LlhttpRequest): string => `${methodLabel(r.method)} ${endpointLabel(r.url)}`;

/** The requests sitio counts for a case llhttp accepts: those whose head llhttp completed, in order. */
export const expectedRequests = (c: LlhttpCase): string[] => c.requests.filter((r) => r.headers_complete).map(labelOf);
