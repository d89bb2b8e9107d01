// The TLS hello decoder (assembly/codec/tls_hello.ts) in Node, through the
// test-only entry tests/wasm/tls_hello_entry.ts: builds it into build/test/
// (release and debug) when missing or older than its sources, and drives it.
//
// `decoder.feed(dir, bytes)` delivers one read the way the network filter
// will: call, read the event, call again with the rest. It checks the
// contract on every call (a call consumes at least one byte and never more
// than it was given) and returns the events with the stream offset each came
// at, so any two ways of splitting the same bytes can be compared exactly.

import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, renameSync, statSync } from "node:fs";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./envoy.js";

export const TLS_HELLO_WASM = join(ROOT, "build/test/tls_hello.wasm");
export const TLS_HELLO_DEBUG_WASM = join(ROOT, "build/test/tls_hello.debug.wasm");
const SOURCES = ["assembly/codec/tls_hello.ts", "tests/wasm/tls_hello_entry.ts", "tests/wasm/tls_hello.asconfig.json"].map((f) => join(ROOT, f));

export const EVENTS = ["none", "client_hello", "server_hello", "hello_retry_request", "alert", "not_tls", "malformed", "client_second_flight"] as const;
export const ERRORS = [
  "none",
  "record_type",
  "record_version",
  "record_length",
  "handshake_type",
  "length",
  "value",
  "interleaved",
  "duplicate",
  "second_retry",
] as const;
export type TlsEventName = (typeof EVENTS)[number];
export type Direction = "client" | "server";

/** Builds the test module (both builds) unless it is newer than its sources. Safe when test files run side by side. */
export function buildTlsHelloWasm(): void {
  const newest = Math.max(...SOURCES.map((f) => statSync(f).mtimeMs));
  for (const [out, flags] of [
    [TLS_HELLO_WASM, ["-O3", "--noAssert"]],
    [TLS_HELLO_DEBUG_WASM, ["--debug"]],
  ] as const) {
    if (existsSync(out) && statSync(out).mtimeMs >= newest) continue;
    mkdirSync(join(ROOT, "build/test"), { recursive: true });
    const tmp = `${out}.${process.pid}.tmp`;
    execFileSync(
      join(ROOT, "node_modules/.bin/asc"),
      ["tests/wasm/tls_hello_entry.ts", "--config", "tests/wasm/tls_hello.asconfig.json", ...flags, "-o", tmp],
      { cwd: ROOT, stdio: "pipe" },
    );
    renameSync(tmp, out);
  }
}

export interface TlsReport {
  event: TlsEventName;
  error: (typeof ERRORS)[number];
  errorFromServer: boolean;
  /** server_name as latin1 (null: none), as far as kept. */
  sni: string | null;
  sniTooLong: boolean;
  alpn: string | null;
  alpnTooLong: boolean;
  alpnCount: number;
  clientVersion: number;
  offeredVersion: number;
  hasSupportedVersions: boolean;
  version: number;
  cipherSuite: number;
  helloRetry: boolean;
  alertLevel: number;
  alertDescription: number;
  alerts: number;
  stopped: boolean;
  clientHelloDone: boolean;
  serverHelloDone: boolean;
  clientSecondFlight: boolean;
  handshakeIncomplete: boolean;
}

export interface TlsEventSeen {
  dir: Direction;
  event: TlsEventName;
  /** Bytes of this direction consumed when the event came (the event's last byte included). */
  at: number;
  error?: string;
  alert?: [number, number];
}

/** A broken call contract (the driver's own check, not a wasm trap). */
export class ContractError extends Error {}

export class TlsHelloModule {
  // biome-ignore lint/suspicious/noExplicitAny: the wasm module's exports, called with numbers
  readonly exports: Record<string, any>;
  readonly memory: WebAssembly.Memory;

  constructor(file = TLS_HELLO_WASM) {
    const module = new WebAssembly.Module(readFileSync(file));
    const instance = new WebAssembly.Instance(module, {
      env: {
        abort: (msg: number, fileName: number, line: number, col: number) => {
          throw new Error(`wasm abort at ${line}:${col}`);
        },
      },
    });
    // biome-ignore lint/suspicious/noExplicitAny: the wasm module's exports, called with numbers
    this.exports = instance.exports as Record<string, any>;
    this.memory = this.exports.memory as WebAssembly.Memory;
  }

  get memoryBytes(): number {
    return this.memory.buffer.byteLength;
  }

  decoder(): TlsDecoder {
    return new TlsDecoder(this, this.exports.create() as number);
  }

  /** Frees every decoder made so far. */
  clear(): void {
    this.exports.clear();
  }
}

export class TlsDecoder {
  readonly events: TlsEventSeen[] = [];
  private offsets = { client: 0, server: 0 };

  constructor(
    private m: TlsHelloModule,
    readonly handle: number,
  ) {}

  /** One read of `dir` bytes: call, read the event, call again with the rest. Returns the events it caused. */
  feed(dir: Direction, bytes: Uint8Array): TlsEventSeen[] {
    const x = this.m.exports;
    const ptr = x.inputBuffer(bytes.length) as number;
    new Uint8Array(this.m.memory.buffer, ptr, bytes.length).set(bytes);
    const seen: TlsEventSeen[] = [];
    for (let off = 0; off < bytes.length; ) {
      const n = x.feed(this.handle, dir === "server" ? 1 : 0, off, bytes.length - off) as number;
      if (n <= 0 || n > bytes.length - off) throw new ContractError(`${dir}: a call given ${bytes.length - off} bytes consumed ${n}`);
      off += n;
      this.offsets[dir] += n;
      if ((x.eventOf(this.handle) as number) !== 0) {
        const r = this.raw();
        const e: TlsEventSeen = { dir, event: EVENTS[r[0]], at: this.offsets[dir] };
        if (r[0] === 5 || r[0] === 6) e.error = ERRORS[r[1]];
        if (r[0] === 4) e.alert = [r[16], r[17]];
        seen.push(e);
      } else if (off < bytes.length) {
        // a call without an event consumes everything (a stopped decoder too)
        throw new ContractError(`${dir}: a call stopped after ${n} of ${bytes.length - off + n} bytes without an event`);
      }
    }
    this.events.push(...seen);
    return seen;
  }

  /** Feeds `bytes` of `dir` as reads of the given sizes (the last size repeats; default: one read). */
  feedSplit(dir: Direction, bytes: Uint8Array, sizes: number[] = [bytes.length]): void {
    for (let at = 0, k = 0; at < bytes.length; k++) {
      const n = Math.max(1, Math.min(sizes[Math.min(k, sizes.length - 1)], bytes.length - at));
      this.feed(dir, bytes.subarray(at, at + n));
      at += n;
    }
  }

  stop(): void {
    this.m.exports.stop(this.handle);
  }

  private raw(): Int32Array {
    const ptr = this.m.exports.reportOf(this.handle) as number;
    return new Int32Array(this.m.memory.buffer, ptr, 24).slice();
  }

  report(): TlsReport {
    const r = this.raw();
    const x = this.m.exports;
    const bytesAt = (ptr: number, len: number) => Buffer.from(new Uint8Array(this.m.memory.buffer, ptr, len)).toString("latin1");
    return {
      event: EVENTS[r[0]],
      error: ERRORS[r[1]],
      errorFromServer: r[2] === 1,
      sni: r[3] ? bytesAt(x.sniOf(this.handle), r[4]) : null,
      sniTooLong: r[5] === 1,
      alpn: r[6] && r[9] > 0 ? bytesAt(x.alpnOf(this.handle), r[7]) : null,
      alpnTooLong: r[8] === 1,
      alpnCount: r[9],
      clientVersion: r[10],
      offeredVersion: r[11],
      hasSupportedVersions: r[12] === 1,
      version: r[13],
      cipherSuite: r[14],
      helloRetry: r[15] === 1,
      alertLevel: r[16],
      alertDescription: r[17],
      alerts: r[18],
      stopped: r[19] === 1,
      clientHelloDone: r[20] === 1,
      serverHelloDone: r[21] === 1,
      clientSecondFlight: r[22] === 1,
      handshakeIncomplete: r[23] === 1,
    };
  }
}

/** A connection's bytes in the order the proxy saw them. */
export type TlsSteps = { dir: Direction; bytes: Uint8Array }[];

/** Runs `steps` through a fresh decoder, step i cut into reads of `sizes(i, step)` bytes; returns the events and the final report. */
export function decode(
  m: TlsHelloModule,
  steps: TlsSteps,
  sizes?: (index: number, step: TlsSteps[number]) => number[],
): { events: TlsEventSeen[]; report: TlsReport } {
  const d = m.decoder();
  steps.forEach((s, i) => {
    d.feedSplit(s.dir, s.bytes, sizes?.(i, s));
  });
  return { events: d.events, report: d.report() };
}
