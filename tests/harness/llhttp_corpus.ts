// The llhttp request-parsing corpus (tests/fixtures/llhttp/) and the metric
// labels sitio should give its requests.

import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { endpointLabel, methodLabel } from "./labels.js";

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

/** A request as sitio labels it: "METHOD endpoint". */
export const labelOf = (r: LlhttpRequest): string => `${methodLabel(r.method)} ${endpointLabel(r.url)}`;

/** The requests sitio counts for a case llhttp accepts: those whose head llhttp completed, in order. */
export const expectedRequests = (c: LlhttpCase): string[] => c.requests.filter((r) => r.headers_complete).map(labelOf);
