// Fuzzing in the suite: a bounded, deterministic run of the fuzzer on both
// builds, plus the hostile shapes the issue names, each with an exact
// expectation. The long run is `npm run fuzz -- --cases 1000000`.

import { describe, expect, test } from "vitest";
import { ProxyWasmHost } from "../harness/proxy_wasm_host.js";
import { preAdmit } from "../harness/host_roots.js";
import { DEBUG_WASM, RELEASE_WASM, runFuzz } from "./fuzzer.js";
import { runTlsFuzz, TLS_HELLO_DEBUG_WASM, TLS_HELLO_WASM } from "./tls_fuzzer.js";

const REQS = "sitio_tcp_requests_total";
const P = "p";
const reqs = (host: ProxyWasmHost) => host.sum(REQS, (n) => n.endsWith(`;plugin=${P}`));
const unparsed = (host: ProxyWasmHost) => {
  host.flush();
  return host.value(`sitio_tcp_unparsed_bytes_total;plugin=${P}`);
};

function setup(wasm = DEBUG_WASM) {
  const host = new ProxyWasmHost({ wasm, logLevel: 4 });
  return { host, root: host.createRoot("sitio_network", P, "") };
}

describe("fuzz: random and mutated inputs", () => {
  test.each([
    ["debug", DEBUG_WASM, 8_000],
    ["release", RELEASE_WASM, 4_000],
  ])("%s build: seeded cases, 0 traps, 0 broken invariants", (_name, wasm, cases) => {
    const report = runFuzz({ seed: 20261123, cases, wasm });
    console.log(
      `fuzz (${_name}): ${report.cases} cases, ${report.traps} traps, ${report.violations} violations, ${report.requestsCounted} requests, ${report.ms} ms, wasm memory ${report.memoryEnd / 1024} KiB`,
    );
    expect(report.failures).toEqual([]);
    expect(report.traps).toBe(0);
    expect(report.cases).toBe(cases);
    // every generator ran
    expect(Object.keys(report.kinds).length).toBeGreaterThanOrEqual(15);
  });
});

describe("fuzz: the TLS hello decoder (its test-only module) and sitio's filter with protocol tls", () => {
  test.each([
    ["debug", TLS_HELLO_DEBUG_WASM, DEBUG_WASM, 3_000],
    ["release", TLS_HELLO_WASM, RELEASE_WASM, 5_000],
  ])("%s build: random, mutated, re-framed, generated and truncated hellos: 0 traps, 0 broken invariants", (name, wasm, filterWasm, cases) => {
    const report = runTlsFuzz({ seed: 20261123, cases, wasm, filterWasm });
    const events = Object.entries(report.events)
      .map(([k, n]) => `${k} ${n}`)
      .join(", ");
    console.log(
      `tls fuzz (${name}): ${report.cases} cases, ${report.traps} traps, ${report.violations} violations, ${(report.bytesIn / 2 ** 20).toFixed(1)} MiB, ${report.ms} ms; events: ${events}`,
    );
    expect(report.failures).toEqual([]);
    expect(report.traps).toBe(0);
    expect(report.cases).toBe(cases);
    expect(Object.keys(report.kinds).sort()).toEqual(["tls-generated", "tls-mutated", "tls-random", "tls-reframed", "tls-truncated"]);
    // the cases reach every outcome
    for (const e of ["client_hello", "server_hello", "hello_retry_request", "alert", "not_tls", "malformed"]) expect(report.events[e], e).toBeGreaterThan(10);
  });
});

describe("fuzz: hostile shapes, exact outcomes", () => {
  const stream =
    "\r\nGET /a?x=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc" +
    "POST /b HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2;e=1\r\nhi\r\nA\r\n0123456789\r\n0\r\nT: 1\r\n\r\n" +
    "HEAD /c HTTP/1.0\r\nConnection: keep-alive\r\n\r\n" +
    "DELETE http://h:1/d#f HTTP/1.1\r\ncontent-length: 0\r\n\r\n";

  test("a four-request stream split at every byte (two reads) and one byte per read counts 4 each time", () => {
    const { host, root } = setup();
    preAdmit(host, ["/a", "/b", "/c", "/d"]);
    for (let k = 0; k <= stream.length; k++) {
      const c = host.connect(root);
      c.downstream(stream.slice(0, k));
      c.downstream(stream.slice(k));
      c.close();
    }
    const c = host.connect(root);
    for (const ch of stream) c.downstream(ch);
    c.close();
    expect(reqs(host)).toBe(4 * (stream.length + 2));
    for (const [m, e] of [
      ["GET", "/a"],
      ["POST", "/b"],
      ["HEAD", "/c"],
      ["DELETE", "/d"],
    ]) {
      expect(host.value(`${REQS};method=${m};endpoint=${e};plugin=${P}`)).toBe(stream.length + 2);
    }
    expect(unparsed(host)).toBe(0);
    expect(host.traps).toBe(0);
  });

  test("NUL and non-UTF-8 bytes in a target, a method or a header end parsing (as in llhttp): nothing counted, unparsed from the bad byte on", () => {
    const { host, root } = setup();
    const streams = [
      Buffer.from("GET /\xff\xfe\xc3 HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n", "latin1"),
      Buffer.from("G\0T / HTTP/1.1\r\n\r\n", "latin1"),
      Buffer.from("GET / HTTP/1.1\r\nX: \0\r\n\r\n", "latin1"),
    ];
    // the bytes before the offending one were parsed as HTTP: "GET /", "G", "GET / HTTP/1.1\r\nX: "
    const parsedPrefixes = [5, 1, 19];
    let expectedUnparsed = 0;
    streams.forEach((b, i) => {
      const c = host.connect(root);
      c.downstream(b);
      c.close();
      expectedUnparsed += b.length - parsedPrefixes[i];
    });
    expect(reqs(host)).toBe(0);
    expect(unparsed(host)).toBe(expectedUnparsed);
    expect(host.traps).toBe(0);
  });

  test("request heads around the 60 KiB limit: one byte under is counted, one over is not, and never a trap", () => {
    const { host, root } = setup();
    preAdmit(host, ["/"]);
    const headOf = (size: number, shape: "line" | "header") => {
      const fixed = shape === "line" ? "GET / HTTP/1.1\r\n\r\n".length : "GET / HTTP/1.1\r\nX: \r\n\r\n".length;
      const fill = "a".repeat(size - fixed);
      return shape === "line" ? `GET /${fill} HTTP/1.1\r\n\r\n` : `GET / HTTP/1.1\r\nX: ${fill}\r\n\r\n`;
    };
    for (const shape of ["line", "header"] as const) {
      for (const [size, counted] of [
        [61440, 1],
        [61441, 0],
        [65536, 0],
      ] as const) {
        const before = reqs(host);
        const head = headOf(size, shape);
        expect(head.length).toBe(size);
        const c = host.connect(root);
        c.downstream(head);
        c.close();
        expect(reqs(host) - before, `${shape} ${size}`).toBe(counted);
      }
    }
    // 61440-byte target: counted under `other` (too long for a label)
    expect(host.value(`${REQS};method=GET;endpoint=other;plugin=${P}`)).toBe(1);
    expect(host.value(`${REQS};method=GET;endpoint=/;plugin=${P}`)).toBe(1);
  });

  test("5,000 pipelined requests in one read are 5,000 requests", () => {
    const { host, root } = setup();
    preAdmit(host, ["/p"]);
    const c = host.connect(root);
    c.downstream("GET /p HTTP/1.1\r\nHost: h\r\n\r\n".repeat(5000));
    c.close();
    expect(host.value(`${REQS};method=GET;endpoint=/p;plugin=${P}`)).toBe(5000);
  });

  test("bogus chunked framing ends parsing: the request is counted once, what follows is unparsed", () => {
    const { host, root } = setup();
    preAdmit(host, ["/c", "/next", "/s"]);
    const bodies = ["fffffffffffffffff\r\n", "-5\r\nhello\r\n0\r\n\r\n", "5\r\nhelloXX0\r\n\r\n", "0x5\r\nhello\r\n0\r\n\r\n"];
    for (const body of bodies) {
      const c = host.connect(root);
      c.downstream(`POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n${body}GET /next HTTP/1.1\r\n\r\n`);
      c.close();
    }
    expect(host.value(`${REQS};method=POST;endpoint=/c;plugin=${P}`)).toBe(bodies.length);
    expect(host.value(`${REQS};method=GET;endpoint=/next;plugin=${P}`)).toBe(0);
    // Transfer-Encoding not ending in chunked, or with Content-Length: not counted (request smuggling shapes)
    const c = host.connect(root);
    c.downstream("POST /s HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n");
    c.close();
    expect(host.value(`${REQS};method=POST;endpoint=/s;plugin=${P}`)).toBe(0);
  });
});

describe("fuzz: memory", () => {
  test("per-connection memory is bounded: connections stuck mid-head after a 4 KiB target and a 30 KiB header cost < 6 KiB each", () => {
    const { host, root } = setup(RELEASE_WASM);
    const hostile = `GET /${"t".repeat(4000)}?q HTTP/1.1\r\nX-Long: ${"v".repeat(30 * 1024)}`;
    const w = host.connect(root);
    w.downstream(hostile);
    w.close();
    // Memory grows in steps (the allocator about doubles it), so the cost of one connection is
    // the slope between two growth steps: bytes added by the step ÷ connections opened in between.
    const open = [];
    const steps: { connections: number; bytes: number }[] = [];
    let last = host.memoryBytes;
    while (steps.length < 6 && open.length < 20_000) {
      const c = host.connect(root);
      c.downstream(hostile);
      open.push(c);
      if (host.memoryBytes !== last) {
        steps.push({ connections: open.length, bytes: last });
        last = host.memoryBytes;
      }
    }
    expect(steps.length).toBe(6);
    const perConnection = (steps[5].bytes - steps[4].bytes) / (steps[5].connections - steps[4].connections);
    console.log(
      `wasm memory: ${open.length} open hostile connections, ${host.memoryBytes / 1024} KiB; ${perConnection.toFixed(0)} B per connection (growth steps at ${steps.map((x) => x.connections).join(", ")} connections)`,
    );
    expect(perConnection).toBeLessThan(6 * 1024);
    for (const c of open) c.close();
    // the same again reuses the freed memory
    const after = host.memoryBytes;
    const n = open.length;
    for (let i = 0; i < n; i++) open[i] = host.connect(root);
    for (const c of open) c.downstream(hostile);
    for (const c of open) c.close();
    expect(host.memoryBytes).toBe(after);
    host.flush();
    expect(host.value(`sitio_tcp_active_connections;plugin=${P}`)).toBe(0);
  });

  test("the heap is flat across 20,000 short connections after warm-up", () => {
    const { host, root } = setup(RELEASE_WASM);
    const once = (i: number) => {
      const c = host.connect(root);
      c.downstream(`GET /e${i % 150}?x=${i} HTTP/1.1\r\nHost: h\r\n\r\nPOST /f HTTP/1.1\r\nContent-Length: 2\r\n\r\nok`);
      c.upstream("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
      c.close();
    };
    for (let i = 0; i < 2000; i++) once(i);
    const warm = host.memoryBytes;
    for (let i = 0; i < 20_000; i++) once(i);
    console.log(`wasm memory: ${warm / 1024} KiB after 2,000 connections, ${host.memoryBytes / 1024} KiB after 20,000 more`);
    expect(host.memoryBytes).toBe(warm);
    expect(reqs(host)).toBe(44_000);
  });
});

describe("wasm memory gauges", () => {
  test("sitio_wasm_memory_bytes is the VM's memory size and sitio_wasm_heap_bytes the part in use, published at each tick", () => {
    const { host, root } = setup(RELEASE_WASM);
    const memory = `sitio_wasm_memory_bytes;plugin=${P}`;
    const heap = `sitio_wasm_heap_bytes;plugin=${P}`;
    host.flush();
    expect(host.value(memory)).toBe(host.memoryBytes);
    const idle = host.value(heap);
    expect(idle).toBeGreaterThan(0);
    expect(idle).toBeLessThan(host.memoryBytes);
    const c = host.connect(root);
    c.downstream(`GET /${"x".repeat(200_000)} HTTP/1.1\r\n\r\n`);
    host.flush();
    expect(host.value(memory)).toBe(host.memoryBytes);
    c.close();
    for (let t = 0; t < 8; t++) host.flush(); // idle pooled connections go, half per tick
    expect(host.value(heap)).toBeLessThan(idle + 4096);
  });

  test("two VMs (workers) add their shares to one gauge; a VM whose plugin goes away takes its share out", () => {
    const a = new ProxyWasmHost({ wasm: RELEASE_WASM });
    const b = new ProxyWasmHost({ wasm: RELEASE_WASM, metrics: a.metrics, sharedData: a.sharedData });
    const ra = a.createRoot("sitio_network", P, "");
    const rb = b.createRoot("sitio_network", P, "");
    a.flush();
    b.flush();
    const memory = `sitio_wasm_memory_bytes;plugin=${P}`;
    expect(a.value(memory)).toBe(a.memoryBytes + b.memoryBytes);
    b.deleteContext(rb);
    expect(a.value(memory)).toBe(a.memoryBytes);
    a.deleteContext(ra);
    expect(a.value(memory)).toBe(0);
  });
});
