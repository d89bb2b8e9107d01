// The TLS protocol of the network filter through the project's own proxy-wasm
// host: every handshake of the real-client corpus (tests/fixtures/tls/), fed
// whole, split in two anywhere and a byte at a time, must give the same exact
// series; failures (alerts, non-TLS bytes, handshakes cut short, malformed
// hellos) are counted by reason and the bytes pass untouched.
// tests/envoy/tls.test.ts checks the same series in Envoy with the real clients.

import { describe, expect, test } from "vitest";
import { ProxyWasmHost, type Connection } from "../harness/proxy_wasm_host.js";
import { loadTlsCorpus } from "../harness/tls_corpus.js";

const PLUGIN = "t";
const TLS = JSON.stringify({ protocol: "tls" });
const US = 1000n;

const connections = (alpn: string, sni: string) => `sitio_tls_connections_total;alpn=${alpn};sni=${sni};plugin=${PLUGIN}`;
const duration = (alpn: string, sni: string) => `sitio_tls_handshake_duration_microsecond;alpn=${alpn};sni=${sni};plugin=${PLUGIN}`;
const handshakes = (sni: string, version: string) => `sitio_tls_handshakes_total;sni=${sni};tls_version=${version};plugin=${PLUGIN}`;
const failures = (reason: string) => `sitio_tls_handshake_failures_total;reason=${reason};plugin=${PLUGIN}`;
const rx = (sni: string) => `sitio_tls_rx_bytes_total;sni=${sni};plugin=${PLUGIN}`;
const tx = (sni: string) => `sitio_tls_tx_bytes_total;sni=${sni};plugin=${PLUGIN}`;
const tcp = (name: string) => `sitio_tcp_${name};plugin=${PLUGIN}`;

/** What each capture must be counted as, written out by hand (the label policy, not the decoder's output, decides these). */
const EXPECTED: Record<string, { alpn: string; sni: string; version: string | null; failure?: string }> = {
  "curl-default": { alpn: "h2", sni: "localhost", version: "TLSv1.3" },
  "curl-tls12": { alpn: "h2", sni: "localhost", version: "TLSv1.2" },
  "curl-http2": { alpn: "h2", sni: "localhost", version: "TLSv1.3" },
  "curl-resolve-other": { alpn: "h2", sni: "other.sitio.test", version: "TLSv1.3" },
  "node-default": { alpn: "none", sni: "localhost", version: "TLSv1.3" },
  "node-no-sni": { alpn: "none", sni: "none", version: "TLSv1.3" },
  "node-many-alpn": { alpn: "http/0.9", sni: "localhost", version: "TLSv1.3" },
  "openssl-tls12": { alpn: "none", sni: "localhost", version: "TLSv1.2" },
  "openssl-tls13": { alpn: "none", sni: "localhost", version: "TLSv1.3" },
  "openssl-no-sni": { alpn: "none", sni: "none", version: "TLSv1.3" },
  "openssl-many-alpn": { alpn: "http/0.9", sni: "localhost", version: "TLSv1.3" },
  "openssl-hello-retry": { alpn: "none", sni: "localhost", version: "TLSv1.3" },
  // the server refuses TLS 1.1 with a protocol_version alert: no evidence for the name, so `other`
  "openssl-tls11-refused": { alpn: "none", sni: "other", version: null, failure: "alert_protocol_version" },
  "go-pq": { alpn: "h2", sni: "localhost", version: "TLSv1.3" },
  "go-pq-split-records": { alpn: "h2", sni: "localhost", version: "TLSv1.3" },
};

const corpus = loadTlsCorpus();

function setup(config = TLS) {
  const host = new ProxyWasmHost();
  const root = host.createRoot("sitio_network", PLUGIN, config);
  return { host, root };
}

/** Sends `bytes` in the given pieces; every upstream piece must come back to the client unchanged. */
function feed(c: Connection, dir: "down" | "up", bytes: Buffer, cuts: number[]): void {
  const at = [0, ...cuts.filter((x) => x > 0 && x < bytes.length), bytes.length];
  for (let i = 1; i < at.length; i++) {
    const piece = bytes.subarray(at[i - 1], at[i]);
    if (dir === "down") c.downstream(piece);
    else expect(c.upstream(piece)).toEqual(piece);
  }
}

/** Every TLS series of the plugin, by stat name (after the tick publishes the byte counts). */
function tlsSeries(host: ProxyWasmHost): Record<string, number> {
  host.flush();
  const out: Record<string, number> = {};
  for (const m of host.metrics.values()) {
    if (!m.name.startsWith("sitio_tls_")) continue;
    const v = m.type === 2 /* histogram */ ? m.samples.length : m.value;
    if (v !== 0) out[m.name] = v;
  }
  return out;
}

/** Application data after the handshake, both ways: opaque records sitio never reads. */
const APP_UP = Buffer.concat([Buffer.from([23, 3, 3, 0, 40]), Buffer.alloc(40, 0xaa)]);
const APP_DOWN = Buffer.concat([Buffer.from([23, 3, 3, 0, 100]), Buffer.alloc(100, 0xbb)]);

/** One handshake of `capture`, its client and server flights cut at `cuts`, with 10 ms between them; then app data, then the close. */
function handshake(host: ProxyWasmHost, root: number, name: string, clientCuts: number[] = [], serverCuts: number[] = []): void {
  const cap = corpus.find((c) => c.name === name)!;
  const c = host.connect(root);
  feed(c, "down", cap.clientBytes, clientCuts);
  host.nowNs += 10_000n * US;
  feed(c, "up", cap.serverBytes, serverCuts);
  if (EXPECTED[name].version !== null) {
    c.downstream(APP_UP);
    expect(c.upstream(APP_DOWN)).toEqual(APP_DOWN);
  }
  c.close();
}

function expectedSeries(name: string): Record<string, number> {
  const cap = corpus.find((c) => c.name === name)!;
  const e = EXPECTED[name];
  const done = e.version !== null;
  const rxBytes = cap.clientBytes.length + (done ? APP_UP.length : 0);
  const txBytes = cap.serverBytes.length + (done ? APP_DOWN.length : 0);
  const out: Record<string, number> = {
    [connections(e.alpn, e.sni)]: 1,
    [rx(e.sni)]: rxBytes,
    [tx(e.sni)]: txBytes,
  };
  if (done) {
    out[duration(e.alpn, e.sni)] = 1;
    out[handshakes(e.sni, e.version!)] = 1;
  }
  if (e.failure) out[failures(e.failure)] = 1;
  return out;
}

describe("wasm host: TLS protocol, the real-client corpus", () => {
  test("every capture is in the table", () => {
    expect(corpus.map((c) => c.name).sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  for (const cap of corpus) {
    test(`${cap.name}: exact series, whole, split anywhere, and a byte at a time`, () => {
      const want = expectedSeries(cap.name);
      const whole = setup();
      handshake(whole.host, whole.root, cap.name);
      expect(tlsSeries(whole.host)).toEqual(want);
      expect(whole.host.value(tcp("unparsed_bytes_total"))).toBe(0);
      if (EXPECTED[cap.name].version !== null)
        expect(whole.host.metrics.get(duration(EXPECTED[cap.name].alpn, EXPECTED[cap.name].sni))!.samples).toEqual([10_000]);

      // every two-piece split of the client flight, then of the server flight, on one plugin: each adds the same series
      const { host, root } = setup();
      let k = 0;
      for (const dir of ["down", "up"] as const) {
        const bytes = dir === "down" ? cap.clientBytes : cap.serverBytes;
        // every offset; past 1 KiB every 4th, and every offset near a record boundary
        const near = recordBoundaries(bytes);
        for (let at = 1; at < bytes.length; at++) {
          if (bytes.length > 1024 && at % 4 !== 0 && !near.has(at)) continue;
          if (dir === "down") handshake(host, root, cap.name, [at], []);
          else handshake(host, root, cap.name, [], [at]);
          k++;
        }
      }
      expect(tlsSeries(host)).toEqual(Object.fromEntries(Object.entries(want).map(([n, v]) => [n, v * k])));
      const bytewise = setup();
      const every = (n: number) => Array.from({ length: n }, (_, i) => i);
      handshake(bytewise.host, bytewise.root, cap.name, every(cap.clientBytes.length), every(cap.serverBytes.length));
      expect(tlsSeries(bytewise.host)).toEqual(want);
    });
  }

  test("all captures on one plugin: the counts add up by name, version and ALPN", () => {
    const { host, root } = setup();
    const want: Record<string, number> = {};
    // the refused handshake first: `localhost` is admitted only by a later ServerHello
    const order = ["openssl-tls11-refused", ...Object.keys(EXPECTED).filter((n) => n !== "openssl-tls11-refused")];
    for (const name of order) {
      handshake(host, root, name);
      for (const [k, v] of Object.entries(expectedSeries(name))) want[k] = (want[k] ?? 0) + v;
    }
    const got = tlsSeries(host);
    console.log(
      `all ${order.length} captures on one plugin:\n` +
        Object.entries(got)
          .map(([k, v]) => `  ${k} ${v}`)
          .join("\n"),
    );
    expect(got).toEqual(want);
    expect(host.value(tcp("connections_total"))).toBe(order.length);
    expect(host.value(tcp("active_connections"))).toBe(0);
  });
});

describe("wasm host: TLS failures, counted by reason, bytes untouched", () => {
  const curl = corpus.find((c) => c.name === "curl-default")!;

  test("HTTP bytes on a TLS listener: not_tls, every byte unparsed, nothing else counted", () => {
    const { host, root } = setup();
    const c = host.connect(root);
    const req = Buffer.from("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    c.downstream(req);
    expect(c.upstream("HTTP/1.1 400 Bad Request\r\n\r\n")).toEqual(Buffer.from("HTTP/1.1 400 Bad Request\r\n\r\n"));
    c.downstream(req);
    c.close();
    expect(tlsSeries(host)).toEqual({ [failures("not_tls")]: 1 });
    expect(host.value(tcp("unparsed_bytes_total"))).toBe(2 * req.length);
    expect(host.value(tcp("rx_bytes_total"))).toBe(2 * req.length);
  });

  test("a ClientHello cut short by the client's close: incomplete, under `other` until a ServerHello admits the name", () => {
    const { host, root } = setup();
    const c = host.connect(root);
    c.downstream(curl.clientBytes.subarray(0, 100));
    c.close();
    expect(tlsSeries(host)).toEqual({ [failures("incomplete")]: 1 });
    // a whole ClientHello and then the close, no answer: the connection counts, under `other`
    const d = host.connect(root);
    d.downstream(curl.clientBytes);
    d.close();
    expect(tlsSeries(host)).toEqual({
      [failures("incomplete")]: 2,
      [connections("h2", "other")]: 1,
      [rx("other")]: curl.clientBytes.length,
    });
  });

  test("a ServerHello admits its name: later connections to it count under it at once", () => {
    const { host, root } = setup();
    handshake(host, root, "curl-default");
    const c = host.connect(root);
    c.downstream(curl.clientBytes);
    c.close();
    expect(tlsSeries(host)[connections("h2", "localhost")]).toBe(2);
    expect(tlsSeries(host)[failures("incomplete")]).toBe(1);
  });

  test("a malformed hello (a length that does not add up): malformed, its bytes unparsed and passed", () => {
    const { host, root } = setup();
    const c = host.connect(root);
    const bad = Buffer.from(curl.clientBytes);
    // record header (5), message type and length (4), legacy_version (2), random (32): then the session id's length, at most 32
    bad[5 + 4 + 2 + 32] = 33;
    c.downstream(bad);
    expect(c.upstream(curl.serverBytes)).toEqual(curl.serverBytes);
    c.close();
    expect(tlsSeries(host)).toEqual({ [failures("malformed")]: 1 });
    expect(host.value(tcp("unparsed_bytes_total"))).toBe(bad.length);
  });

  test("a client alert in its second flight (TLS 1.2: the client refused the certificate): alert_<description>, after the handshake counted", () => {
    const { host, root } = setup();
    const cap = corpus.find((c) => c.name === "curl-tls12")!;
    const c = host.connect(root);
    c.downstream(cap.clientBytes);
    c.upstream(cap.serverBytes);
    const alert = Buffer.from([21, 3, 3, 0, 2, 2, 48]); // fatal unknown_ca
    c.downstream(alert);
    c.close();
    expect(tlsSeries(host)).toEqual({
      [connections("h2", "localhost")]: 1,
      [duration("h2", "localhost")]: 1,
      [handshakes("localhost", "TLSv1.2")]: 1,
      [failures("alert_unknown_ca")]: 1,
      [rx("localhost")]: cap.clientBytes.length + alert.length,
      [tx("localhost")]: cap.serverBytes.length,
    });
  });

  test("after the handshake nothing is read: a client flight of any size costs no unparsed bytes and no failure", () => {
    const { host, root } = setup();
    const cap = corpus.find((c) => c.name === "openssl-tls13")!;
    const c = host.connect(root);
    c.downstream(cap.clientBytes);
    c.upstream(cap.serverBytes);
    const ccs = Buffer.from([20, 3, 3, 0, 1, 1]);
    c.downstream(Buffer.concat([ccs, APP_UP]));
    const junk = Buffer.alloc(70_000, 0x5a); // not records at all: nobody looks any more
    c.downstream(junk);
    expect(c.upstream(junk)).toEqual(junk);
    c.close();
    const got = tlsSeries(host);
    expect(got[failures("malformed")]).toBeUndefined();
    expect(got[rx("localhost")]).toBe(cap.clientBytes.length + ccs.length + APP_UP.length + junk.length);
    expect(host.value(tcp("unparsed_bytes_total"))).toBe(0);
  });

  test("labels: SNI lower-cased and escaped, an unregistered ALPN is `other`, a name that is a reserved word is escaped", () => {
    // ClientHellos built by hand: SNI and ALPN chosen, everything else minimal
    const cases: [string, string, string, string][] = [
      ["Example.COM", "h2", "example.com", "h2"],
      ["other", "spdy/3", "%6Fther", "spdy/3"],
      ['a;b"c', "my-proto", "a%3Bb%22c", "other"],
      ["tr.", "h3", "tr%2E", "h3"],
    ];
    for (const [name, alpn, sniLabel, alpnLabel] of cases) {
      const { host, root } = setup();
      const c = host.connect(root);
      c.downstream(clientHello(name, [alpn]));
      c.upstream(serverHello13());
      c.close();
      expect(tlsSeries(host)[connections(alpnLabel, sniLabel)]).toBe(1);
      expect(tlsSeries(host)[handshakes(sniLabel, "TLSv1.3")]).toBe(1);
    }
  });

  test("configuration: endpoints.collapse and custom_404 are refused for tls; max_distinct caps the names", () => {
    const host = new ProxyWasmHost();
    expect(host.tryCreateRoot("sitio_network", PLUGIN, JSON.stringify({ protocol: "tls", endpoints: { collapse: ["numbers"] } }))).toBeNull();
    expect(host.logs.at(-1)!.message).toBe(
      `sitio: plugin ${PLUGIN}: invalid configuration: "endpoints.collapse" does not apply to protocol "tls": its endpoints are server names, not paths`,
    );
    expect(host.tryCreateRoot("sitio_network", PLUGIN, JSON.stringify({ protocol: "tls", custom_404: { body: "x" } }))).toBeNull();
    const { host: h2, root } = setup(JSON.stringify({ protocol: "tls", endpoints: { max_distinct: 2 } }));
    for (const n of ["a.test", "b.test", "c.test", "d.test"]) {
      const c = h2.connect(root);
      c.downstream(clientHello(n, ["h2"]));
      c.upstream(serverHello13());
      c.close();
    }
    const got = tlsSeries(h2);
    expect(
      Object.keys(got)
        .filter((k) => k.startsWith("sitio_tls_handshakes_total"))
        .sort(),
    ).toEqual([handshakes("a.test", "TLSv1.3"), handshakes("b.test", "TLSv1.3"), handshakes("other", "TLSv1.3")]);
    expect(got[handshakes("other", "TLSv1.3")]).toBe(2);
  });
});

/** Offsets within 8 bytes of a record's start (its header and the start of its payload). */
function recordBoundaries(bytes: Buffer): Set<number> {
  const near = new Set<number>();
  for (let at = 0; at + 5 <= bytes.length; at += 5 + bytes.readUInt16BE(at + 3)) {
    for (let d = -8; d <= 8; d++) near.add(at + d);
  }
  return near;
}

// ---------------------------------------------------------------- hand-made hellos

function u16(n: number): Buffer {
  return Buffer.from([n >> 8, n & 255]);
}

function vec16(b: Buffer): Buffer {
  return Buffer.concat([u16(b.length), b]);
}

function record(type: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([type, 3, 1]), u16(body.length), body]);
}

function handshakeMessage(type: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([type, body.length >> 16, (body.length >> 8) & 255, body.length & 255]), body]);
}

function extension(type: number, body: Buffer): Buffer {
  return Buffer.concat([u16(type), vec16(body)]);
}

/** A TLS 1.3 ClientHello offering `alpn`, for server name `sni`. */
function clientHello(sni: string, alpn: string[]): Buffer {
  const name = Buffer.from(sni, "latin1");
  const serverName = vec16(Buffer.concat([Buffer.from([0]), vec16(name)]));
  const protocols = vec16(Buffer.concat(alpn.map((p) => Buffer.concat([Buffer.from([p.length]), Buffer.from(p, "latin1")]))));
  const versions = Buffer.from([2, 3, 4]);
  const exts = Buffer.concat([extension(0, serverName), extension(16, protocols), extension(43, versions)]);
  const body = Buffer.concat([u16(0x0303), Buffer.alloc(32, 7), Buffer.from([0]), vec16(u16(0x1301)), Buffer.from([1, 0]), vec16(exts)]);
  return record(22, handshakeMessage(1, body));
}

/** A ServerHello choosing TLS 1.3. */
function serverHello13(): Buffer {
  const exts = extension(43, u16(0x0304));
  const body = Buffer.concat([u16(0x0303), Buffer.alloc(32, 9), Buffer.from([0]), u16(0x1301), Buffer.from([0]), vec16(exts)]);
  return record(22, handshakeMessage(2, body));
}
