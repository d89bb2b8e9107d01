// TLS connection starts for the fuzzer of the hello decoder: random bytes,
// mutated corpus captures, corpus hellos re-framed into random records,
// generated hellos with exact expectations (from the reference reader in
// tests/harness/tls_bytes.ts), and truncated captures.

import type { Rng } from "./rng.js";
import type { TlsSteps } from "../harness/tls_hello_wasm.js";
import type { TlsCapture } from "../harness/tls_corpus.js";
import {
  alertRecord,
  alpnExtension,
  clientHello,
  extension,
  parseClientHello,
  records,
  RECORD,
  serverHello,
  sniExtension,
  splitRecords,
  supportedVersionsExtension,
  TLS,
  type Extension,
} from "../harness/tls_bytes.js";

/** Exact values a case must decode to. */
export interface TlsExpect {
  events: string[];
  sni: string | null;
  sniTooLong: boolean;
  alpn: string | null;
  alpnTooLong: boolean;
  alpnCount: number;
  offeredVersion: number;
  version: number | null;
}

export interface TlsInput {
  kind: string;
  steps: TlsSteps;
  expect?: TlsExpect;
  /** A prefix of a corpus capture (its ServerHello or alert cut short): no error, incomplete, a prefix of these events. */
  truncatedOf?: { events: string[] };
}

const INTERESTING = [0x00, 0x01, 0x02, 0x03, 0x04, 0x0a, 0x14, 0x15, 0x16, 0x17, 0x18, 0x1a, 0x20, 0x2b, 0x40, 0x7f, 0x80, 0xfe, 0xff];

function mutate(r: Rng, b: Buffer): Buffer {
  let out = Buffer.from(b);
  for (let n = r.range(1, 8); n > 0 && out.length > 0; n--) {
    const i = r.int(out.length);
    switch (r.int(7)) {
      case 0:
        out[i] = r.int(256);
        break;
      case 1:
        out[i] = r.pick(INTERESTING);
        break;
      case 2: // a length one off
        out[i] = (out[i] + (r.chance(0.5) ? 1 : 255)) & 0xff;
        break;
      case 3:
        out = out.subarray(0, i);
        break;
      case 4: {
        const j = Math.min(out.length, i + r.range(1, 40));
        out = Buffer.concat([out.subarray(0, j), out.subarray(i, j), out.subarray(j)]);
        break;
      }
      case 5:
        out = Buffer.concat([out.subarray(0, i), out.subarray(Math.min(out.length, i + r.range(1, 40)))]);
        break;
      default:
        out = Buffer.concat([out.subarray(0, i), r.bytes(r.range(1, 8)), out.subarray(i)]);
    }
  }
  return out;
}

function randomBytes(r: Rng): TlsInput {
  const prefix = r.pick([
    Buffer.alloc(0),
    Buffer.from([0x16, 0x03, r.int(5)]),
    Buffer.from([0x16, 0x03, 0x01, r.int(0x50), r.int(256), 0x01]),
    Buffer.from("1503030002", "hex"),
    Buffer.from("GET "),
  ]);
  const steps: TlsSteps = [{ dir: "client", bytes: Buffer.concat([prefix, r.bytes(r.int(600))]) }];
  for (let n = r.int(4); n > 0; n--)
    steps.push({
      dir: r.chance(0.5) ? "server" : "client",
      bytes: Buffer.concat([r.chance(0.5) ? Buffer.from([0x16, 0x03, 0x03]) : Buffer.alloc(0), r.bytes(r.int(300))]),
    });
  return { kind: "tls-random", steps };
}

function mutatedCapture(r: Rng, c: TlsCapture): TlsInput {
  const which = r.int(3);
  return {
    kind: "tls-mutated",
    steps: [
      { dir: "client", bytes: which !== 1 ? mutate(r, c.clientBytes) : c.clientBytes },
      { dir: "server", bytes: which !== 0 ? mutate(r, c.serverBytes) : c.serverBytes },
      ...(r.chance(0.3) ? [{ dir: "client" as const, bytes: mutate(r, records(RECORD.appData, r.bytes(r.range(1, 200)))) }] : []),
    ],
  };
}

/** Every record of `stream` holding handshake bytes re-framed into records of random sizes (the same messages). */
function reframe(r: Rng, stream: Buffer): Buffer {
  const out: Buffer[] = [];
  let pending: Buffer[] = [];
  const flush = (version: number) => {
    if (pending.length === 0) return;
    const payload = Buffer.concat(pending);
    const sizes = Array.from({ length: 8 }, () => r.pick([1, 2, 3, 5, 7, 64, 100, 512, 16384, r.range(1, 700)]));
    out.push(records(RECORD.handshake, payload, sizes, version));
    pending = [];
  };
  let version: number = TLS.V1_0;
  for (const rec of splitRecords(stream)) {
    const payload = stream.subarray(rec.at + 5, rec.at + 5 + rec.length);
    if (rec.type === RECORD.handshake) {
      pending.push(payload);
      version = rec.version;
    } else {
      flush(version);
      out.push(stream.subarray(rec.at, rec.at + 5 + rec.length));
    }
  }
  flush(version);
  return Buffer.concat(out);
}

function expectOf(c: TlsCapture): TlsExpect {
  const v = (name: string | null) =>
    name === null ? null : ({ "TLSv1.0": 0x0301, "TLSv1.1": 0x0302, "TLSv1.2": 0x0303, "TLSv1.3": 0x0304 } as Record<string, number>)[name];
  return {
    events: c.expect.events,
    sni: c.expect.sni,
    sniTooLong: false,
    alpn: c.expect.alpn,
    alpnTooLong: false,
    alpnCount: c.expect.alpnCount,
    offeredVersion: v(c.expect.offeredVersion)!,
    version: v(c.expect.version),
  };
}

function reframedCapture(r: Rng, c: TlsCapture): TlsInput {
  return {
    kind: "tls-reframed",
    steps: [
      { dir: "client", bytes: reframe(r, c.clientBytes) },
      { dir: "server", bytes: reframe(r, c.serverBytes) },
    ],
    expect: expectOf(c),
  };
}

function truncatedCapture(r: Rng, c: TlsCapture): TlsInput {
  const cutServer = r.chance(0.5);
  // at least one client byte: a connection that sent nothing is not a handshake at all
  const client = cutServer ? c.clientBytes : c.clientBytes.subarray(0, r.range(1, c.clientBytes.length - 1));
  const server = cutServer ? c.serverBytes.subarray(0, r.int(c.serverBytes.length)) : Buffer.alloc(0);
  return {
    kind: "tls-truncated",
    steps: [{ dir: "client", bytes: client }, ...(server.length ? [{ dir: "server" as const, bytes: server }] : [])],
    truncatedOf: { events: c.expect.events },
  };
}

const PRINTABLE = Buffer.from("abcdefghijklmnopqrstuvwxyz0123456789.-_*ABCXYZ");

function name(r: Rng, len: number): Buffer {
  if (r.chance(0.1)) return r.bytes(len); // any bytes: the decoder keeps them as they are
  const b = Buffer.alloc(len);
  for (let i = 0; i < len; i++) b[i] = r.pick([...PRINTABLE]);
  return b;
}

/** A generated ClientHello and ServerHello, with the values the reference reader finds in them. */
function generated(r: Rng): TlsInput {
  const exts: Extension[] = [];
  const filler = () => extension(r.pick([5, 10, 11, 13, 21, 23, 35, 45, 51, 0x4469, 0xfe0d, 0x0a0a, 0xfafa]), r.bytes(r.pick([0, 1, 2, 30, 300, r.int(2000)])));
  for (let n = r.int(6); n > 0; n--) exts.push(filler());
  if (r.chance(0.8)) {
    const entries: (string | Buffer | { type: number; name: Buffer })[] = [];
    if (r.chance(0.1)) entries.push({ type: r.range(1, 255), name: name(r, r.range(1, 20)) });
    entries.push(name(r, r.pick([1, 9, 63, 254, 255, 256, 300, r.range(1, 400)])));
    if (r.chance(0.1)) entries.push(name(r, r.range(1, 20)));
    exts.push(sniExtension(...entries));
  }
  for (let n = r.int(4); n > 0; n--) exts.push(filler());
  if (r.chance(0.7)) {
    // up to 300 protocols, at most 20,000 bytes of them (the extensions block holds 65,535)
    const protocols: Buffer[] = [];
    let bytes = 0;
    for (let n = r.range(1, r.chance(0.1) ? 300 : 8); n > 0; n--) {
      const p = name(r, r.pick([1, 2, 8, 31, 32, 33, r.range(1, 255)]));
      if (bytes + p.length + 1 > 20_000) break;
      protocols.push(p);
      bytes += p.length + 1;
    }
    exts.push(alpnExtension(protocols));
  }
  if (r.chance(0.7))
    exts.push(
      supportedVersionsExtension(
        Array.from({ length: r.range(1, 8) }, () => r.pick([0x0304, 0x0303, 0x0302, 0x0301, 0x0300, 0x7f1c, 0x0a0a, 0xdada, 0xfafa, r.int(65536)])),
      ),
    );
  for (let n = r.int(3); n > 0; n--) exts.push(filler());
  const order = r.chance(0.3) ? exts.sort(() => r.next() - 0.5) : exts;
  const ch = clientHello({
    version: r.pick([TLS.V1_0, TLS.V1_1, TLS.V1_2, 0x0300]),
    sessionId: r.bytes(r.pick([0, 32, r.int(33)])),
    cipherSuites: Array.from({ length: r.range(1, 100) }, () => r.int(65536)),
    compression: Array.from({ length: r.range(1, 3) }, () => r.int(256)),
    extensions: r.chance(0.05) ? undefined : order,
  });
  const info = parseClientHello(ch.subarray(4));
  const version = r.pick([TLS.V1_2, TLS.V1_3]);
  const sh = serverHello({
    version: TLS.V1_2,
    selected: version === TLS.V1_3 ? TLS.V1_3 : undefined,
    cipherSuite: r.int(65536),
    sessionId: r.bytes(r.pick([0, 32])),
  });
  const retry = version === TLS.V1_3 && r.chance(0.2);
  const sizes = () => [r.pick([1, 5, 100, 16384, r.range(1, 3000)])];
  const steps: TlsSteps = [{ dir: "client", bytes: records(RECORD.handshake, ch, sizes()) }];
  const events = ["client_hello"];
  if (retry) {
    steps.push({ dir: "server", bytes: records(RECORD.handshake, serverHello({ retry: true, selected: TLS.V1_3 }), sizes(), TLS.V1_2) });
    steps.push({ dir: "client", bytes: records(RECORD.handshake, ch, sizes()) });
    events.push("hello_retry_request");
  }
  if (r.chance(0.2)) {
    steps.push({ dir: "server", bytes: alertRecord(1, r.int(256)) });
    events.push("alert");
  }
  steps.push({ dir: "server", bytes: records(RECORD.handshake, sh, sizes(), TLS.V1_2) });
  events.push("server_hello");
  const sniBytes = info.sni === null ? null : Buffer.from(info.sni, "latin1");
  const firstAlpn = info.alpn[0] ?? null;
  return {
    kind: "tls-generated",
    steps,
    expect: {
      events,
      sni: sniBytes === null ? null : sniBytes.subarray(0, 255).toString("latin1"),
      sniTooLong: sniBytes !== null && sniBytes.length > 255,
      alpn: firstAlpn === null ? null : firstAlpn.slice(0, 32),
      alpnTooLong: firstAlpn !== null && firstAlpn.length > 32,
      alpnCount: info.alpn.length,
      offeredVersion: info.offered,
      version,
    },
  };
}

/** One TLS case; `corpus` seeds the mutated, re-framed and truncated kinds. */
export function tlsInput(r: Rng, corpus: TlsCapture[]): TlsInput {
  const k = r.int(100);
  const c = r.pick(corpus);
  if (k < 15) return randomBytes(r);
  if (k < 50) return mutatedCapture(r, c);
  if (k < 65) return reframedCapture(r, c);
  if (k < 75) return truncatedCapture(r, c);
  return generated(r);
}
