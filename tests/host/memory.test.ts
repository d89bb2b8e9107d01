// The cost contract of the compiled module (see assembly/abi/): which callbacks
// Envoy has to enter, and host copies served from one reused block.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { ProxyWasmHost, ROOT } from "../harness/proxy_wasm_host.js";

const REQS = "sitio_tcp_requests_total";

describe("wasm host: cost contract", () => {
  test("the module leaves out the callbacks it has no work for (Envoy then skips them)", () => {
    for (const file of ["build/sitio.wasm", "build/sitio.debug.wasm"]) {
      const names = WebAssembly.Module.exports(new WebAssembly.Module(readFileSync(join(ROOT, file)))).map((e) => e.name);
      for (const skipped of ["proxy_on_new_connection", "proxy_on_request_body", "proxy_on_response_body"]) {
        expect(names, `${file} exports ${skipped}`).not.toContain(skipped);
      }
      for (const kept of ["malloc", "proxy_on_context_create", "proxy_on_downstream_data", "proxy_on_upstream_data", "proxy_on_delete", "proxy_on_log"]) {
        expect(names, `${file} lacks ${kept}`).toContain(kept);
      }
    }
  });

  test("a connection counts as open from its context's creation (no proxy_on_new_connection) to proxy_on_delete", () => {
    const host = new ProxyWasmHost();
    const root = host.createRoot("sitio_network", "p");
    const id = 1000;
    host.call("proxy_on_context_create", id, root);
    host.flush();
    expect(host.value("sitio_tcp_connections_total;plugin=p")).toBe(1);
    expect(host.value("sitio_tcp_active_connections;plugin=p")).toBe(1);
    host.call("proxy_on_delete", id);
    host.call("proxy_on_delete", id);
    host.flush();
    expect(host.value("sitio_tcp_active_connections;plugin=p")).toBe(0);
    expect(host.value("sitio_tcp_connections_total;plugin=p")).toBe(1);
  });

  test("reads of every size, small to past the scratch block, are counted exactly and memory stays bounded", () => {
    const host = new ProxyWasmHost();
    const root = host.createRoot("sitio_network", "p");
    const sizes = [0, 1, 100, 4095, 4096, 4097, 40_000, 65_536, 65_537, 200_000];
    let rx = 0;
    let requests = 0;
    let grownTo = 0;
    for (let round = 0; round < 40; round++) {
      for (const size of sizes) {
        const c = host.connect(root);
        const head = `POST /r${size} HTTP/1.1\r\nContent-Length: ${size}\r\n\r\n`;
        const bytes = Buffer.concat([Buffer.from(head, "latin1"), Buffer.alloc(size, 0x61), Buffer.from("GET /after HTTP/1.1\r\n\r\n", "latin1")]);
        c.downstream(bytes);
        c.upstream("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".repeat(2));
        c.close();
        rx += bytes.length;
        requests += 2;
      }
      // Whatever the first round needed is all the module ever needs.
      if (round === 0) grownTo = host.memoryBytes;
    }
    host.flush();
    expect(host.sum(REQS)).toBe(requests);
    expect(host.value(`${REQS};method=GET;endpoint=/after;plugin=p`)).toBe(40 * sizes.length);
    expect(host.value("sitio_tcp_rx_bytes_total;plugin=p")).toBe(rx);
    expect(host.value("sitio_tcp_active_connections;plugin=p")).toBe(0);
    expect(host.memoryBytes).toBe(grownTo);
    expect(host.traps).toBe(0);
  });
});
