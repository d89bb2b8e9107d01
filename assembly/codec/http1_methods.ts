// The request methods sitio's HTTP/1.x parser accepts, and with which
// protocol name in the request line. The list is llhttp's (Node's parser):
// a request whose method is not on it is not HTTP to Node's servers, so
// sitio does not count it either.

/** The request line names `HTTP/x.y`. */
export const PROTOCOL_HTTP: i32 = 1;
/** The request line names `RTSP/x.y` (RFC 2326). */
export const PROTOCOL_RTSP: i32 = 2;
/** The request line names `ICE/x.y` (Icecast). */
export const PROTOCOL_ICE: i32 = 4;

const H = PROTOCOL_HTTP;
const R = PROTOCOL_RTSP;
const I = PROTOCOL_ICE;

const NAMES: string[] = [
  "DELETE", "GET", "HEAD", "POST", "PUT", "CONNECT", "OPTIONS", "TRACE", "PATCH", "LINK", "UNLINK",
  // WebDAV
  "COPY", "LOCK", "MKCOL", "MOVE", "PROPFIND", "PROPPATCH", "SEARCH", "UNLOCK", "BIND", "REBIND", "UNBIND", "ACL",
  // Subversion
  "REPORT", "MKACTIVITY", "CHECKOUT", "MERGE",
  // UPnP
  "M-SEARCH", "NOTIFY", "SUBSCRIBE", "UNSUBSCRIBE",
  // CalDAV, common extensions, Icecast, the HTTP/2 preface
  "MKCALENDAR", "PURGE", "QUERY", "SOURCE", "PRI",
  // RTSP only
  "DESCRIBE", "ANNOUNCE", "SETUP", "PLAY", "PAUSE", "TEARDOWN", "GET_PARAMETER", "SET_PARAMETER", "REDIRECT", "RECORD", "FLUSH",
];

const PROTOCOLS: i32[] = [
  H, H | R, H, H | R, H, H, H | R, H, H, H, H,
  H, H, H, H, H, H, H, H, H, H, H, H,
  H, H, H, H,
  H, H, H, H,
  H, H, H, H | I, H,
  R, R, R, R, R, R, R, R, R, R, R,
];

/** Longest method on the list. */
export const MAX_METHOD_BYTES = 13;

/**
 * The index of the method in `len` bytes at `buf` on the list, or -1 when it
 * is not a known method. Case-sensitive, like llhttp.
 */
export function methodIndex(buf: Uint8Array, len: i32): i32 {
  for (let m = 0; m < NAMES.length; m++) {
    let name = unchecked(NAMES[m]);
    if (name.length != len) continue;
    let same = true;
    for (let k = 0; k < len; k++) {
      if (<i32>unchecked(buf[k]) != name.charCodeAt(k)) {
        same = false;
        break;
      }
    }
    if (same) return m;
  }
  return -1;
}

/** The method's name (a constant: the same string object for every request). */
export function methodName(index: i32): string {
  return unchecked(NAMES[index]);
}

/** The protocols (PROTOCOL_* bits) the method may be used with. */
export function methodProtocols(index: i32): i32 {
  return unchecked(PROTOCOLS[index]);
}

/** True for the method that opens the HTTP/2 connection preface (`PRI * HTTP/2.0`). */
export function isPreface(buf: Uint8Array, len: i32): bool {
  return len == 3 && buf[0] == 80 && buf[1] == 82 && buf[2] == 73;
}

/** True for CONNECT, whose target is an authority and whose success switches to a tunnel. */
export function isConnect(buf: Uint8Array, len: i32): bool {
  if (len != 7) return false;
  let name = "CONNECT";
  for (let k = 0; k < 7; k++) {
    if (<i32>buf[k] != name.charCodeAt(k)) return false;
  }
  return true;
}
