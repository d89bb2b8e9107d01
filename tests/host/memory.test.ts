// The cost contract of the compiled module (see assembly/abi/): which callbacks
// Envoy has to enter, and host copies served from one reused block.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { ProxyWasmHost, ROOT, type Copied } from "../harness/proxy_wasm_host.js";

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

  test("an L7 header read gives the host's copy back (freeHostMemory): the L4 reads after it are served by the same scratch block, and memory does not grow", () => {
    const host = new ProxyWasmHost();
    // every block the module hands the host for a copy, with what the copy is of and in which phase
    const given: { size: number; ptr: number; of: Copied; phase: string }[] = [];
    let phase = "configure";
    host.onMalloc = (size, ptr, of) => given.push({ size, ptr, of, phase });
    const web = host.createRoot("sitio_network", "p");
    const http = host.createRoot("sitio_http", "h");
    const ROUNDS = 2000;
    /** Envoy ticks every second; here every TICK_EVERY rounds (each tick collects, see assembly/index.ts). */
    const TICK_EVERY = 50;
    /** Linear memory and heap in use (sitio's own gauge, measured after a full collection at the tick) once warm. */
    let warm = { memory: 0, heap: 0 };
    const heap = () => host.value("sitio_wasm_heap_bytes;plugin=p");
    for (let round = 0; round < ROUNDS; round++) {
      // L7: the request's header map read once in proxy_on_request_headers, :status in proxy_on_response_headers,
      // response.code_details in proxy_on_log (until the endpoint is admitted); each copy freed through freeHostMemory
      phase = "l7";
      const ex = host.http(http);
      ex.requestHeaders({ ":method": "GET", ":path": `/api/r${round % 5}?q=${round}`, host: "sitio.test" });
      ex.responseHeaders({ ":status": "200" });
      ex.end();
      // then L4 reads of a few sizes, up to a scratch block's idle size (4 KiB)
      phase = "l4";
      const c = host.connect(web);
      c.downstream(`POST /l4-${round % 5} HTTP/1.1\r\nHost: sitio.test\r\nContent-Length: 3000\r\n\r\n`);
      c.downstream(Buffer.alloc(3000, 0x62));
      c.downstream("GET /after HTTP/1.1\r\nHost: sitio.test\r\n\r\n");
      c.upstream("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".repeat(2));
      c.close();
      if (round % TICK_EVERY === TICK_EVERY - 1) host.flush();
      if (round === 199) warm = { memory: host.memoryBytes, heap: heap() };
    }
    // (the last round ticked too: ROUNDS is a multiple of TICK_EVERY, so both readings follow the same steps)
    expect(ROUNDS % TICK_EVERY).toBe(0);
    const reads = given.filter((g) => g.of !== "shared_data");
    expect(reads.filter((g) => g.phase === "l7" && g.of === "header")).toHaveLength(2 * ROUNDS); // the request's headers in one read, then :status
    expect(reads.filter((g) => g.phase === "l4" && g.of === "buffer")).toHaveLength(4 * ROUNDS); // three client reads, one upstream read
    // every header, property and buffer copy, L7 and L4 alike, came in one block: the scratch block
    // that served the first copy of all (a header read gave it back, so the next L4 read got it)
    const scratch = given[0].ptr;
    expect(new Set(reads.map((g) => g.ptr))).toEqual(new Set([scratch]));
    expect(Math.max(...reads.map((g) => g.size))).toBeLessThanOrEqual(4096);
    // The only other block: the second scratch block, for a shared-data look-up of an admission made
    // while the upstream read that brought the evidence still holds the first (one per endpoint admitted).
    const nested = given.filter((g) => g.ptr !== scratch);
    expect(nested.every((g) => g.of === "shared_data" && g.phase === "l4")).toBe(true);
    expect(new Set(nested.map((g) => g.ptr)).size).toBe(1);
    expect(nested.length).toBeLessThanOrEqual(2 * 6);
    // nothing kept per read: 1,800 rounds later the heap after a collection is byte for byte what it
    // was, and the linear memory has not grown
    expect(heap()).toBeGreaterThan(0);
    expect(heap()).toBe(warm.heap);
    expect(host.memoryBytes).toBe(warm.memory);
    // and the reads came back right
    for (let k = 0; k < 5; k++) {
      expect(host.value(`${REQS};method=POST;endpoint=/l4-${k};plugin=p`)).toBe(ROUNDS / 5);
      expect(host.value(`sitio_http_requests_total;method=GET;endpoint=/api/r${k};status=200;plugin=h`)).toBe(ROUNDS / 5);
    }
    expect(host.value(`${REQS};method=GET;endpoint=/after;plugin=p`)).toBe(ROUNDS);
    expect(host.traps).toBe(0);
  });
});
