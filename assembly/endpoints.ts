// Endpoint and method names as they appear in metric labels: normalised and
// bounded. Every label value a client can influence passes through here.
// No host calls: `endpointOf` and `methodLabel` are pure functions, and
// `EndpointLabels` adds the per-plugin rules (collapsing, the cap).

import { Config } from "./config";

/** The label value for everything past a cap or unusable. */
export const OTHER = "other";

/** Longest endpoint label kept; longer paths are counted as `other`. */
export const MAX_ENDPOINT_BYTES = 256;

const KNOWN_METHODS: string[] = [
  "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
];

/** Standard methods keep their name; any other token becomes `other` (clients choose methods freely). */
export function methodLabel(method: string): string {
  for (let i = 0; i < KNOWN_METHODS.length; i++) {
    if (unchecked(KNOWN_METHODS[i]) == method) return method;
  }
  return OTHER;
}

function hex(d: i32): i32 {
  return d < 10 ? 48 + d : 55 + d;
}

/**
 * The path of a request target, as a label value:
 * `/a/b?x=1#f` → `/a/b`, `http://host:8080/x?y` → `/x`, `http://host` → `/`,
 * `host:443` (CONNECT) and `*` stay as they are. Bytes outside printable
 * ASCII, and `;` `"` `\` `%`-encoded. `other` when longer than MAX_ENDPOINT_BYTES.
 * `raw` holds the target's bytes as Latin-1 code units (one per byte).
 */
export function endpointOf(raw: string): string {
  let n = raw.length;
  let start = 0;
  // absolute-form: scheme "://" authority path
  if (n > 0 && raw.charCodeAt(0) != 47 /* / */) {
    let sep = raw.indexOf("://");
    if (sep > 0) {
      let slash = raw.indexOf("/", sep + 3);
      let q = raw.indexOf("?", sep + 3);
      if (slash < 0 || (q >= 0 && q < slash)) return "/";
      start = slash;
    }
  }
  let end = n;
  for (let i = start; i < n; i++) {
    let c = raw.charCodeAt(i);
    if (c == 63 /* ? */ || c == 35 /* # */) {
      end = i;
      break;
    }
  }
  if (end == start) return "/";
  let plain = true;
  for (let i = start; i < end; i++) {
    let c = raw.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f || c == 59 /* ; */ || c == 34 /* " */ || c == 92 /* \ */) {
      plain = false;
      break;
    }
  }
  if (plain) return end - start > MAX_ENDPOINT_BYTES ? OTHER : raw.substring(start, end);
  let out = "";
  for (let i = start; i < end; i++) {
    let c = raw.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f || c == 59 || c == 34 || c == 92) {
      out += "%" + String.fromCharCode(hex((c >> 4) & 15)) + String.fromCharCode(hex(c & 15));
    } else {
      out += String.fromCharCode(c);
    }
    if (out.length > MAX_ENDPOINT_BYTES) return OTHER;
  }
  return out;
}

function isHex(c: i32): bool {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

/** `s[from, to)` is one or more ASCII digits. */
function isNumberSegment(s: string, from: i32, to: i32): bool {
  if (to <= from) return false;
  for (let i = from; i < to; i++) {
    let c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** `s[from, to)` is a UUID in its 8-4-4-4-12 hex form (any case, any version). */
function isUuidSegment(s: string, from: i32, to: i32): bool {
  if (to - from != 36) return false;
  for (let i = 0; i < 36; i++) {
    let c = s.charCodeAt(from + i);
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != 45 /* - */) return false;
    } else if (!isHex(c)) {
      return false;
    }
  }
  return true;
}

/**
 * The endpoint labels of one plugin: `endpointOf`, then the configured
 * collapse rules (`/users/42` → `/users/{id}`), then the cap on distinct
 * labels (the rest are `other`). Every label ever returned stays admitted, so
 * a label keeps its series for the life of the VM.
 */
export class EndpointLabels {
  private admitted: Map<string, bool> = new Map();
  private max: i32;
  private numbers: bool;
  private uuids: bool;
  private placeholder: string;

  constructor(config: Config) {
    this.max = config.maxEndpoints;
    this.numbers = config.collapseNumbers;
    this.uuids = config.collapseUuids;
    this.placeholder = config.placeholder;
  }

  /** New rules for the same plugin; labels admitted so far stay admitted. */
  reconfigure(config: Config): void {
    this.max = config.maxEndpoints;
    this.numbers = config.collapseNumbers;
    this.uuids = config.collapseUuids;
    this.placeholder = config.placeholder;
  }

  /** Distinct labels admitted so far (`other` not included). */
  get size(): i32 {
    return this.admitted.size;
  }

  /**
   * The label for a request target. `truncated`: the parser kept only the
   * target's first bytes; unless they already include the end of the path
   * (a `?` or `#`), the path is unknown and the label is `other`.
   */
  label(target: string, truncated: bool): string {
    if (truncated && target.indexOf("?") < 0 && target.indexOf("#") < 0) return OTHER;
    let endpoint = this.collapse(endpointOf(target));
    if (this.admitted.has(endpoint)) return endpoint;
    // a long placeholder can make a collapsed path longer than the raw one
    if (endpoint == OTHER || endpoint.length > MAX_ENDPOINT_BYTES || this.admitted.size >= this.max) return OTHER;
    this.admitted.set(endpoint, true);
    return endpoint;
  }

  /** The path with every number / UUID segment replaced by the placeholder, as configured. */
  collapse(path: string): string {
    if (!this.numbers && !this.uuids) return path;
    let n = path.length;
    if (n == 0 || path.charCodeAt(0) != 47 /* / */) return path;
    let out = ""; // built only once a segment is replaced
    let copied = 0;
    let start = 1;
    while (start <= n) {
      let end = path.indexOf("/", start);
      if (end < 0) end = n;
      if ((this.numbers && isNumberSegment(path, start, end)) || (this.uuids && isUuidSegment(path, start, end))) {
        out += path.substring(copied, start);
        out += this.placeholder;
        copied = end;
      }
      start = end + 1;
    }
    if (copied == 0) return path;
    out += path.substring(copied);
    return out;
  }
}
