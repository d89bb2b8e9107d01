// The one label policy: every label value sitio publishes is decided here,
// for the network (L4) and HTTP (L7) filters alike. docs/metrics.md states
// these rules; tests/host/labels.test.ts holds them to it.
//
// Label values reach Prometheus through Envoy stat names (`name;key=value;…`,
// split by the stats_tags regexes in envoy.yaml), so a value must never hold
// `;`, and Envoy's stats symbol table must not be able to merge two values:
// it strips trailing `.` from tag values, so a value never ends in `.`.
//
// Client-derived values (endpoints, SNI) are escaped so that distinct inputs
// never share a label and the escaping round-trips (decode each `%XX`):
// - bytes outside printable ASCII, and `;` `"` `\` `%` `{` `}`, become `%XX`
//   (upper-case hex);
// - a final `.` becomes `%2E`;
// - a value that would equal one of sitio's own words (`other`, `none`,
//   `unknown`, `-`) has its first byte escaped (`other` → `%6Fther`).
// Values sitio chooses itself (methods, statuses, the words above) are fixed
// strings and pass through untouched.

import { BACKSLASH, DEL, DOT, LEFT_BRACE, PERCENT, QUOTE, RIGHT_BRACE, SEMICOLON, SP } from "../bytes/ascii";
import { WordList } from "../bytes/word_list";
import { TlsFailure } from "../codec/tls";
import { decimal } from "../bytes/decimal";

/** Everything past a cap, or not usable as a label: the overflow bucket. */
export const OTHER = "other";
/** Absent (a TLS connection without SNI, say). */
export const NONE = "none";
/** Not known (an L7 stream that ended before any response: its status). */
export const UNKNOWN = "unknown";
/** No endpoint in this protocol (Foo requests). */
export const NO_ENDPOINT = "-";

/** The words above: no client-derived value may equal one of them. */
const RESERVED: string[] = [OTHER, NONE, UNKNOWN, NO_ENDPOINT];
/** The length of the longest of them ("unknown"). */
const LONGEST_RESERVED = 7;

// ---------------------------------------------------------------- escaping client bytes

/** The byte cannot appear raw in a label value. */
export function mustEscape(c: i32): bool {
  return c <= SP || c >= DEL || c == SEMICOLON || c == QUOTE || c == BACKSLASH || c == PERCENT || c == LEFT_BRACE || c == RIGHT_BRACE;
}

function hexDigit(d: i32): u8 {
  return <u8>(d < 10 ? 48 + d : 55 + d);
}

/** Writes `c` at `out[at]` as `%XX`; returns the index after it. */
export function writeEscaped(out: Uint8Array, at: i32, c: i32): i32 {
  let p = out.dataStart + <usize>at;
  store<u8>(p, 37);
  store<u8>(p, hexDigit((c >> 4) & 15), 1);
  store<u8>(p, hexDigit(c & 15), 2);
  return at + 3;
}

/**
 * The last two rules of escaping, applied to a value already written to
 * `out[0, len)` with `mustEscape` bytes escaped: a final `.` and a value equal
 * to a reserved word. Returns the new length (at most `len + 2`; `out` must
 * have room for it).
 */
export function finishEscaping(out: Uint8Array, len: i32): i32 {
  if (len > 0 && unchecked(out[len - 1]) == DOT) return writeEscaped(out, len - 1, DOT);
  if (len > LONGEST_RESERVED) return len;
  for (let w = 0; w < RESERVED.length; w++) {
    let word = unchecked(RESERVED[w]);
    if (word.length != len) continue;
    let same = true;
    for (let i = 0; i < len; i++) {
      if (<i32>unchecked(out[i]) != word.charCodeAt(i)) {
        same = false;
        break;
      }
    }
    if (!same) continue;
    // escape the first byte: shift the rest right by two
    for (let i = len - 1; i >= 1; i--) unchecked((out[i + 2] = out[i]));
    writeEscaped(out, 0, word.charCodeAt(0));
    return len + 2;
  }
  return len;
}

/** Writes the escaped form of `len` bytes at `ptr` to `out`; returns its length, or -1 when longer than `max`. */
export function escapeBytes(ptr: usize, len: i32, out: Uint8Array, max: i32): i32 {
  let n = 0;
  for (let i = 0; i < len; i++) {
    let c = <i32>load<u8>(ptr + <usize>i);
    if (n + 3 > out.length) return -1;
    if (mustEscape(c)) n = writeEscaped(out, n, c);
    else {
      store<u8>(out.dataStart + <usize>n, <u8>c);
      n++;
    }
  }
  n = finishEscaping(out, n);
  return n > max ? -1 : n;
}

// ---------------------------------------------------------------- methods

/** Method labels: the standard nine keep their name; any other method is `other` (clients choose methods freely). */
const KNOWN_METHODS = new WordList("GET,HEAD,POST,PUT,DELETE,CONNECT,OPTIONS,TRACE,PATCH");

/** The label of a request method named by a client (the L4 decoder's constant name). */
export function methodLabel(method: string): string {
  let i = KNOWN_METHODS.findString(method);
  return i >= 0 ? KNOWN_METHODS.word(i) : OTHER;
}

/** The label of a request method in `len` bytes at `p` (L7: `:method`). */
export function methodLabelOf(p: usize, len: i32): string {
  let i = KNOWN_METHODS.find(p, len);
  return i >= 0 ? KNOWN_METHODS.word(i) : OTHER;
}

// ---------------------------------------------------------------- statuses

const STATUS_CLASSES: string[] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/** L4 HTTP/1.x responses: the status class (`2xx`); a code outside 100–599 is `other`. */
export function statusClassLabel(code: i32): string {
  if (code < 100 || code > 599) return OTHER;
  return unchecked(STATUS_CLASSES[code / 100 - 1]);
}

/** Whether a response code is one of the registered ones that keep their own label value. */
function registeredStatus(code: i32): bool {
  if (code < 200) return code == 100 || code == 101 || code == 103;
  if (code < 300) return code <= 208 || code == 226;
  if (code < 400) return code <= 308;
  if (code < 500) return code <= 418 || (code >= 421 && code <= 426) || code == 428 || code == 429 || code == 431 || code == 451;
  return code <= 508 || code == 510 || code == 511;
}

/** `statusCodeOf` of a status that is absent or not three digits from 100 to 599. */
export const NO_STATUS: i32 = -1;

/** A `:status` value in `len` bytes at `p` as its code, or NO_STATUS. */
export function statusCodeOf(p: usize, len: i32): i32 {
  if (len != 3) return NO_STATUS;
  let code = 0;
  for (let i = 0; i < 3; i++) {
    let c = <i32>load<u8>(p + <usize>i) - 48;
    if (c < 0 || c > 9) return NO_STATUS;
    code = code * 10 + c;
  }
  return code >= 100 && code <= 599 ? code : NO_STATUS;
}

/**
 * What L7 responses with this code share a series by: the code itself when
 * registered, its class (-2 for 1xx … -6 for 5xx) otherwise, NO_STATUS (-1)
 * when there was none.
 */
export function statusKey(code: i32): i32 {
  if (code == NO_STATUS) return NO_STATUS;
  return registeredStatus(code) ? code : -1 - code / 100;
}

/**
 * The L7 status label of a statusKey: a registered code as itself (`404`), any
 * other code as its class (`599` → `5xx`, so an upstream cannot mint series),
 * `unknown` when the stream ended without a response or the status is not three
 * digits from 100 to 599.
 */
export function statusKeyLabel(key: i32): string {
  if (key == NO_STATUS) return UNKNOWN;
  if (key < 0) return unchecked(STATUS_CLASSES[-key - 2]);
  return decimal(key);
}

// ---------------------------------------------------------------- admission

/**
 * A response status that is evidence of a real endpoint, letting it have a
 * series of its own (labels/endpoint_table.ts): a final response that is not
 * a 4xx. Junk paths are answered 404 (or 400, 405, 414…); a client cannot make
 * the upstream answer them otherwise cheaply.
 */
export function admitsEndpoint(status: i32): bool {
  return status >= 100 && status <= 599 && (status < 400 || status >= 500);
}

// ---------------------------------------------------------------- gRPC status codes

/** The canonical gRPC status code names, by code (grpc/doc/statuscodes.md). */
const GRPC_CODE_NAMES = new WordList(
  "OK,CANCELLED,UNKNOWN,INVALID_ARGUMENT,DEADLINE_EXCEEDED,NOT_FOUND,ALREADY_EXISTS,PERMISSION_DENIED," +
    "RESOURCE_EXHAUSTED,FAILED_PRECONDITION,ABORTED,OUT_OF_RANGE,UNIMPLEMENTED,INTERNAL,UNAVAILABLE," +
    "DATA_LOSS,UNAUTHENTICATED",
);

export const GRPC_CANCELLED: i32 = 1;
export const GRPC_DEADLINE_EXCEEDED: i32 = 4;
/** What a server answers for a method it does not have: no evidence of an endpoint. */
export const GRPC_UNIMPLEMENTED: i32 = 12;
/** `grpcStatusCode`: the stream carried no grpc-status. */
export const GRPC_NO_STATUS: i32 = -1;
/** `grpcStatusCode`: a grpc-status that is not a number of at most 9 digits. */
export const GRPC_BAD_STATUS: i32 = -2;

/** A grpc-status value in `n` bytes at `p` as a number; GRPC_NO_STATUS when empty, GRPC_BAD_STATUS when not 1 to 9 ASCII digits. */
export function grpcStatusCode(p: usize, n: i32): i32 {
  if (n == 0) return GRPC_NO_STATUS;
  if (n > 9) return GRPC_BAD_STATUS;
  let code = 0;
  for (let i = 0; i < n; i++) {
    let c = <i32>load<u8>(p + <usize>i) - 48;
    if (c < 0 || c > 9) return GRPC_BAD_STATUS;
    code = code * 10 + c;
  }
  return code;
}

/**
 * The outcome of a finished gRPC stream, as a status code: the grpc-status
 * it carried (from trailers, or the headers of a trailers-only response);
 * without one, DEADLINE_EXCEEDED when Envoy ended it at the call's deadline
 * (grpc-timeout, route max_stream_duration), CANCELLED when the client reset
 * it, else GRPC_NO_STATUS.
 */
export function grpcOutcome(status: i32, envoyDeadline: bool, clientReset: bool): i32 {
  if (status != GRPC_NO_STATUS) return status;
  if (envoyDeadline) return GRPC_DEADLINE_EXCEEDED;
  if (clientReset) return GRPC_CANCELLED;
  return GRPC_NO_STATUS;
}

/**
 * The `grpc_code` label of an outcome: the canonical name of codes 0–16
 * (`OK`, `NOT_FOUND`, …; note `UNKNOWN` is code 2), `other` for any other
 * number or a grpc-status that is not one, `unknown` (lower case, sitio's
 * word) when the stream ended without a status.
 */
export function grpcCodeLabel(code: i32): string {
  if (code == GRPC_NO_STATUS) return UNKNOWN;
  if (code < 0 || code >= GRPC_CODE_NAMES.length) return OTHER;
  return GRPC_CODE_NAMES.word(code);
}

/**
 * A grpc-status from the upstream that is evidence of a real gRPC method,
 * letting its path have a series of its own: any canonical code but
 * UNIMPLEMENTED, which is what a server answers for a method it does not have.
 */
export function admitsGrpcEndpoint(status: i32): bool {
  return status >= 0 && status < GRPC_CODE_NAMES.length && status != GRPC_UNIMPLEMENTED;
}

// ---------------------------------------------------------------- plugin names

/** Longest plugin name accepted. */
export const MAX_PLUGIN_NAME_BYTES = 64;

/**
 * A plugin name (envoy.yaml's `config.name`) is every series' `plugin` label
 * and part of every stat name, so it is validated, not escaped: 1 to
 * MAX_PLUGIN_NAME_BYTES of letters, digits, `_`, `-` and `.` (Istio names a
 * WasmPlugin's plugin `<namespace>.<name>`), not ending in `.` (Envoy strips
 * trailing dots: `web.` and `web` would share every series). Returns "" when
 * valid, else what is wrong.
 */
export function pluginNameProblem(name: string): string {
  if (name.length == 0) return "is empty";
  if (name.length > MAX_PLUGIN_NAME_BYTES) return "is longer than " + decimal(MAX_PLUGIN_NAME_BYTES) + " characters";
  for (let i = 0; i < name.length; i++) {
    let c = name.charCodeAt(i);
    let ok = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 95 || c == 45 || c == DOT;
    if (!ok) return "may hold only letters, digits, '_', '-' and '.'";
  }
  if (name.charCodeAt(name.length - 1) == DOT) return "ends in '.' (Envoy drops trailing dots from stat names)";
  return "";
}

// ---------------------------------------------------------------- TLS

/** ALPN protocol ids registered with IANA (TLS Application-Layer Protocol Negotiation Protocol IDs): each keeps its label. */
const ALPN_IDS = new WordList(
  "http/0.9,http/1.0,http/1.1,spdy/1,spdy/2,spdy/3,stun.turn,stun.nat-discovery,h2,h2c," +
    "webrtc,c-webrtc,ftp,imap,pop3,managesieve,coap,xmpp-client,xmpp-server,acme-tls/1," +
    "mqtt,dot,ntske/1,sunrpc,h3,smb,irc,nntp,nnsp,doq,sip/2,tds/8.0,dicom," +
    "postgresql,radius/1.0,radius/1.1",
);

/** The first ALPN protocol a client offered: a registered id as itself, `none` when it offered none, `other` for any other bytes. */
export function alpnLabel(present: bool, p: usize, len: i32, tooLong: bool): string {
  if (!present) return NONE;
  if (tooLong) return OTHER;
  let i = ALPN_IDS.find(p, len);
  return i >= 0 ? ALPN_IDS.word(i) : OTHER;
}

/** A negotiated protocol version, named as Envoy and OpenSSL name it (`TLSv1.3`); any other value is `other`. */
export function tlsVersionLabel(version: i32): string {
  switch (version) {
    case 0x0300:
      return "SSLv3";
    case 0x0301:
      return "TLSv1.0";
    case 0x0302:
      return "TLSv1.1";
    case 0x0303:
      return "TLSv1.2";
    case 0x0304:
      return "TLSv1.3";
    default:
      return OTHER;
  }
}

/** Alert descriptions (RFC 8446 §6, RFC 5246 §7.2, RFC 7301 and the TLS registry): codes, and their names in the same order. */
const ALERT_CODES: StaticArray<u8> = [
  0, 10, 20, 21, 22, 30, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 60, 70, 71, 80, 86, 90, 100, 109, 110, 111, 112, 113, 114, 115, 116, 120, 121,
];
const ALERT_NAMES = new WordList(
  "close_notify,unexpected_message,bad_record_mac,decryption_failed,record_overflow,decompression_failure," +
    "handshake_failure,no_certificate,bad_certificate,unsupported_certificate,certificate_revoked," +
    "certificate_expired,certificate_unknown,illegal_parameter,unknown_ca,access_denied,decode_error," +
    "decrypt_error,export_restriction,protocol_version,insufficient_security,internal_error," +
    "inappropriate_fallback,user_canceled,no_renegotiation,missing_extension,unsupported_extension," +
    "certificate_unobtainable,unrecognized_name,bad_certificate_status_response,bad_certificate_hash_value," +
    "unknown_psk_identity,certificate_required,no_application_protocol,ech_required",
);

function alertName(code: i32): string {
  for (let i = 0; i < ALERT_CODES.length; i++) if (<i32>unchecked(ALERT_CODES[i]) == code) return ALERT_NAMES.word(i);
  return OTHER;
}

/**
 * Why a handshake failed: `not_tls`, `malformed`, `incomplete`, or
 * `alert_<description>` for a plaintext alert (`alert_other` for a code not
 * registered, or an alert that was not plaintext).
 */
export function tlsFailureLabel(failure: i32, alertDescription: i32): string {
  switch (failure) {
    case TlsFailure.NotTls:
      return "not_tls";
    case TlsFailure.Malformed:
      return "malformed";
    case TlsFailure.Incomplete:
      return "incomplete";
    case TlsFailure.Alert:
      return "alert_" + alertName(alertDescription);
    default:
      return OTHER;
  }
}
