// TLS bytes for tests: builders of records, ClientHellos, ServerHellos and
// alerts, and a reference reader of captured flights.
//
// The reader is deliberately simple and independent of the decoder under
// test (assembly/codec/tls_hello.ts): it reassembles whole messages from
// whole buffers and walks them with Buffer reads. It writes the expectations
// of the corpus manifest (tests/fixtures/tls/manifest.json) and cross-checks
// the decoder on generated hellos.

export const TLS = { V1_0: 0x0301, V1_1: 0x0302, V1_2: 0x0303, V1_3: 0x0304 } as const;
export const RECORD = { ccs: 20, alert: 21, handshake: 22, appData: 23, heartbeat: 24 } as const;
export const EXT = { serverName: 0, alpn: 16, supportedVersions: 43, keyShare: 51, supportedGroups: 10, padding: 21 } as const;

/** RFC 8446 §4.1.3: the random of a HelloRetryRequest. */
export const HRR_RANDOM = Buffer.from("cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c", "hex");

const u8 = (n: number) => Buffer.from([n & 0xff]);
const u16 = (n: number) => Buffer.from([(n >> 8) & 0xff, n & 0xff]);
const u24 = (n: number) => Buffer.from([(n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]);
/** A vector with a length prefix of `width` bytes. */
export function vec(width: 1 | 2 | 3, body: Buffer): Buffer {
  return Buffer.concat([width === 1 ? u8(body.length) : width === 2 ? u16(body.length) : u24(body.length), body]);
}

export interface Extension {
  type: number;
  data: Buffer;
}

export function extension(type: number, data: Buffer): Extension {
  return { type, data };
}

export function sniExtension(...names: (string | Buffer | { type: number; name: Buffer })[]): Extension {
  const entries = names.map((n) => (typeof n === "string" || Buffer.isBuffer(n) ? { type: 0, name: Buffer.from(n) } : n));
  return extension(EXT.serverName, vec(2, Buffer.concat(entries.map((e) => Buffer.concat([u8(e.type), vec(2, e.name)])))));
}

export function alpnExtension(protocols: (string | Buffer)[]): Extension {
  return extension(EXT.alpn, vec(2, Buffer.concat(protocols.map((p) => vec(1, Buffer.from(p))))));
}

export function supportedVersionsExtension(versions: number[]): Extension {
  return extension(EXT.supportedVersions, vec(1, Buffer.concat(versions.map(u16))));
}

export interface ClientHelloSpec {
  /** legacy_version (default TLS 1.2). */
  version?: number;
  random?: Buffer;
  sessionId?: Buffer;
  cipherSuites?: number[];
  compression?: number[];
  /** Extensions in order; undefined: none at all (no extensions block). */
  extensions?: Extension[];
}

/** A ClientHello handshake message (type, length, body). */
export function clientHello(spec: ClientHelloSpec = {}): Buffer {
  const body = [
    u16(spec.version ?? TLS.V1_2),
    spec.random ?? Buffer.alloc(32, 0x11),
    vec(1, spec.sessionId ?? Buffer.alloc(0)),
    vec(2, Buffer.concat((spec.cipherSuites ?? [0x1301, 0xc02f]).map(u16))),
    vec(1, Buffer.from(spec.compression ?? [0])),
  ];
  if (spec.extensions) body.push(vec(2, Buffer.concat(spec.extensions.map((e) => Buffer.concat([u16(e.type), vec(2, e.data)])))));
  return handshake(1, Buffer.concat(body));
}

export interface ServerHelloSpec {
  version?: number;
  random?: Buffer;
  sessionId?: Buffer;
  cipherSuite?: number;
  compression?: number;
  /** supported_versions selected_version (TLS 1.3); undefined: no such extension. */
  selected?: number;
  /** A HelloRetryRequest: the magic random. */
  retry?: boolean;
  /** Further extensions (after supported_versions); undefined with no `selected`: no extensions block. */
  extensions?: Extension[];
}

export function serverHello(spec: ServerHelloSpec = {}): Buffer {
  const exts = [...(spec.selected !== undefined ? [extension(EXT.supportedVersions, u16(spec.selected))] : []), ...(spec.extensions ?? [])];
  const body = [
    u16(spec.version ?? TLS.V1_2),
    spec.retry ? HRR_RANDOM : (spec.random ?? Buffer.alloc(32, 0x22)),
    vec(1, spec.sessionId ?? Buffer.alloc(0)),
    u16(spec.cipherSuite ?? 0x1301),
    u8(spec.compression ?? 0),
  ];
  if (exts.length > 0 || spec.extensions) body.push(vec(2, Buffer.concat(exts.map((e) => Buffer.concat([u16(e.type), vec(2, e.data)])))));
  return handshake(2, Buffer.concat(body));
}

export function handshake(type: number, body: Buffer): Buffer {
  return Buffer.concat([u8(type), vec(3, body)]);
}

/** `payload` framed as records of `type`, cut into fragments of the given sizes (the last one repeats; default: one record). */
export function records(type: number, payload: Buffer, sizes: number[] = [payload.length || 1], version: number = TLS.V1_0): Buffer {
  const out: Buffer[] = [];
  let at = 0;
  let k = 0;
  do {
    const n = Math.min(sizes[Math.min(k++, sizes.length - 1)], payload.length - at);
    out.push(Buffer.concat([u8(type), u16(version), u16(n), payload.subarray(at, at + n)]));
    at += n;
  } while (at < payload.length);
  return Buffer.concat(out);
}

export function alertRecord(level: number, description: number, version: number = TLS.V1_2): Buffer {
  return records(RECORD.alert, Buffer.from([level, description]), undefined, version);
}

/** A ClientHello like a modern client's: SNI, ALPN, supported_versions, and filler extensions. */
export function typicalClientHello(opts: { sni?: string | null; alpn?: string[] | null; versions?: number[] | null; padTo?: number } = {}): Buffer {
  const exts: Extension[] = [];
  if (opts.sni !== null) exts.push(sniExtension(opts.sni ?? "example.com"));
  exts.push(extension(EXT.supportedGroups, vec(2, Buffer.concat([0x001d, 0x0017].map(u16)))));
  if (opts.alpn !== null) exts.push(alpnExtension(opts.alpn ?? ["h2", "http/1.1"]));
  if (opts.versions !== null) exts.push(supportedVersionsExtension(opts.versions ?? [TLS.V1_3, TLS.V1_2]));
  exts.push(extension(EXT.keyShare, vec(2, Buffer.concat([u16(0x001d), vec(2, Buffer.alloc(32, 0x33))]))));
  const msg = clientHello({ sessionId: Buffer.alloc(32, 0x44), cipherSuites: [0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f], extensions: exts });
  if (opts.padTo && opts.padTo > msg.length + 4) {
    exts.push(extension(EXT.padding, Buffer.alloc(opts.padTo - msg.length - 4)));
    return clientHello({ sessionId: Buffer.alloc(32, 0x44), cipherSuites: [0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f], extensions: exts });
  }
  return msg;
}

// ---------------------------------------------------------------- reference reader

export interface RecordInfo {
  type: number;
  version: number;
  length: number;
  /** Offset of the record header in the stream. */
  at: number;
}

/** The whole records at the start of `stream` (a partial last one is left out). */
export function splitRecords(stream: Buffer): RecordInfo[] {
  const out: RecordInfo[] = [];
  for (let at = 0; at + 5 <= stream.length; ) {
    const length = stream.readUInt16BE(at + 3);
    if (at + 5 + length > stream.length) break;
    out.push({ type: stream[at], version: stream.readUInt16BE(at + 1), length, at });
    at += 5 + length;
  }
  return out;
}

/** Handshake messages reassembled from the handshake records of `stream` (whole messages only). */
export function handshakeMessages(stream: Buffer): { type: number; body: Buffer }[] {
  const recs = splitRecords(stream).filter((r) => r.type === RECORD.handshake);
  const bytes = Buffer.concat(recs.map((r) => stream.subarray(r.at + 5, r.at + 5 + r.length)));
  const out: { type: number; body: Buffer }[] = [];
  for (let at = 0; at + 4 <= bytes.length; ) {
    const len = bytes.readUIntBE(at + 1, 3);
    if (at + 4 + len > bytes.length) break;
    out.push({ type: bytes[at], body: bytes.subarray(at + 4, at + 4 + len) });
    at += 4 + len;
  }
  return out;
}

export interface ClientHelloInfo {
  legacyVersion: number;
  cipherSuites: number[];
  sni: string | null;
  alpn: string[];
  /** supported_versions as sent (GREASE included); null when absent. */
  versions: number[] | null;
  /** Highest non-GREASE offered version, as the decoder defines it. */
  offered: number;
  extensionTypes: number[];
  keyShareGroups: number[];
  /** Body length of the ClientHello message. */
  length: number;
}

const isGrease = (v: number) => (v & 0x0f0f) === 0x0a0a && v >> 8 === (v & 0xff);

function extensionsOf(body: Buffer, at: number): Map<number, Buffer> & { order: number[] } {
  const m = new Map<number, Buffer>() as Map<number, Buffer> & { order: number[] };
  m.order = [];
  if (at === body.length) return m;
  const end = at + 2 + body.readUInt16BE(at);
  if (end !== body.length) throw new Error("extensions block does not end with the message");
  for (let p = at + 2; p < end; ) {
    const type = body.readUInt16BE(p);
    const len = body.readUInt16BE(p + 2);
    m.set(type, body.subarray(p + 4, p + 4 + len));
    m.order.push(type);
    p += 4 + len;
  }
  return m;
}

export function parseClientHello(body: Buffer): ClientHelloInfo {
  let p = 2 + 32;
  p += 1 + body[p];
  const csLen = body.readUInt16BE(p);
  const cipherSuites: number[] = [];
  for (let i = 0; i < csLen; i += 2) cipherSuites.push(body.readUInt16BE(p + 2 + i));
  p += 2 + csLen;
  p += 1 + body[p];
  const exts = extensionsOf(body, p);
  let sni: string | null = null;
  const sn = exts.get(EXT.serverName);
  if (sn) {
    for (let q = 2; q < sn.length; ) {
      const type = sn[q];
      const len = sn.readUInt16BE(q + 1);
      if (type === 0 && sni === null) sni = sn.subarray(q + 3, q + 3 + len).toString("latin1");
      q += 3 + len;
    }
  }
  const alpn: string[] = [];
  const al = exts.get(EXT.alpn);
  if (al) for (let q = 2; q < al.length; q += 1 + al[q]) alpn.push(al.subarray(q + 1, q + 1 + al[q]).toString("latin1"));
  const sv = exts.get(EXT.supportedVersions);
  let versions: number[] | null = null;
  if (sv) {
    versions = [];
    for (let q = 1; q < sv.length; q += 2) versions.push(sv.readUInt16BE(q));
  }
  const legacyVersion = body.readUInt16BE(0);
  const known = (versions ?? []).filter((v) => v >= 0x0300 && v <= 0x0304);
  const other = (versions ?? []).filter((v) => !isGrease(v) && !(v >= 0x0300 && v <= 0x0304));
  const offered = versions === null ? legacyVersion : known.length ? Math.max(...known) : other.length ? Math.max(...other) : 0;
  const keyShareGroups: number[] = [];
  const ks = exts.get(EXT.keyShare);
  // key_share entries: group, then a 2-byte-length key (read as far as they are whole)
  if (ks) for (let q = 2; q + 4 <= ks.length; q += 4 + ks.readUInt16BE(q + 2)) keyShareGroups.push(ks.readUInt16BE(q));
  return { legacyVersion, cipherSuites, sni, alpn, versions, offered, extensionTypes: exts.order, keyShareGroups, length: body.length };
}

export interface ServerHelloInfo {
  legacyVersion: number;
  /** supported_versions' selected_version, else legacy_version. */
  version: number;
  cipherSuite: number;
  retry: boolean;
  keyShareGroup: number | null;
  /** ALPN in the ServerHello (TLS 1.2 only: TLS 1.3 sends it encrypted). */
  alpn: string | null;
}

export function parseServerHello(body: Buffer): ServerHelloInfo {
  const legacyVersion = body.readUInt16BE(0);
  const retry = body.subarray(2, 34).equals(HRR_RANDOM);
  let p = 34;
  p += 1 + body[p];
  const cipherSuite = body.readUInt16BE(p);
  p += 3;
  const exts = extensionsOf(body, p);
  const sv = exts.get(EXT.supportedVersions);
  const ks = exts.get(EXT.keyShare);
  const al = exts.get(EXT.alpn);
  return {
    legacyVersion,
    version: sv ? sv.readUInt16BE(0) : legacyVersion,
    cipherSuite,
    retry,
    keyShareGroup: ks ? ks.readUInt16BE(0) : null,
    alpn: al ? al.subarray(3, 3 + al[2]).toString("latin1") : null,
  };
}

/** The version names the decoder's numbers stand for. */
export function versionName(v: number): string {
  return (
    ({ 0x0300: "SSLv3", 0x0301: "TLSv1.0", 0x0302: "TLSv1.1", 0x0303: "TLSv1.2", 0x0304: "TLSv1.3" } as Record<number, string>)[v] ??
    `0x${v.toString(16).padStart(4, "0")}`
  );
}
