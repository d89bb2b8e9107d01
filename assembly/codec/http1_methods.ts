// The request methods sitio's HTTP/1.x parser accepts, and with which
// protocol name in the request line. The list is llhttp's (Node's parser):
// a request whose method is not on it is not HTTP to Node's servers, so
// sitio does not count it either.

import { WordList } from "../bytes/word_list";

/** The request line names `HTTP/x.y`. */
export const PROTOCOL_HTTP: i32 = 1;
/** The request line names `RTSP/x.y` (RFC 2326). */
export const PROTOCOL_RTSP: i32 = 2;
/** The request line names `ICE/x.y` (Icecast). */
export const PROTOCOL_ICE: i32 = 4;

const H = <u8>PROTOCOL_HTTP;
const R = <u8>PROTOCOL_RTSP;
const I = <u8>PROTOCOL_ICE;

// llhttp's list. WebDAV: COPY … ACL; Subversion: REPORT … MERGE; UPnP: M-SEARCH …
// UNSUBSCRIBE; then CalDAV, common extensions, Icecast (SOURCE), the HTTP/2 preface
// (PRI); the last eleven are RTSP only.
const NAMES = new WordList(
  "DELETE,GET,HEAD,POST,PUT,CONNECT,OPTIONS,TRACE,PATCH,LINK,UNLINK," +
    "COPY,LOCK,MKCOL,MOVE,PROPFIND,PROPPATCH,SEARCH,UNLOCK,BIND,REBIND,UNBIND,ACL," +
    "REPORT,MKACTIVITY,CHECKOUT,MERGE," +
    "M-SEARCH,NOTIFY,SUBSCRIBE,UNSUBSCRIBE," +
    "MKCALENDAR,PURGE,QUERY,SOURCE,PRI," +
    "DESCRIBE,ANNOUNCE,SETUP,PLAY,PAUSE,TEARDOWN,GET_PARAMETER,SET_PARAMETER,REDIRECT,RECORD,FLUSH",
);

const PROTOCOLS: StaticArray<u8> = [
  H,
  H | R,
  H,
  H | R,
  H,
  H,
  H | R,
  H,
  H,
  H,
  H,
  H,
  H,
  H,
  H,
  H,
  H,
  H,
  H,
  H,
  H,
  H,
  H,
  H,
  H,
  H,
  H,
  H,
  H,
  H,
  H,
  H,
  H,
  H,
  H | I,
  H,
  R,
  R,
  R,
  R,
  R,
  R,
  R,
  R,
  R,
  R,
  R,
];

/** Longest method on the list. */
export const MAX_METHOD_BYTES = 13;

/**
 * The index of the method in `len` bytes at `buf` on the list, or -1 when it
 * is not a known method. Case-sensitive, like llhttp.
 */
export function methodIndex(buf: Uint8Array, len: i32): i32 {
  return NAMES.find(buf.dataStart, len);
}

/** The method's name (a constant: the same string object for every request). */
export function methodName(index: i32): string {
  return NAMES.word(index);
}

/** The protocols (PROTOCOL_* bits) the method may be used with. */
export function methodProtocols(index: i32): i32 {
  return <i32>unchecked(PROTOCOLS[index]);
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
