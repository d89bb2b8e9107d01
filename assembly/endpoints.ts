// Endpoint and method names as they appear in metric labels: normalised and
// bounded. Every label value a client can influence passes through here.
// Pure: no host calls.

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
