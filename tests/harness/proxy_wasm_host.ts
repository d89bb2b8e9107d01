// A small proxy-wasm (ABI v0.2.1) host in Node, for unit tests and fuzzing of
// the compiled filter. It implements the host calls sitio makes, with a
// controllable clock, and keeps metrics the way Envoy does (by name, on the
// host side). It complements the Envoy tests; it does not replace them.

import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";

export const ROOT = resolve(import.meta.dirname, "../..");

enum Result {
  Ok = 0,
  NotFound = 1,
  BadArgument = 2,
  Empty = 7,
  CasMismatch = 8,
  Unimplemented = 12,
}
export enum BufferType {
  HttpRequestBody = 0,
  HttpResponseBody = 1,
  Downstream = 2,
  Upstream = 3,
  PluginConfiguration = 7,
}
export enum MetricType {
  Counter = 0,
  Gauge = 1,
  Histogram = 2,
}

export interface Metric {
  name: string;
  type: MetricType;
  value: number;
  samples: number[];
}

/** What a host copy into module memory holds (the host call that made it). */
export type Copied = "property" | "buffer" | "header" | "shared_data";

/** Thrown (and recorded in `host.traps`) when the module traps or exits. */
export class WasmTrap extends Error {}

/**
 * The host's shared key-value store, as Envoy keeps it for all VMs of one
 * vm_id: pass one instance to several hosts to play several workers.
 */
export class SharedData {
  private values = new Map<string, { value: Buffer; cas: number }>();
  private nextCas = 1;

  get(key: string): { value: Buffer; cas: number } | undefined {
    return this.values.get(key);
  }

  /** Envoy's semantics: a non-zero cas must match an existing key's; a missing key is always set. */
  set(key: string, value: Buffer, cas: number): Result {
    const cur = this.values.get(key);
    if (cur && cas !== 0 && cas !== cur.cas) return Result.CasMismatch;
    this.values.set(key, { value, cas: this.nextCas++ });
    return Result.Ok;
  }

  keys(): string[] {
    return [...this.values.keys()];
  }
}

export interface HostOptions {
  /** Which build to load; the debug build keeps bounds checks and names. */
  wasm?: string;
  /** Log lines at or above this level are kept in `host.logs` (0 trace … 5 critical). */
  logLevel?: number;
  /** The shared data store (share one between hosts to play several workers of one Envoy). */
  sharedData?: SharedData;
  /** Metrics kept host-side (share one map between hosts as Envoy shares its stats between workers). */
  metrics?: Map<string, Metric>;
}

const modules = new Map<string, WebAssembly.Module>();
/** Compiles each .wasm file once per process (the fuzzer starts a fresh host after every trap). */
function compiled(path: string): WebAssembly.Module {
  let m = modules.get(path);
  if (!m) {
    m = new WebAssembly.Module(readFileSync(path));
    modules.set(path, m);
  }
  return m;
}

export class ProxyWasmHost {
  readonly metrics: Map<string, Metric>;
  readonly sharedData: SharedData;
  private byId: Metric[] = [];
  readonly logs: { level: number; message: string }[] = [];
  traps = 0;
  /** Host clock in nanoseconds; tests move it. */
  nowNs = 1_700_000_000_000_000_000n;
  tickPeriodMs = 0;
  /** Called on every counter/gauge increment (the fuzzer keeps running totals with it). */
  onIncrement?: (metric: Metric, delta: number) => void;
  /** Called with each block the module's `malloc` gives the host to copy data into: size asked, pointer returned, and what the copy is of. */
  onMalloc?: (size: number, ptr: number, of: Copied) => void;
  // biome-ignore lint/suspicious/noExplicitAny: the wasm module's exports, called with numbers
  private exports!: Record<string, any>;
  private memory!: WebAssembly.Memory;
  private nextContextId = 1;
  /** Root contexts configured and not deleted. */
  private roots: number[] = [];
  /** Buffers the current callback may read (and, for upstream data, replace). */
  private buffers = new Map<number, Buffer>();
  /** Host properties by path (segments joined with NUL, as the ABI passes them): text, or raw bytes (Envoy's ints are 8 bytes LE). */
  readonly properties = new Map<string, string | Buffer>();
  /** Header maps (by ABI HeaderMapType) the current HTTP callback may read. */
  headerMaps = new Map<number, Headers>();
  /** The last `proxy_send_local_response` of the current HTTP callback, if any. */
  localResponse: LocalResponse | null = null;
  readonly logLevel: number;

  constructor(opts: HostOptions = {}) {
    this.logLevel = opts.logLevel ?? 2;
    this.metrics = opts.metrics ?? new Map();
    this.sharedData = opts.sharedData ?? new SharedData();
    const module = compiled(opts.wasm ?? join(ROOT, "build/sitio.debug.wasm"));
    const instance = new WebAssembly.Instance(module, { env: this.env(), wasi_unstable: this.wasi(), wasi_snapshot_preview1: this.wasi() });
    // biome-ignore lint/suspicious/noExplicitAny: the wasm module's exports, called with numbers
    this.exports = instance.exports as Record<string, any>;
    this.memory = this.exports.memory as WebAssembly.Memory;
  }

  /** Bytes of wasm memory in use (grows, never shrinks). */
  get memoryBytes(): number {
    return this.memory.buffer.byteLength;
  }

  /** Counter/gauge value by full stat name (labels encoded), 0 when undefined. */
  value(name: string): number {
    return this.metrics.get(name)?.value ?? 0;
  }

  /** Sum over every series whose stat name starts with `prefix` followed by `;` or the end. */
  sum(prefix: string, filter: (name: string) => boolean = () => true): number {
    let total = 0;
    for (const m of this.metrics.values()) if ((m.name === prefix || m.name.startsWith(prefix + ";")) && filter(m.name)) total += m.value;
    return total;
  }

  // ---------------------------------------------------------------- driving the module

  /** Creates a root context for `rootId` and configures it; returns its id, or throws when the config is refused. */
  createRoot(rootId: string, pluginName: string, configuration: string | Buffer = ""): number {
    const id = this.tryCreateRoot(rootId, pluginName, configuration);
    if (id === null) throw new Error(`configuration refused: ${this.logs.map((l) => l.message).join(" | ")}`);
    return id;
  }

  /** Like createRoot, but a refused configuration deletes the root and returns null (what Envoy does with the plugin). */
  tryCreateRoot(rootId: string, pluginName: string, configuration: string | Buffer = ""): number | null {
    const id = this.nextContextId++;
    this.properties.set("plugin_root_id", rootId);
    this.properties.set("plugin_name", pluginName);
    this.call("proxy_on_context_create", id, 0);
    this.call("proxy_on_vm_start", id, 0);
    if (this.configure(id, configuration)) {
      this.roots.push(id);
      return id;
    }
    this.deleteContext(id);
    return null;
  }

  /** The host is done with a context (a root whose plugin is gone, for example). */
  deleteContext(id: number): void {
    this.roots = this.roots.filter((r) => r !== id);
    this.call("proxy_on_done", id);
    this.call("proxy_on_delete", id);
  }

  /** Delivers a (new) plugin configuration (text, or raw bytes) to a root; returns what the module answered. */
  configure(rootId: number, configuration: string | Buffer): boolean {
    const bytes = typeof configuration === "string" ? Buffer.from(configuration, "utf8") : configuration;
    this.buffers.set(BufferType.PluginConfiguration, bytes);
    try {
      return this.call("proxy_on_configure", rootId, bytes.length) !== 0;
    } finally {
      this.buffers.delete(BufferType.PluginConfiguration);
    }
  }

  tick(rootId: number): void {
    this.call("proxy_on_tick", rootId);
  }

  /**
   * Ticks every root, as Envoy's 1 s timer does: the network filter publishes
   * the connection and byte counts it keeps in the VM (and moves its rate
   * windows on). Tests call it before reading those counters.
   */
  flush(): void {
    for (const id of this.roots) this.tick(id);
  }

  /** Opens a network (L4) connection on a network root. */
  connect(rootId: number): Connection {
    const id = this.nextContextId++;
    this.call("proxy_on_context_create", id, rootId);
    this.call("proxy_on_new_connection", id);
    return new Connection(this, id);
  }

  /** Starts an HTTP request on an HTTP root (context created; no callback yet). */
  http(rootId: number): HttpExchange {
    const id = this.nextContextId++;
    this.call("proxy_on_context_create", id, rootId);
    return new HttpExchange(this, id);
  }

  /** Runs one data callback with `data` as the readable buffer; returns the buffer after the call (it may be rewritten). */
  withBuffer(type: BufferType, data: Buffer, fn: () => void): Buffer {
    this.buffers.set(type, data);
    try {
      fn();
      return this.buffers.get(type)!;
    } finally {
      this.buffers.delete(type);
    }
  }

  call(name: string, ...args: (number | bigint)[]): number {
    const fn = this.exports[name];
    if (typeof fn !== "function") return 0;
    try {
      return fn(...args) ?? 0;
    } catch (e) {
      this.traps++;
      throw new WasmTrap(`${name}(${args.join(", ")}) trapped: ${(e as Error).message}`);
    }
  }

  // ---------------------------------------------------------------- memory helpers

  private u8(): Uint8Array {
    return new Uint8Array(this.memory.buffer);
  }
  private view(): DataView {
    return new DataView(this.memory.buffer);
  }
  readString(ptr: number, len: number): string {
    return Buffer.from(this.u8().subarray(ptr, ptr + len)).toString("utf8");
  }
  readBytes(ptr: number, len: number): Buffer {
    return Buffer.from(this.u8().slice(ptr, ptr + len));
  }
  /** Copies bytes into module memory (allocated by the module's malloc) and writes ptr/size out-params. */
  private give(bytes: Buffer, ptrOut: number, sizeOut: number, of: Copied): void {
    const ptr = this.exports.malloc(bytes.length) as number;
    this.onMalloc?.(bytes.length, ptr, of);
    this.u8().set(bytes, ptr);
    this.view().setUint32(ptrOut, ptr, true);
    this.view().setUint32(sizeOut, bytes.length, true);
  }

  // ---------------------------------------------------------------- imports

  private wasi() {
    return {
      proc_exit: (code: number) => {
        throw new WasmTrap(`proc_exit(${code})`);
      },
      fd_write: () => Result.Unimplemented,
    };
  }

  // biome-ignore lint/suspicious/noExplicitAny: the host functions the module imports, each with its own numeric signature
  private env(): Record<string, (...a: any[]) => any> {
    return {
      proxy_log: (level: number, ptr: number, len: number) => {
        if (level >= this.logLevel) this.logs.push({ level, message: this.readString(ptr, len) });
        return Result.Ok;
      },
      proxy_get_log_level: (out: number) => {
        this.view().setUint32(out, this.logLevel, true);
        return Result.Ok;
      },
      proxy_get_current_time_nanoseconds: (out: number) => {
        this.view().setBigUint64(out, this.nowNs, true);
        return Result.Ok;
      },
      proxy_set_tick_period_milliseconds: (ms: number) => {
        this.tickPeriodMs = ms;
        return Result.Ok;
      },
      proxy_get_property: (pathPtr: number, pathLen: number, ptrOut: number, sizeOut: number) => {
        const v = this.properties.get(this.readString(pathPtr, pathLen));
        if (v === undefined) return Result.NotFound;
        this.give(typeof v === "string" ? Buffer.from(v, "utf8") : v, ptrOut, sizeOut, "property");
        return Result.Ok;
      },
      proxy_get_buffer_status: (type: number, lenOut: number, flagsOut: number) => {
        const b = this.buffers.get(type);
        if (!b) return Result.NotFound;
        this.view().setUint32(lenOut, b.length, true);
        this.view().setUint32(flagsOut, 0, true);
        return Result.Ok;
      },
      proxy_get_buffer_bytes: (type: number, start: number, length: number, ptrOut: number, sizeOut: number) => {
        const b = this.buffers.get(type);
        if (!b) return Result.NotFound;
        const slice = b.subarray(Math.min(start, b.length), Math.min(start + length, b.length));
        if (slice.length === 0) return Result.NotFound;
        this.give(Buffer.from(slice), ptrOut, sizeOut, "buffer");
        return Result.Ok;
      },
      // Same semantics as Envoy's Buffer::copyFrom: start 0 drains `length` and prepends; start ≥ size appends.
      proxy_set_buffer_bytes: (type: number, start: number, length: number, ptr: number, size: number) => {
        const b = this.buffers.get(type);
        if (!b) return Result.NotFound;
        const data = this.readBytes(ptr, size);
        if (start === 0) this.buffers.set(type, Buffer.concat([data, b.subarray(Math.min(length, b.length))]));
        else if (start >= b.length) this.buffers.set(type, Buffer.concat([b, data]));
        else return Result.BadArgument;
        return Result.Ok;
      },
      proxy_get_header_map_value: (type: number, keyPtr: number, keyLen: number, ptrOut: number, sizeOut: number) => {
        const map = this.headerMaps.get(type);
        if (!map) return Result.BadArgument;
        const key = this.readString(keyPtr, keyLen).toLowerCase();
        const found = map.find(([k]) => k === key);
        if (!found) return Result.NotFound;
        this.give(Buffer.from(found[1], "latin1"), ptrOut, sizeOut, "header");
        return Result.Ok;
      },
      proxy_get_header_map_pairs: (type: number, ptrOut: number, sizeOut: number) => {
        const map = this.headerMaps.get(type);
        if (!map) return Result.BadArgument;
        this.give(encodeHeaderPairs(map), ptrOut, sizeOut, "header");
        return Result.Ok;
      },
      proxy_send_local_response: (
        status: number,
        detailsPtr: number,
        detailsLen: number,
        bodyPtr: number,
        bodyLen: number,
        headersPtr: number,
        headersLen: number,
        grpcStatus: number,
      ) => {
        this.localResponse = {
          status,
          details: this.readString(detailsPtr, detailsLen),
          body: this.readBytes(bodyPtr, bodyLen),
          headers: decodeHeaderPairs(this.readBytes(headersPtr, headersLen)),
          grpcStatus,
        };
        return Result.Ok;
      },
      proxy_get_shared_data: (keyPtr: number, keyLen: number, ptrOut: number, sizeOut: number, casOut: number) => {
        const found = this.sharedData.get(this.readString(keyPtr, keyLen));
        if (!found) return Result.NotFound;
        this.give(found.value, ptrOut, sizeOut, "shared_data");
        this.view().setUint32(casOut, found.cas, true);
        return Result.Ok;
      },
      proxy_set_shared_data: (keyPtr: number, keyLen: number, valuePtr: number, valueLen: number, cas: number) =>
        this.sharedData.set(this.readString(keyPtr, keyLen), this.readBytes(valuePtr, valueLen), cas),
      proxy_define_metric: (type: number, namePtr: number, nameLen: number, idOut: number) => {
        const name = this.readString(namePtr, nameLen);
        let m = this.metrics.get(name);
        if (!m) {
          m = { name, type, value: 0, samples: [] };
          this.metrics.set(name, m);
        }
        let id = this.byId.indexOf(m);
        if (id < 0) id = this.byId.push(m) - 1;
        this.view().setUint32(idOut, id, true);
        return Result.Ok;
      },
      proxy_increment_metric: (id: number, delta: bigint) => {
        const m = this.byId[id];
        if (!m) return Result.NotFound;
        m.value += Number(delta);
        this.onIncrement?.(m, Number(delta));
        return Result.Ok;
      },
      proxy_record_metric: (id: number, value: bigint) => {
        const m = this.byId[id];
        if (!m) return Result.NotFound;
        if (m.type === MetricType.Histogram) m.samples.push(Number(value));
        else m.value = Number(value);
        return Result.Ok;
      },
      proxy_get_metric: (id: number, out: number) => {
        const m = this.byId[id];
        if (!m) return Result.NotFound;
        this.view().setBigUint64(out, BigInt(m.value), true);
        return Result.Ok;
      },
    };
  }
}

/** One network connection driven through the module's L4 callbacks. */
export class Connection {
  constructor(
    readonly host: ProxyWasmHost,
    readonly id: number,
  ) {}

  /** Client → upstream bytes (observed by sitio, never changed). */
  downstream(bytes: Buffer | string, endOfStream = false): void {
    const b = typeof bytes === "string" ? Buffer.from(bytes, "latin1") : bytes;
    this.host.withBuffer(BufferType.Downstream, b, () => this.host.call("proxy_on_downstream_data", this.id, b.length, endOfStream ? 1 : 0));
  }

  /** Upstream → client bytes; returns what the client would receive for them. */
  upstream(bytes: Buffer | string, endOfStream = false): Buffer {
    const b = typeof bytes === "string" ? Buffer.from(bytes, "latin1") : bytes;
    return this.host.withBuffer(BufferType.Upstream, b, () => this.host.call("proxy_on_upstream_data", this.id, b.length, endOfStream ? 1 : 0));
  }

  /** Closes the connection the way Envoy does: close callbacks, then done and delete. */
  close(): void {
    this.host.call("proxy_on_downstream_connection_close", this.id, 1);
    this.host.call("proxy_on_upstream_connection_close", this.id, 1);
    this.host.call("proxy_on_done", this.id);
    this.host.call("proxy_on_delete", this.id);
  }
}

/** Serialises a header map as the ABI does: count, (name size, value size) per pair, then each name and value NUL-terminated. */
export function encodeHeaderPairs(pairs: Headers): Buffer {
  const head = Buffer.alloc(4 + 8 * pairs.length);
  head.writeUInt32LE(pairs.length, 0);
  const parts: Buffer[] = [head];
  pairs.forEach(([k, v], i) => {
    const key = Buffer.from(k, "latin1");
    const value = Buffer.from(v, "latin1");
    head.writeUInt32LE(key.length, 4 + 8 * i);
    head.writeUInt32LE(value.length, 8 + 8 * i);
    parts.push(key, Buffer.from([0]), value, Buffer.from([0]));
  });
  return Buffer.concat(parts);
}

/** Header pairs, names in lower case (as Envoy hands them to filters). */
export type Headers = [string, string][];

export interface LocalResponse {
  status: number;
  details: string;
  body: Buffer;
  headers: Headers;
  grpcStatus: number;
}

enum HeaderMapType {
  RequestHeaders = 0,
  ResponseHeaders = 2,
  ResponseTrailers = 3,
}

/** Envoy's `response.flags` bits (StreamInfo::CoreResponseFlag, measured in Envoy 1.40). */
export const ResponseFlag = {
  /** DC: the downstream connection closed. */
  DownstreamConnectionTermination: 1n << 14n,
  /** DR: the client reset the stream. */
  DownstreamRemoteReset: 1n << 28n,
} as const;

/** The ABI's serialised header pairs: count, (key size, value size)*, then each key and value NUL-terminated. */
export function decodeHeaderPairs(b: Buffer): Headers {
  if (b.length < 4) return [];
  const n = b.readUInt32LE(0);
  const out: Headers = [];
  let at = 4 + 8 * n;
  for (let i = 0; i < n; i++) {
    const k = b.readUInt32LE(4 + 8 * i);
    const v = b.readUInt32LE(8 + 8 * i);
    const key = b.subarray(at, at + k).toString("latin1");
    at += k + 1;
    out.push([key, b.subarray(at, at + v).toString("latin1")]);
    at += v + 1;
  }
  return out;
}

/**
 * One HTTP request driven through the module's L7 callbacks, in Envoy's order:
 * request headers, response headers, response trailers (when the response has
 * them), then log, done and delete. Header maps stay readable until the end, as
 * in Envoy's access-log phase.
 */
export class HttpExchange {
  private request: Headers = [];
  private response: Headers | null = null;
  private trailers: Headers | null = null;
  /** Envoy's `response.code_details` for this stream: "via_upstream" for an upstream's response, else why Envoy answered itself. */
  codeDetails = "via_upstream";
  /** Envoy's `response.flags` for this stream (ResponseFlag bits). */
  responseFlags = 0n;
  /** The log phase can read the response headers and trailers (Envoy: yes); false plays a host whose log phase cannot. */
  responseMapsInLog = true;

  constructor(
    readonly host: ProxyWasmHost,
    readonly id: number,
  ) {}

  private run(fn: () => number, logPhase = false): number {
    this.host.properties.set("response\0code_details", this.codeDetails);
    const flags = Buffer.alloc(8);
    flags.writeBigUInt64LE(this.responseFlags);
    this.host.properties.set("response\0flags", flags);
    this.host.headerMaps.clear();
    this.host.headerMaps.set(HeaderMapType.RequestHeaders, this.request);
    const response = !logPhase || this.responseMapsInLog;
    if (this.response && response) this.host.headerMaps.set(HeaderMapType.ResponseHeaders, this.response);
    if (this.trailers && response) this.host.headerMaps.set(HeaderMapType.ResponseTrailers, this.trailers);
    try {
      return fn();
    } finally {
      this.host.headerMaps.clear();
    }
  }

  /** Envoy parsed the request but answered it before the filter chain ran: only the log phase sees these headers. */
  requestHeadersLogOnly(headers: Record<string, string>): void {
    this.request = Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]);
  }

  /** proxy_on_request_headers; returns the filter status. */
  requestHeaders(headers: Record<string, string>, endOfStream = true): number {
    this.request = Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]);
    return this.run(() => this.host.call("proxy_on_request_headers", this.id, this.request.length, endOfStream ? 1 : 0));
  }

  /**
   * proxy_on_response_headers; returns the filter status and the local response the
   * module sent instead, if any (which then becomes the response the log phase sees).
   */
  responseHeaders(headers: Record<string, string>, endOfStream = true): { status: number; local: LocalResponse | null } {
    this.response = Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]);
    this.host.localResponse = null;
    const status = this.run(() => this.host.call("proxy_on_response_headers", this.id, this.response!.length, endOfStream ? 1 : 0));
    const local = this.host.localResponse as LocalResponse | null;
    this.host.localResponse = null;
    if (local) this.response = [[":status", String(local.status)], ...local.headers];
    return { status, local };
  }

  /** proxy_on_response_trailers (Envoy calls it only when the response has trailers); returns the filter status. */
  responseTrailers(trailers: Record<string, string>): number {
    this.trailers = Object.entries(trailers).map(([k, v]) => [k.toLowerCase(), v]);
    return this.run(() => this.host.call("proxy_on_response_trailers", this.id, this.trailers!.length));
  }

  /** The stream ends: proxy_on_log, proxy_on_done, proxy_on_delete. */
  end(): void {
    this.run(() => this.host.call("proxy_on_log", this.id), true);
    this.host.call("proxy_on_done", this.id);
    this.host.call("proxy_on_delete", this.id);
  }
}
