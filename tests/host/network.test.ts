// The network filter through the project's own proxy-wasm host: fast checks of
// the compiled module's L4 behaviour (the Envoy tests check the same in Envoy).

import { describe, expect, test } from "vitest";
import { networkRoot as setup, TCP_REQUESTS as REQS, tcpRequestsStat as key } from "../harness/host_roots.js";

const OK = "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";

describe("wasm host: network filter", () => {
  test("every split of a two-request stream into two reads gives exactly two requests", () => {
    const stream = "GET /a?x=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabcPOST /b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n";
    const { host, root } = setup();
    for (let k = 0; k <= stream.length; k++) {
      const c = host.connect(root);
      c.downstream(stream.slice(0, k));
      c.downstream(stream.slice(k));
      c.upstream(OK.repeat(2));
      c.close();
    }
    host.flush();
    const n = stream.length + 1;
    expect(host.value(key("GET", "/a"))).toBe(n);
    expect(host.value(key("POST", "/b"))).toBe(n);
    expect(host.value("sitio_tcp_connections_total;plugin=p")).toBe(n);
    expect(host.value("sitio_tcp_active_connections;plugin=p")).toBe(0);
    expect(host.value("sitio_tcp_unparsed_bytes_total;plugin=p")).toBe(0);
  });

  test("garbage is unparsed, never a request, never a trap", () => {
    const { host, root } = setup();
    const c = host.connect(root);
    c.downstream(Buffer.from([0, 1, 2, 255, 13, 10, 13, 10]));
    c.close();
    host.flush();
    expect(host.sum(REQS)).toBe(0);
    expect(host.value("sitio_tcp_unparsed_bytes_total;plugin=p")).toBe(8);
    expect(host.traps).toBe(0);
  });

  test("the endpoint cap sends new endpoints to other", () => {
    const { host, root } = setup();
    const c = host.connect(root);
    for (let i = 0; i < 150; i++) c.downstream(`GET /e${i} HTTP/1.1\r\n\r\n`);
    c.upstream(OK.repeat(150));
    c.close();
    expect(host.value(key("GET", "other"))).toBe(50);
    expect(host.sum(REQS)).toBe(150);
  });
});
