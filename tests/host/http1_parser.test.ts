// The HTTP/1.x request parser beyond llhttp's corpus, through the wasm host:
// inputs near its internal bounds, and the corpus mutated at random (seeded),
// which must never trap.

import { describe, expect, test } from "vitest";
import { networkRoot as setup, preAdmit, TCP_REQUESTS as REQS, tcpRequestsStat as key } from "../harness/host_roots.js";
import { CASES, bytesOf } from "../harness/llhttp_corpus.js";

describe("HTTP/1.x request parser: bounds", () => {
  test("Connection options longer than the ones sitio looks for, in any split", () => {
    const { host, root } = setup();
    preAdmit(host, ["/a", "/b"]);
    const stream = "GET /a HTTP/1.1\r\nConnection: keep-alive-and-then-some, closed, upgrade-ish x y\r\n\r\nGET /b HTTP/1.1\r\n\r\n";
    for (let k = 1; k < stream.length; k++) {
      const c = host.connect(root);
      c.downstream(stream.slice(0, k));
      c.downstream(stream.slice(k));
      c.close();
    }
    // none of the options is close: the connection stays open for the second request
    expect(host.value(key("GET", "/a"))).toBe(stream.length - 1);
    expect(host.value(key("GET", "/b"))).toBe(stream.length - 1);
    expect(host.traps).toBe(0);
  });

  test("a method longer than any known one, a long header name, a long target", () => {
    const { host, root } = setup();
    const c = host.connect(root);
    c.downstream(`GET /${"x".repeat(5000)}?q HTTP/1.1\r\n${"X-".repeat(300)}Name: v\r\nTransfer-Encoding-But-Longer: chunked\r\n\r\n`);
    c.downstream("GET_PARAMETERS / HTTP/1.1\r\n\r\n");
    c.close();
    host.flush();
    expect(host.value(key("GET", "other"))).toBe(1);
    expect(host.sum(REQS)).toBe(1);
    expect(host.value("sitio_tcp_unparsed_bytes_total;plugin=p")).toBe(16); // from the 14th method byte on
    expect(host.traps).toBe(0);
  });
});

describe("HTTP/1.x request parser: mutated corpus", () => {
  test("random byte changes to every case, random reads, never a trap", () => {
    let seed = 20261123;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    // bytes the grammar cares about, so mutations reach deep states
    const alphabet = Buffer.from('\r\n \t:;,="\\/?#*@[]0123456789aAfFxX-chunkedCONNECTPRIGETHTTP/1.1\x00\x7f\xff\x0c', "latin1");
    const { host, root } = setup();
    let runs = 0;
    for (let round = 0; round < 12; round++) {
      for (const c of CASES) {
        const b = Buffer.from(bytesOf(c));
        for (let m = rnd(6); m >= 0; m--) {
          const i = rnd(b.length);
          const op = rnd(3);
          if (op === 0) b[i] = alphabet[rnd(alphabet.length)];
          else if (op === 1) b[i] = rnd(256);
          else b.copyWithin(i, rnd(b.length));
        }
        const conn = host.connect(root);
        for (let i = 0; i < b.length; ) {
          const n = 1 + rnd(8);
          conn.downstream(b.subarray(i, i + n));
          i += n;
        }
        conn.upstream("HTTP/1.1 101 Switching Protocols\r\n\r\n");
        conn.downstream(b);
        conn.close();
        runs++;
      }
    }
    expect(runs).toBe(12 * CASES.length);
    expect(host.traps).toBe(0);
    host.flush();
    expect(host.value("sitio_tcp_active_connections;plugin=p")).toBe(0);
  });
});
