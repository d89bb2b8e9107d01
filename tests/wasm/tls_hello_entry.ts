// TEST-ONLY module (never shipped): the TLS hello decoder
// (assembly/codec/tls_hello.ts) on its own, for byte-table tests and fuzzing
// in Node (tests/harness/tls_hello_wasm.ts builds and drives it).
//
// Decoders are kept in a table and named by index. Bytes are written by the
// host into the input buffer (`inputBuffer`), then fed with `feed`; after
// each call the host reads `report` (a table of i32 results) and the SNI and
// ALPN bytes.

import { TlsHelloDecoder } from "../../assembly/codec/tls_hello";

let decoders: TlsHelloDecoder[] = [];
let input: Uint8Array = new Uint8Array(65536);
const REPORT_FIELDS = 24;
let report: Int32Array = new Int32Array(REPORT_FIELDS);

/** A new decoder; returns its index. */
export function create(): i32 {
  decoders.push(new TlsHelloDecoder());
  return decoders.length - 1;
}

/** Drops every decoder (their memory is freed). */
export function clear(): void {
  decoders = [];
}

/** The input buffer, at least `len` bytes long: its address. */
export function inputBuffer(len: i32): usize {
  if (len > input.length) input = new Uint8Array(len);
  return input.dataStart;
}

/** Feeds input bytes [off, off + len) to decoder `h`, client side (`server` 0) or server side (1); returns the count consumed. */
export function feed(h: i32, server: i32, off: i32, len: i32): i32 {
  let d = decoders[h];
  let ptr = input.dataStart + <usize>off;
  return server != 0 ? d.server(ptr, len) : d.client(ptr, len);
}

/** The last call's event (cheaper than `reportOf`). */
export function eventOf(h: i32): i32 {
  return decoders[h].event;
}

export function stop(h: i32): void {
  decoders[h].stop();
}

/** Decoder `h`'s results, as REPORT_FIELDS i32 (order: tests/harness/tls_hello_wasm.ts). */
export function reportOf(h: i32): usize {
  let d = decoders[h];
  let r = report;
  r[0] = d.event;
  r[1] = d.error;
  r[2] = d.errorFromServer ? 1 : 0;
  r[3] = d.hasSni ? 1 : 0;
  r[4] = d.sniLength;
  r[5] = d.sniTooLong ? 1 : 0;
  r[6] = d.hasAlpn ? 1 : 0;
  r[7] = d.alpnLength;
  r[8] = d.alpnTooLong ? 1 : 0;
  r[9] = d.alpnCount;
  r[10] = d.clientVersion;
  r[11] = d.offeredVersion;
  r[12] = d.hasSupportedVersions ? 1 : 0;
  r[13] = d.version;
  r[14] = d.cipherSuite;
  r[15] = d.helloRetry ? 1 : 0;
  r[16] = d.alertLevel;
  r[17] = d.alertDescription;
  r[18] = d.alerts;
  r[19] = d.stopped ? 1 : 0;
  r[20] = d.clientHelloDone ? 1 : 0;
  r[21] = d.serverHelloDone ? 1 : 0;
  r[22] = d.clientSecondFlight ? 1 : 0;
  r[23] = d.handshakeIncomplete ? 1 : 0;
  return r.dataStart;
}

export function sniOf(h: i32): usize {
  return decoders[h].sni.dataStart;
}

export function alpnOf(h: i32): usize {
  return decoders[h].alpn.dataStart;
}
