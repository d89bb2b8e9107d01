// sitio's label policy in TypeScript, for tests to compute the labels they
// expect (the rules of assembly/labels/label_values.ts and endpoints.ts;
// tests/host/labels.test.ts holds the two to the same table).

const STANDARD_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"]);
/** sitio's own words: no client-derived label may equal one of them. */
const RESERVED = new Set(["other", "none", "unknown", "-"]);
/** Longest endpoint label; longer ones are `other`. */
export const MAX_ENDPOINT_BYTES = 256;

/** sitio's method label: the nine standard methods by name, any other method `other`. */
export const methodLabel = (m: string): string => (STANDARD_METHODS.has(m) ? m : "other");

/** A byte a label never holds raw. */
const mustEscape = (c: number): boolean => c <= 0x20 || c >= 0x7f || c === 0x3b || c === 0x22 || c === 0x5c || c === 0x25 || c === 0x7b || c === 0x7d;
const escaped = (c: number): string => "%" + c.toString(16).toUpperCase().padStart(2, "0");

/** Escapes client bytes (one code unit per byte) as a label value: `%XX` for bytes a label never holds, a final `.`, and a value equal to one of sitio's words. */
export function escapeLabel(bytes: string): string {
  let out = "";
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes.charCodeAt(i);
    out += mustEscape(c) ? escaped(c) : bytes[i];
  }
  if (out.endsWith(".")) out = out.slice(0, -1) + "%2E";
  else if (RESERVED.has(out)) out = escaped(out.charCodeAt(0)) + out.slice(1);
  return out;
}

/** Decodes an escaped label value back to the client's bytes (one code unit per byte). */
export function unescapeLabel(label: string): string {
  return label.replace(/%([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

/**
 * The part of a request target (bytes as code units) sitio's endpoint label is made of: the
 * path without query and fragment; absolute-form `http://host/x?y` → `/x` (`/` without a
 * path); authority-form (`host:443`) and `*` as they are.
 */
export function endpointPath(url: string): string {
  let start = 0;
  if (url.length > 0 && url[0] !== "/") {
    const m = /^[^/?#]*?:\/\//.exec(url);
    if (m) {
      const rest = url.slice(m[0].length);
      const at = rest.search(/[/?#]/);
      if (at < 0 || rest[at] !== "/") return "/";
      start = m[0].length + at;
    }
  }
  let end = url.length;
  for (let i = start; i < url.length; i++) {
    if (url[i] === "?" || url[i] === "#") {
      end = i;
      break;
    }
  }
  return end === start ? "/" : url.slice(start, end);
}

/** sitio's endpoint label of a request target (bytes as code units): endpointPath, escaped (escapeLabel); longer than 256 bytes → `other`. */
export function endpointLabel(url: string): string {
  const out = escapeLabel(endpointPath(url));
  return out.length > MAX_ENDPOINT_BYTES ? "other" : out;
}

/** ALPN protocol ids registered with IANA: the label policy keeps these (assembly/labels/label_values.ts ALPN_IDS). */
const REGISTERED_ALPN = new Set(
  "http/0.9,http/1.0,http/1.1,spdy/1,spdy/2,spdy/3,stun.turn,stun.nat-discovery,h2,h2c,webrtc,c-webrtc,ftp,imap,pop3,managesieve,coap,xmpp-client,xmpp-server,acme-tls/1,mqtt,dot,ntske/1,sunrpc,h3,smb,irc,nntp,nnsp,doq,sip/2,tds/8.0,dicom,postgresql,radius/1.0,radius/1.1".split(
    ",",
  ),
);

/** sitio's `alpn` label of a client's first offered ALPN protocol (null: it offered none). */
export function alpnLabel(first: string | null): string {
  if (first === null) return "none";
  return REGISTERED_ALPN.has(first) ? first : "other";
}
