// The TLS hello decoder (assembly/codec/tls_hello.ts) on byte tables, through
// the test-only module tests/wasm/tls_hello_entry.ts (built in beforeAll into
// build/test/):
// - every corpus capture (tests/fixtures/tls/: real curl, Node, openssl and Go
//   handshakes) decodes to its manifest's values, and gives the very same
//   events (at the same stream offsets) and results fed whole, split in two at
//   every offset of either direction, and one byte per call;
// - every prefix of a capture is an incomplete handshake, never an error;
// - hand-made hellos: limits, GREASE, HelloRetryRequest, alerts, the client's
//   second flight, records of other types first, non-TLS bytes, and
//   malformed or truncated hellos, each with its exact outcome;
// - memory per decoder.

import { beforeAll, describe, expect, test } from "vitest";
import {
  buildTlsHelloWasm,
  decode,
  TLS_HELLO_DEBUG_WASM,
  TlsHelloModule,
  type TlsEventSeen,
  type TlsReport,
  type TlsSteps,
} from "../harness/tls_hello_wasm.js";
import { loadTlsCorpus } from "../harness/tls_corpus.js";
import {
  alertRecord,
  alpnExtension,
  clientHello,
  extension,
  handshake,
  records,
  RECORD,
  serverHello,
  sniExtension,
  supportedVersionsExtension,
  TLS,
  typicalClientHello,
  vec,
  versionName,
} from "../harness/tls_bytes.js";

let m: TlsHelloModule;
beforeAll(() => {
  buildTlsHelloWasm();
  m = new TlsHelloModule();
});

const corpus = loadTlsCorpus();
const hex = (n: number) => `0x${n.toString(16).padStart(4, "0")}`;

type Outcome = { events: TlsEventSeen[]; report: TlsReport };
const client = (bytes: Uint8Array) => ({ dir: "client" as const, bytes });
const server = (bytes: Uint8Array) => ({ dir: "server" as const, bytes });
const hs = (msg: Buffer, sizes?: number[]) => records(RECORD.handshake, msg, sizes);
const names = (o: Outcome) => o.events.map((e) => e.event);

/**
 * Decodes `steps` whole, then with each step split in two at every offset, then one
 * byte per call; every way must give the events and results of the whole run.
 */
function decodeAnySplit(steps: TlsSteps, mod = m): Outcome {
  const whole = decode(mod, steps);
  const same = (o: Outcome, how: string) => {
    expect(o.events, how).toEqual(whole.events);
    expect(o.report, how).toEqual(whole.report);
  };
  steps.forEach((s, i) => {
    for (let k = 1; k < s.bytes.length; k++) {
      same(
        decode(mod, steps, (j, step) => (j === i ? [k, step.bytes.length] : [step.bytes.length])),
        `step ${i} (${s.dir}) split at ${k}`,
      );
    }
  });
  same(
    decode(mod, steps, () => [1]),
    "one byte per call",
  );
  return whole;
}

describe("corpus: real clients' hellos (tests/fixtures/tls)", () => {
  test("the corpus holds every client the issue names", () => {
    expect(corpus.map((c) => c.name)).toEqual(
      expect.arrayContaining([
        "curl-default",
        "curl-tls12",
        "curl-http2",
        "curl-resolve-other",
        "node-default",
        "node-no-sni",
        "node-many-alpn",
        "openssl-tls12",
        "openssl-tls13",
        "openssl-no-sni",
        "openssl-many-alpn",
        "go-pq",
        "go-pq-split-records",
      ]),
    );
    // the post-quantum hello is large, and the split one spans several records
    const pq = corpus.find((c) => c.name === "go-pq")!;
    expect(pq.offered.keyShareGroups).toContain("0x11ec"); // X25519MLKEM768
    expect(pq.offered.clientHelloLength).toBeGreaterThan(1200);
    expect(corpus.find((c) => c.name === "go-pq-split-records")!.records.client.length).toBeGreaterThan(4);
  });

  test.each(corpus.map((c) => [c.name, c] as const))("%s: the manifest's values, the same at every split", (_name, c) => {
    const o = decodeAnySplit([client(c.clientBytes), server(c.serverBytes)]);
    const e = c.expect;
    expect(names(o)).toEqual(e.events);
    expect(o.events[0]).toMatchObject({ dir: "client", event: "client_hello" });
    const r = o.report;
    expect({
      sni: r.sni,
      alpn: r.alpn,
      alpnCount: r.alpnCount,
      clientVersion: versionName(r.clientVersion),
      offeredVersion: versionName(r.offeredVersion),
      version: r.serverHelloDone ? versionName(r.version) : null,
      cipherSuite: r.serverHelloDone ? hex(r.cipherSuite) : null,
      helloRetry: r.helloRetry,
      alert: r.alerts > 0 ? [r.alertLevel, r.alertDescription] : null,
    }).toEqual({
      sni: e.sni,
      alpn: e.alpn,
      alpnCount: e.alpnCount,
      clientVersion: e.clientVersion,
      offeredVersion: e.offeredVersion,
      version: e.version,
      cipherSuite: e.cipherSuite,
      helloRetry: e.helloRetry,
      alert: e.alert,
    });
    expect(r.sniTooLong || r.alpnTooLong).toBe(false);
    expect(r.stopped).toBe(false);
    expect(r.error).toBe("none");
    expect(r.clientHelloDone).toBe(true);
    // the ClientHello event comes with the hello's last byte: the end of the first client
    // record, except when the relay split it (the end of the last fragment)
    const chEnd = c.records.client.slice(0, c.name === "go-pq-split-records" ? c.records.client.length : 1).reduce((t, n) => t + n + 5, 0);
    expect(o.events[0].at).toBe(chEnd);
    // a refused handshake never gets its ServerHello: it stays incomplete
    expect(r.handshakeIncomplete).toBe(e.version === null);
  });

  test.each(corpus.map((c) => [c.name, c] as const))("%s: every prefix is an incomplete handshake, never an error", (_name, c) => {
    const chEnd = c.records.client.slice(0, c.name === "go-pq-split-records" ? c.records.client.length : 1).reduce((t, n) => t + n + 5, 0);
    const d = m.decoder();
    for (let k = 0; k < c.clientBytes.length; k++) {
      d.feed("client", c.clientBytes.subarray(k, k + 1));
      const r = d.report();
      expect(r.stopped).toBe(false);
      expect(r.clientHelloDone).toBe(k + 1 >= chEnd);
      expect(r.handshakeIncomplete).toBe(true);
    }
    for (let k = 0; k < c.serverBytes.length; k++) {
      d.feed("server", c.serverBytes.subarray(k, k + 1));
      const r = d.report();
      expect(r.stopped).toBe(false);
      expect(r.handshakeIncomplete).toBe(!(k + 1 === c.serverBytes.length && c.expect.version !== null));
    }
  });

  test("the debug build (assertions on) decodes the corpus the same, one byte per call", () => {
    const dbg = new TlsHelloModule(TLS_HELLO_DEBUG_WASM);
    for (const c of corpus) {
      const steps = [client(c.clientBytes), server(c.serverBytes)];
      expect(
        decode(dbg, steps, () => [1]),
        c.name,
      ).toEqual(decode(m, steps));
    }
  });
});

describe("hand-made hellos: what is kept", () => {
  test("a TLS 1.0-style ClientHello without extensions: no SNI, no ALPN, the legacy version offered", () => {
    const o = decodeAnySplit([client(hs(clientHello({ version: TLS.V1_0 })))]);
    expect(names(o)).toEqual(["client_hello"]);
    expect(o.report).toMatchObject({ sni: null, alpn: null, alpnCount: 0, clientVersion: TLS.V1_0, offeredVersion: TLS.V1_0, hasSupportedVersions: false });
  });

  test("SNI up to 255 bytes is kept whole; a longer one keeps its first 255 and is flagged", () => {
    for (const [len, tooLong] of [
      [1, false],
      [254, false],
      [255, false],
      [256, true],
      [1000, true],
    ] as const) {
      const name = Array.from({ length: len }, (_, i) => "abcdefghij.-"[i % 12]).join("");
      const o = decode(m, [client(hs(clientHello({ extensions: [sniExtension(name)] })))]);
      expect(o.report.sni).toBe(name.slice(0, 255));
      expect(o.report.sniTooLong, `${len}`).toBe(tooLong);
    }
  });

  test("the first ALPN protocol up to 32 bytes is kept; a longer one keeps 32 and is flagged; every entry is counted", () => {
    const long = "x".repeat(200);
    const o = decodeAnySplit([client(hs(clientHello({ extensions: [alpnExtension([long, "h2", "http/1.1"])] })))]);
    expect(o.report).toMatchObject({ alpn: long.slice(0, 32), alpnTooLong: true, alpnCount: 3 });
    const exact = decode(m, [client(hs(clientHello({ extensions: [alpnExtension(["y".repeat(32)])] })))]);
    expect(exact.report).toMatchObject({ alpn: "y".repeat(32), alpnTooLong: false, alpnCount: 1 });
    const many = Array.from({ length: 5000 }, (_, i) => `p${i}`);
    // 28 KB of ALPN: more than one record holds
    expect(decode(m, [client(records(RECORD.handshake, clientHello({ extensions: [alpnExtension(many)] }), [16384]))]).report).toMatchObject({
      alpn: "p0",
      alpnCount: 5000,
    });
  });

  test("server_name: the first host_name is taken, entries of other types are skipped", () => {
    const o = decodeAnySplit([
      client(hs(clientHello({ extensions: [sniExtension({ type: 7, name: Buffer.from("not-a-host") }, "first.example", "second.example")] }))),
    ]);
    expect(o.report.sni).toBe("first.example");
  });

  test("supported_versions: GREASE is ignored, known versions win over unknown ones, unknown ones still count", () => {
    const offered = (versions: number[], legacy = TLS.V1_2) =>
      decode(m, [client(hs(clientHello({ version: legacy, extensions: [supportedVersionsExtension(versions)] })))]).report.offeredVersion;
    expect(offered([0x7a7a, TLS.V1_3, TLS.V1_2])).toBe(TLS.V1_3);
    expect(offered([0xfafa, TLS.V1_2])).toBe(TLS.V1_2); // 0xfafa is GREASE, not a version above 1.3
    expect(offered([0x7f1c, TLS.V1_2])).toBe(TLS.V1_2); // a TLS 1.3 draft next to 1.2
    expect(offered([0x7f1c])).toBe(0x7f1c);
    expect(offered([0x0a0a, 0x1a1a])).toBe(0); // nothing but GREASE
    expect(offered([TLS.V1_1], TLS.V1_2)).toBe(TLS.V1_1); // the extension, not legacy_version
  });

  test("ServerHello: TLS 1.2 (legacy version, no extensions) and TLS 1.3 (supported_versions)", () => {
    const ch = client(hs(typicalClientHello()));
    const v12 = decodeAnySplit([ch, server(records(RECORD.handshake, serverHello({ version: TLS.V1_2, cipherSuite: 0xc02f }), undefined, TLS.V1_2))]);
    expect(names(v12)).toEqual(["client_hello", "server_hello"]);
    expect(v12.report).toMatchObject({ version: TLS.V1_2, cipherSuite: 0xc02f, serverHelloDone: true, handshakeIncomplete: false });
    const v13 = decodeAnySplit([
      ch,
      server(records(RECORD.handshake, serverHello({ selected: TLS.V1_3, extensions: [extension(51, Buffer.alloc(36, 1))] }), undefined, TLS.V1_2)),
    ]);
    expect(v13.report).toMatchObject({ version: TLS.V1_3, cipherSuite: 0x1301 });
  });

  test("after the ServerHello only record headers are read: the rest of its record, then any records, unread", () => {
    const sh = serverHello({ version: TLS.V1_2 });
    // ServerHello, Certificate and ServerHelloDone in one record, as TLS 1.2 servers send them;
    // the "certificate" bytes would be a malformed hello if they were read
    const flight = Buffer.concat([sh, handshake(11, Buffer.alloc(3000, 0xff)), handshake(14, Buffer.alloc(0))]);
    const o = decodeAnySplit([
      client(hs(typicalClientHello())),
      server(records(RECORD.handshake, flight, undefined, TLS.V1_2)),
      server(records(RECORD.appData, Buffer.alloc(100, 0xaa))),
    ]);
    expect(names(o)).toEqual(["client_hello", "server_hello"]);
    expect(o.report.stopped).toBe(false);
  });

  test("HelloRetryRequest, then the ServerHello after the client's second hello", () => {
    const o = decodeAnySplit([
      client(hs(typicalClientHello({ sni: "retry.example" }))),
      server(records(RECORD.handshake, serverHello({ retry: true, selected: TLS.V1_3 }), undefined, TLS.V1_2)),
      server(records(RECORD.ccs, Buffer.from([1]), undefined, TLS.V1_2)),
      client(records(RECORD.ccs, Buffer.from([1]), undefined, TLS.V1_2)),
      client(hs(typicalClientHello({ sni: "ignored.example" }))),
      server(records(RECORD.handshake, serverHello({ selected: TLS.V1_3, cipherSuite: 0x1303 }), undefined, TLS.V1_2)),
    ]);
    expect(names(o)).toEqual(["client_hello", "hello_retry_request", "server_hello"]);
    expect(o.report).toMatchObject({ sni: "retry.example", helloRetry: true, version: TLS.V1_3, cipherSuite: 0x1303, serverHelloDone: true });
  });

  test("a second HelloRetryRequest is malformed", () => {
    const hrr = server(records(RECORD.handshake, serverHello({ retry: true, selected: TLS.V1_3 })));
    const o = decodeAnySplit([client(hs(typicalClientHello())), hrr, hrr]);
    expect(o.events.map((e) => [e.event, e.error])).toEqual([
      ["client_hello", undefined],
      ["hello_retry_request", undefined],
      ["malformed", "second_retry"],
    ]);
  });

  test("alerts: plaintext level and description, either way; a protected alert has none; reading goes on", () => {
    const o = decodeAnySplit([
      client(hs(typicalClientHello())),
      server(alertRecord(1, 112)), // warning, unrecognized_name
      server(records(RECORD.handshake, serverHello({ version: TLS.V1_2 }))),
      client(alertRecord(2, 48)), // fatal, unknown_ca: a TLS 1.2 client rejecting the certificate
      client(records(RECORD.alert, Buffer.alloc(26, 0x5a))), // protected (after change_cipher_spec)
    ]);
    expect(o.events.map((e) => [e.dir, e.event, e.alert])).toEqual([
      ["client", "client_hello", undefined],
      ["server", "alert", [1, 112]],
      ["server", "server_hello", undefined],
      ["client", "client_second_flight", undefined],
      ["client", "alert", [2, 48]],
      ["client", "alert", [-1, -1]],
    ]);
    expect(o.report).toMatchObject({ alerts: 3, stopped: false });
  });

  test("the client's second flight is reported once, at its first record header", () => {
    const o = decodeAnySplit([
      client(hs(typicalClientHello())),
      server(records(RECORD.handshake, serverHello({ selected: TLS.V1_3 }))),
      server(records(RECORD.appData, Buffer.alloc(700, 1))),
      client(Buffer.concat([records(RECORD.ccs, Buffer.from([1])), records(RECORD.appData, Buffer.alloc(53, 2))])),
      client(records(RECORD.appData, Buffer.alloc(300, 3))),
    ]);
    const second = o.events.filter((e) => e.event === "client_second_flight");
    expect(second).toEqual([{ dir: "client", event: "client_second_flight", at: o.events[0].at + 5 }]);
    expect(o.report.clientSecondFlight).toBe(true);
  });

  test("stop(): every later byte passes unread, no events", () => {
    const d = m.decoder();
    d.stop();
    expect(d.feed("client", hs(typicalClientHello()))).toEqual([]);
    expect(d.report()).toMatchObject({ stopped: true, clientHelloDone: false, handshakeIncomplete: false, error: "none" });
  });
});

describe("hand-made hellos: not TLS, records of other types first", () => {
  const first = (bytes: Buffer, dir: "client" | "server" = "client") => {
    const steps = dir === "client" ? [client(bytes)] : [client(hs(typicalClientHello())), server(bytes)];
    const o = decodeAnySplit(steps);
    return o.events.filter((e) => e.dir === dir).map((e) => [e.event, e.error ?? (e.alert ? e.alert.join("/") : ""), e.at]);
  };

  test("HTTP, an SSLv2-style ClientHello, a PROXY header, a non-3 record version, an oversized record: NotTls at the first telling byte", () => {
    expect(first(Buffer.from("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))).toEqual([["not_tls", "record_type", 1]]);
    // SSLv2-compatible ClientHello (RFC 5246 appendix E.2): a 2-byte length with the top bit set
    expect(first(Buffer.from("802e0103010015000000100000040000050000ff0a0b0c0d0e0f101112131415161718191a", "hex"))).toEqual([["not_tls", "record_type", 1]]);
    expect(first(Buffer.from("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n"))).toEqual([["not_tls", "record_type", 1]]);
    expect(first(Buffer.from("1602010010", "hex"))).toEqual([["not_tls", "record_version", 2]]);
    expect(first(Buffer.from("1603014801", "hex"))).toEqual([["not_tls", "record_length", 5]]); // 18433 > 16384 + 2048
    expect(first(Buffer.from("1603014800" + "01", "hex"))).toEqual([]); // 18432 is allowed (and waits for more)
  });

  test("the client's first record: change_cipher_spec, application data, heartbeat are NotTls; a handshake other than ClientHello too", () => {
    expect(first(records(RECORD.ccs, Buffer.from([1])))).toEqual([["not_tls", "record_type", 1]]);
    expect(first(records(RECORD.appData, Buffer.alloc(10)))).toEqual([["not_tls", "record_type", 1]]);
    expect(first(records(RECORD.heartbeat, Buffer.alloc(10)))).toEqual([["not_tls", "record_type", 1]]);
    expect(first(hs(serverHello()))).toEqual([["not_tls", "handshake_type", 6]]);
  });

  test("an alert before the ClientHello is an alert, and the ClientHello after it is read", () => {
    expect(first(Buffer.concat([alertRecord(1, 90), hs(typicalClientHello({ sni: "after.alert" }))]))).toEqual([
      ["alert", "1/90", 7],
      ["client_hello", "", 7 + hs(typicalClientHello({ sni: "after.alert" })).length],
    ]);
  });

  test("the server's first record: non-TLS bytes are NotTls (a plaintext upstream), change_cipher_spec before any hello too; application data later is malformed", () => {
    expect(first(Buffer.from("HTTP/1.1 400 Bad Request\r\n\r\n"), "server")).toEqual([["not_tls", "record_type", 1]]);
    expect(first(records(RECORD.ccs, Buffer.from([1])), "server")).toEqual([["not_tls", "record_type", 1]]);
    expect(first(Buffer.concat([alertRecord(1, 0), records(RECORD.appData, Buffer.alloc(4))]), "server")).toEqual([
      ["alert", "1/0", 7],
      ["malformed", "record_type", 8],
    ]);
    expect(first(hs(handshake(11, Buffer.alloc(40))), "server")).toEqual([["malformed", "handshake_type", 6]]);
  });

  test("after NotTls nothing more is read, either way", () => {
    const o = decode(m, [client(Buffer.from("GET /")), client(hs(typicalClientHello())), server(records(RECORD.handshake, serverHello()))]);
    expect(names(o)).toEqual(["not_tls"]);
    expect(o.report).toMatchObject({ stopped: true, clientHelloDone: false, handshakeIncomplete: false });
  });
});

describe("hand-made hellos: malformed and truncated", () => {
  /** A ClientHello body: one cipher suite, no session id, SNI; its extensions block starts at EXTS. */
  const good = clientHello({ cipherSuites: [0x1301], extensions: [sniExtension("m.example")] }).subarray(4);
  const extsAt = 2 + 32 + 1 + 2 + 2 + 1 + 1;
  /** The outcome of one ClientHello body, framed as one record. */
  const body = (b: Buffer) => decodeAnySplit([client(hs(handshake(1, b)))]);
  const errorOf = (o: Outcome) => o.events.map((e) => (e.event === "malformed" || e.event === "not_tls" ? `${e.event}:${e.error}` : e.event));

  test("the reference hello decodes", () => {
    expect(errorOf(body(good))).toEqual(["client_hello"]);
  });

  test("lengths that do not add up", () => {
    // extensions block longer, then shorter, than what the message holds
    expect(good.readUInt16BE(extsAt)).toBe(good.length - extsAt - 2);
    const longer = Buffer.from(good);
    longer.writeUInt16BE(longer.readUInt16BE(extsAt) + 1, extsAt);
    expect(errorOf(body(longer))).toEqual(["malformed:length"]);
    const shorter = Buffer.from(good);
    shorter.writeUInt16BE(shorter.readUInt16BE(extsAt) - 1, extsAt);
    expect(errorOf(body(shorter))).toEqual(["malformed:length"]);
    // bytes after the last extension
    expect(errorOf(body(Buffer.concat([good, Buffer.from([0])])))).toEqual(["malformed:length"]);
    // cipher suites longer than the message
    const cs = Buffer.from(good);
    cs.writeUInt16BE(0x4000, 2 + 32 + 1);
    expect(errorOf(body(cs))).toEqual(["malformed:length"]);
    // an extension longer than the block
    const ext = Buffer.from(good);
    ext.writeUInt16BE(0x0100, extsAt + 4);
    expect(errorOf(body(ext))).toEqual(["malformed:length"]);
    // the message shorter than its fixed fields
    expect(errorOf(body(good.subarray(0, 20)))).toEqual(["malformed:length"]);
    // server_name list length not matching its extension
    const sni = clientHello({
      cipherSuites: [0x1301],
      extensions: [extension(0, Buffer.concat([Buffer.from([0, 6]), Buffer.from([0, 0, 2]), Buffer.from("ab")]))],
    }).subarray(4);
    expect(errorOf(body(sni))).toEqual(["malformed:length"]);
    // a host_name longer than its list
    expect(errorOf(body(clientHello({ cipherSuites: [0x1301], extensions: [extension(0, vec(2, Buffer.from([0, 0, 9, 0x61])))] }).subarray(4)))).toEqual([
      "malformed:length",
    ]);
    // ALPN list shorter, then longer, than its extension
    expect(errorOf(body(clientHello({ cipherSuites: [0x1301], extensions: [extension(16, Buffer.from([0, 3, 2, 0x68, 0x32, 0]))] }).subarray(4)))).toEqual([
      "malformed:length",
    ]);
    expect(errorOf(body(clientHello({ cipherSuites: [0x1301], extensions: [extension(16, Buffer.from([0, 4, 2, 0x68, 0x32]))] }).subarray(4)))).toEqual([
      "malformed:length",
    ]);
    // supported_versions list not filling its extension
    expect(errorOf(body(clientHello({ cipherSuites: [0x1301], extensions: [extension(43, Buffer.from([2, 3, 4, 3, 3]))] }).subarray(4)))).toEqual([
      "malformed:length",
    ]);
  });

  test("values the format forbids", () => {
    expect(errorOf(body(clientHello({ sessionId: Buffer.alloc(33) }).subarray(4)))).toEqual(["malformed:value"]);
    expect(errorOf(body(clientHello({ sessionId: Buffer.alloc(32) }).subarray(4)))).toEqual(["client_hello"]);
    const odd = Buffer.from(clientHello({ cipherSuites: [0x1301, 0x1302] }).subarray(4));
    odd.writeUInt16BE(3, 2 + 32 + 1);
    expect(errorOf(body(odd))).toEqual(["malformed:value"]);
    expect(errorOf(body(clientHello({ cipherSuites: [], extensions: [sniExtension("long.enough")] }).subarray(4)))).toEqual(["malformed:value"]);
    expect(errorOf(body(clientHello({ compression: [] }).subarray(4)))).toEqual(["malformed:value"]);
    expect(errorOf(body(clientHello({ extensions: [alpnExtension(["h2", ""])] }).subarray(4)))).toEqual(["malformed:value"]);
    expect(errorOf(body(clientHello({ extensions: [sniExtension("")] }).subarray(4)))).toEqual(["malformed:value"]);
    expect(errorOf(body(clientHello({ version: 0x0201 }).subarray(4)))).toEqual(["malformed:value"]);
    expect(errorOf(body(clientHello({ extensions: [sniExtension("a.example"), sniExtension("b.example")] }).subarray(4)))).toEqual(["malformed:duplicate"]);
    expect(errorOf(body(clientHello({ extensions: [alpnExtension(["h2"]), alpnExtension(["h2"])] }).subarray(4)))).toEqual(["malformed:duplicate"]);
    // the same unknown extension twice is not the decoder's business
    expect(errorOf(body(clientHello({ extensions: [extension(0x4469, Buffer.alloc(2)), extension(0x4469, Buffer.alloc(2))] }).subarray(4)))).toEqual([
      "client_hello",
    ]);
  });

  test("record framing: empty handshake, alert and change_cipher_spec records, another record type inside a hello", () => {
    const ch = typicalClientHello();
    expect(errorOf(decodeAnySplit([client(Buffer.concat([records(RECORD.handshake, ch.subarray(0, 50)), Buffer.from("1603010000", "hex")]))]))).toEqual([
      "malformed:record_length",
    ]);
    expect(errorOf(decodeAnySplit([client(Buffer.concat([records(RECORD.handshake, ch.subarray(0, 50)), alertRecord(2, 10)]))]))).toEqual([
      "malformed:interleaved",
    ]);
    expect(errorOf(decodeAnySplit([client(Buffer.from("1503010000", "hex"))]))).toEqual(["malformed:record_length"]);
    // a ClientHello in 60 one-byte records is fine
    expect(errorOf(decodeAnySplit([client(records(RECORD.handshake, ch, [1]))]))).toEqual(["client_hello"]);
  });

  test("truncated: a hello cut short, then the connection ends: incomplete, no error", () => {
    const ch = hs(typicalClientHello());
    for (const cut of [1, 5, 6, 9, 40, ch.length - 1]) {
      const o = decodeAnySplit([client(ch.subarray(0, cut))]);
      expect(o.events).toEqual([]);
      expect(o.report).toMatchObject({ stopped: false, clientHelloDone: false, handshakeIncomplete: true });
    }
    const o = decodeAnySplit([client(ch), server(records(RECORD.handshake, serverHello({ selected: TLS.V1_3 })).subarray(0, 30))]);
    expect(o.report).toMatchObject({ clientHelloDone: true, serverHelloDone: false, handshakeIncomplete: true });
  });

  test("a hello longer than any ClientHello can be, and the largest one that can", () => {
    // message length 0x020345 > 131396
    expect(errorOf(decodeAnySplit([client(Buffer.from("16030100040102034500", "hex").subarray(0, 9))]))).toEqual(["malformed:length"]);
    // every vector at its maximum, spread over records of 16384 bytes
    const big = clientHello({
      sessionId: Buffer.alloc(32),
      cipherSuites: Array.from({ length: 32767 }, (_, i) => i),
      compression: Array.from({ length: 255 }, (_, i) => i),
      extensions: [extension(0xffff, Buffer.alloc(65531))],
    });
    expect(big.length - 4).toBe(2 + 32 + 33 + 2 + 65534 + 1 + 255 + 2 + 65535);
    const o = decode(m, [client(records(RECORD.handshake, big, [16384]))]);
    expect(names(o)).toEqual(["client_hello"]);
  });
});

describe("memory", () => {
  test("a decoder costs under 1 KiB of wasm memory, and the memory is reused once they are freed", () => {
    const mod = new TlsHelloModule();
    // The allocator about doubles the memory when it grows, so the cost of one decoder is
    // the slope between two growth steps: bytes added by a step ÷ decoders made until the next.
    const steps: { decoders: number; bytes: number }[] = [];
    let last = mod.memoryBytes;
    let made = 0;
    while (steps.length < 5 && made < 200_000) {
      mod.decoder();
      made++;
      if (mod.memoryBytes !== last) {
        steps.push({ decoders: made, bytes: last });
        last = mod.memoryBytes;
      }
    }
    expect(steps.length).toBe(5);
    const perDecoder = (steps[4].bytes - steps[3].bytes) / (steps[4].decoders - steps[3].decoders);
    console.log(
      `tls_hello: ${perDecoder.toFixed(0)} B of wasm memory per decoder (growth steps at ${steps.map((x) => x.decoders).join(", ")} decoders; the handle table's 4 B included)`,
    );
    expect(perDecoder).toBeLessThan(1024);
    const grown = mod.memoryBytes;
    mod.clear();
    for (let i = 0; i < made; i++) mod.decoder();
    expect(mod.memoryBytes).toBe(grown);
  });
});
