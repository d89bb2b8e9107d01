// Safe wrappers over the proxy-wasm ABI v0.2.1 host calls sitio uses.
//
// Every wrapper returns a status or a plain value and never throws: a throw
// under `--use abort=...` ends the whole VM, and with it every connection.
// Together with proxy_wasm_0_2_1.ts this is the only code that handles raw
// host pointers; everything above it works on `Bytes` views and plain values.

import * as sdk from "@solo-io/proxy-runtime/assembly/imports";
import { freeHostMemory } from "./host_memory";
import { latin1 } from "../bytes/latin1";

// Imports the SDK lacks or binds wrongly (its `proxy_set_buffer_status` is
// bound to the host's `proxy_get_buffer_status`).

// @ts-ignore: decorator
@external("env", "proxy_set_buffer_bytes")
declare function proxy_set_buffer_bytes(buffer_type: u32, start: u32, length: u32, data: usize, size: usize): u32;

// @ts-ignore: decorator
@external("env", "proxy_get_log_level")
declare function proxy_get_log_level(level_ptr: usize): u32;

/** ABI `WasmResult` (spec v0.2.1, numbered as there). */
export enum WasmResult {
  Ok = 0,
  NotFound = 1,
  BadArgument = 2,
  SerializationFailure = 3,
  ParseFailure = 4,
  BadExpression = 5,
  InvalidMemoryAccess = 6,
  Empty = 7,
  CasMismatch = 8,
  ResultMismatch = 9,
  InternalFailure = 10,
  BrokenConnection = 11,
  Unimplemented = 12,
}

/** ABI `LogLevel`. */
export enum LogLevel {
  Trace = 0,
  Debug = 1,
  Info = 2,
  Warn = 3,
  Error = 4,
  Critical = 5,
}

/** ABI `BufferType`. */
export enum BufferType {
  HttpRequestBody = 0,
  HttpResponseBody = 1,
  NetworkDownstreamData = 2,
  NetworkUpstreamData = 3,
  HttpCallResponseBody = 4,
  GrpcReceiveBuffer = 5,
  VmConfiguration = 6,
  PluginConfiguration = 7,
}

/** ABI `HeaderMapType`. */
export enum HeaderMapType {
  RequestHeaders = 0,
  RequestTrailers = 1,
  ResponseHeaders = 2,
  ResponseTrailers = 3,
}

/** ABI `MetricType`. */
export enum MetricType {
  Counter = 0,
  Gauge = 1,
  Histogram = 2,
}

/** ABI `PeerType` (who closed a connection). */
export enum PeerType {
  Unknown = 0,
  Local = 1,
  Remote = 2,
}

/** ABI `FilterStatus` returned by the network (L4) callbacks. */
export enum FilterStatus {
  Continue = 0,
  StopIteration = 1,
}

/** ABI `FilterHeadersStatus` returned by the HTTP headers callbacks. */
export enum FilterHeadersStatus {
  Continue = 0,
  StopIteration = 1,
}

/** ABI `FilterTrailersStatus` returned by the HTTP trailers callbacks. */
export enum FilterTrailersStatus {
  Continue = 0,
  StopIteration = 1,
}

/** Out-parameters the host writes into. One instance, consumed immediately by each wrapper. */
@unmanaged
class OutParams {
  ptr: usize;
  size: usize;
  u32v: u32;
  u64v: u64;
}
const out = changetype<OutParams>(memory.data(offsetof<OutParams>(), 8));

/**
 * A view of bytes the host copied into wasm memory (owned by the caller until `release()`).
 * One instance is reused for every read so the data path allocates nothing of its own.
 */
export class Bytes {
  ptr: usize = 0;
  len: i32 = 0;

  /** Frees the host's copy. Safe to call twice. */
  release(): void {
    if (this.ptr != 0) {
      freeHostMemory(this.ptr);
      this.ptr = 0;
      this.len = 0;
    }
  }
}

/** Reads `length` bytes of a host buffer from `start` into `into`. False when the host has none. */
export function readBuffer(type: BufferType, start: u32, length: u32, into: Bytes): bool {
  into.release();
  out.ptr = 0;
  out.size = 0;
  let r = sdk.proxy_get_buffer_bytes(type, start, length, changetype<usize>(out) + offsetof<OutParams>("ptr"), changetype<usize>(out) + offsetof<OutParams>("size"));
  if (r != WasmResult.Ok || out.ptr == 0) return false;
  into.ptr = out.ptr;
  into.len = <i32>out.size;
  return true;
}

/** Replaces `length` bytes at `start` of a host buffer with `len` bytes at `ptr`. */
export function writeBuffer(type: BufferType, start: u32, length: u32, ptr: usize, len: i32): WasmResult {
  return proxy_set_buffer_bytes(type, start, length, ptr, len);
}

/** The plugin configuration as a string ("" when absent). */
export function pluginConfiguration(size: u32): string {
  let b = new Bytes();
  if (size == 0 || !readBuffer(BufferType.PluginConfiguration, 0, size, b)) return "";
  let s = String.UTF8.decodeUnsafe(b.ptr, b.len);
  b.release();
  return s;
}

/** A host property as a string, or "" when absent; `path` segments are separated by dots (`response.code_details`). */
export function property(path: string): string {
  let key = String.UTF8.encode(path);
  let k = changetype<usize>(key);
  for (let i = 0; i < key.byteLength; i++) if (load<u8>(k + <usize>i) == 46) store<u8>(k + <usize>i, 0);
  out.ptr = 0;
  out.size = 0;
  let r = sdk.proxy_get_property(changetype<usize>(key), key.byteLength, changetype<usize>(out) + offsetof<OutParams>("ptr"), changetype<usize>(out) + offsetof<OutParams>("size"));
  if (r != WasmResult.Ok || out.ptr == 0) return "";
  let s = String.UTF8.decodeUnsafe(out.ptr, out.size);
  freeHostMemory(out.ptr);
  return s;
}

/**
 * A host property holding an integer (Envoy serialises CEL ints as 8 bytes,
 * little-endian: `response.flags`, `response.code`), or `fallback` when absent
 * or not 8 bytes long.
 */
export function propertyU64(path: string, fallback: u64): u64 {
  let key = String.UTF8.encode(path);
  let k = changetype<usize>(key);
  for (let i = 0; i < key.byteLength; i++) if (load<u8>(k + <usize>i) == 46) store<u8>(k + <usize>i, 0);
  out.ptr = 0;
  out.size = 0;
  let r = sdk.proxy_get_property(k, key.byteLength, changetype<usize>(out) + offsetof<OutParams>("ptr"), changetype<usize>(out) + offsetof<OutParams>("size"));
  if (r != WasmResult.Ok || out.ptr == 0) return fallback;
  let v = out.size == 8 ? load<u64>(out.ptr) : fallback;
  freeHostMemory(out.ptr);
  return v;
}

// ---------------------------------------------------------------- shared data
// A key-value store the host keeps for all VMs of one vm_id (every worker's
// VM), with compare-and-swap: each value carries a `cas` that changes on every
// set; a set with a non-zero cas fails with CasMismatch unless it is the
// current one. A set on a missing key always succeeds.

/** The cas of the value the last `sharedDataGet` found. */
export let sharedDataCas: u32 = 0;

/**
 * Reads a shared value into `into` (released by the caller); its cas is left in
 * `sharedDataCas`. NotFound when the key is absent.
 */
export function sharedDataGet(keyPtr: usize, keyLen: i32, into: Bytes): WasmResult {
  into.release();
  out.ptr = 0;
  out.size = 0;
  out.u32v = 0;
  let r = sdk.proxy_get_shared_data(
    keyPtr,
    keyLen,
    changetype<usize>(out) + offsetof<OutParams>("ptr"),
    changetype<usize>(out) + offsetof<OutParams>("size"),
    changetype<usize>(out) + offsetof<OutParams>("u32v"),
  );
  sharedDataCas = out.u32v;
  if (r == WasmResult.Ok && out.ptr != 0) {
    into.ptr = out.ptr;
    into.len = <i32>out.size;
  }
  return <WasmResult>r;
}

/** Writes a shared value; `cas` 0 writes unconditionally, else only over that version (CasMismatch otherwise). */
export function sharedDataSet(keyPtr: usize, keyLen: i32, valuePtr: usize, valueLen: i32, cas: u32): WasmResult {
  return <WasmResult>sdk.proxy_set_shared_data(keyPtr, keyLen, valuePtr, valueLen, cas);
}

/** Wall-clock time from the host, in nanoseconds. */
export function nowNs(): u64 {
  out.u64v = 0;
  sdk.proxy_get_current_time_nanoseconds(changetype<usize>(out) + offsetof<OutParams>("u64v"));
  return out.u64v;
}

/** Asks the host to call `proxy_on_tick` every `ms` milliseconds on this root context. */
export function setTickPeriod(ms: u32): WasmResult {
  return sdk.proxy_set_tick_period_milliseconds(ms);
}

/** Defines (or finds) a host metric; returns its id, or u32.MAX_VALUE when the host refused. */
export function defineMetric(type: MetricType, name: string): u32 {
  let n = String.UTF8.encode(name);
  out.u32v = u32.MAX_VALUE;
  let r = sdk.proxy_define_metric(type, changetype<usize>(n), n.byteLength, changetype<usize>(out) + offsetof<OutParams>("u32v"));
  return r == WasmResult.Ok ? out.u32v : u32.MAX_VALUE;
}

/** Adds `delta` to a counter or gauge. */
export function incrementMetric(id: u32, delta: i64): void {
  if (id != u32.MAX_VALUE) sdk.proxy_increment_metric(id, delta);
}

/** Records a histogram sample or sets a gauge. */
export function recordMetric(id: u32, value: u64): void {
  if (id != u32.MAX_VALUE) sdk.proxy_record_metric(id, value);
}

/** Reads a counter or gauge value (u64.MAX_VALUE when unknown). */
export function metricValue(id: u32): u64 {
  out.u64v = u64.MAX_VALUE;
  if (id == u32.MAX_VALUE) return u64.MAX_VALUE;
  let r = sdk.proxy_get_metric(id, changetype<usize>(out) + offsetof<OutParams>("u64v"));
  return r == WasmResult.Ok ? out.u64v : u64.MAX_VALUE;
}

/** The host's current log level for wasm; callers test it before building a message. */
export function logLevel(): LogLevel {
  out.u32v = LogLevel.Info;
  proxy_get_log_level(changetype<usize>(out) + offsetof<OutParams>("u32v"));
  return <LogLevel>out.u32v;
}

/** Writes one log line through the host. */
export function log(level: LogLevel, message: string): void {
  let m = String.UTF8.encode(message);
  sdk.proxy_log(level, changetype<usize>(m), m.byteLength);
}

// ---------------------------------------------------------------- HTTP header maps
// The SDK's getter decodes values as UTF-8 (its replace/remove wrappers even
// throw on any non-Ok status); this one reads values byte for byte, like the
// network filter reads request targets.

/** A header's value, one code unit per byte ("" when absent). */
export function headerValue(map: HeaderMapType, name: string): string {
  let key = String.UTF8.encode(name);
  out.ptr = 0;
  out.size = 0;
  let r = sdk.proxy_get_header_map_value(map, changetype<usize>(key), key.byteLength, changetype<usize>(out) + offsetof<OutParams>("ptr"), changetype<usize>(out) + offsetof<OutParams>("size"));
  if (r != WasmResult.Ok || out.ptr == 0) return "";
  let s = latin1(out.ptr, <i32>out.size);
  freeHostMemory(out.ptr);
  return s;
}

/** Reads one header's value into `into` (`key`: the name, encoded once by the caller); false when absent. */
export function readHeader(map: HeaderMapType, key: ArrayBuffer, into: Bytes): bool {
  into.release();
  out.ptr = 0;
  out.size = 0;
  let r = sdk.proxy_get_header_map_value(map, changetype<usize>(key), key.byteLength, changetype<usize>(out) + offsetof<OutParams>("ptr"), changetype<usize>(out) + offsetof<OutParams>("size"));
  if (r != WasmResult.Ok || out.ptr == 0) return false;
  into.ptr = out.ptr;
  into.len = <i32>out.size;
  return true;
}

/**
 * Reads a whole header map in one call into `into`, in the ABI's layout: the
 * count (u32), a (name size, value size) pair of u32 per header, then each
 * name and value followed by a NUL. One host call (and one copy into wasm
 * memory) instead of one per header: HeaderPairs walks it.
 */
export function readHeaderPairs(map: HeaderMapType, into: Bytes): bool {
  into.release();
  out.ptr = 0;
  out.size = 0;
  let r = sdk.proxy_get_header_map_pairs(map, changetype<usize>(out) + offsetof<OutParams>("ptr"), changetype<usize>(out) + offsetof<OutParams>("size"));
  if (r != WasmResult.Ok || out.ptr == 0) return false;
  into.ptr = out.ptr;
  into.len = <i32>out.size;
  return true;
}

/**
 * Walks the pairs `readHeaderPairs` read: `next()` moves to the next header
 * and sets `name`/`nameLength`/`value`/`valueLength` (pointers into the
 * view). A malformed layout (sizes that do not fit) ends the walk.
 */
export class HeaderPairs {
  name: usize = 0;
  nameLength: i32 = 0;
  value: usize = 0;
  valueLength: i32 = 0;
  private sizes: usize = 0;
  private data: usize = 0;
  private end: usize = 0;
  private left: i32 = 0;

  start(b: Bytes): void {
    this.left = 0;
    if (b.len < 4) return;
    let count = load<u32>(b.ptr);
    if (<u64>count * 8 + 4 > <u64>b.len) return;
    this.left = <i32>count;
    this.sizes = b.ptr + 4;
    this.data = b.ptr + 4 + (<usize>count << 3);
    this.end = b.ptr + <usize>b.len;
  }

  next(): bool {
    if (this.left <= 0) return false;
    this.left--;
    let n = load<u32>(this.sizes);
    let v = load<u32>(this.sizes, 4);
    this.sizes += 8;
    if (<u64>n + <u64>v + 2 > <u64>(this.end - this.data)) {
      this.left = 0;
      return false;
    }
    this.name = this.data;
    this.nameLength = <i32>n;
    this.value = this.data + <usize>n + 1;
    this.valueLength = <i32>v;
    this.data += <usize>n + <usize>v + 2;
    return true;
  }

  /** The current header's name is `lowerName` (names come lower-case from Envoy). */
  nameIs(lowerName: string): bool {
    let n = this.nameLength;
    if (n != lowerName.length) return false;
    for (let i = 0; i < n; i++) if (<i32>load<u8>(this.name + <usize>i) != lowerName.charCodeAt(i)) return false;
    return true;
  }
}

/** A header name and value for `sendLocalResponse`. */
export class HeaderPair {
  constructor(public name: string, public value: string) {}
}

/**
 * Serialises header pairs as the ABI wants them: the count, then (name size,
 * value size) per pair, then each name and value followed by a NUL. Encoded
 * once per configuration by the caller.
 */
export function encodeHeaderPairs(pairs: HeaderPair[]): ArrayBuffer {
  let names = new Array<ArrayBuffer>(pairs.length);
  let values = new Array<ArrayBuffer>(pairs.length);
  let size = 4 + 8 * pairs.length;
  for (let i = 0; i < pairs.length; i++) {
    names[i] = String.UTF8.encode(pairs[i].name);
    values[i] = String.UTF8.encode(pairs[i].value);
    size += names[i].byteLength + values[i].byteLength + 2;
  }
  let buf = new ArrayBuffer(size);
  let p = changetype<usize>(buf);
  store<u32>(p, pairs.length);
  let at = p + 4 + 8 * <usize>pairs.length;
  for (let i = 0; i < pairs.length; i++) {
    let n = names[i];
    let v = values[i];
    store<u32>(p + 4 + 8 * <usize>i, n.byteLength);
    store<u32>(p + 8 + 8 * <usize>i, v.byteLength);
    memory.copy(at, changetype<usize>(n), n.byteLength);
    at += n.byteLength;
    store<u8>(at++, 0);
    memory.copy(at, changetype<usize>(v), v.byteLength);
    at += v.byteLength;
    store<u8>(at++, 0);
  }
  return buf;
}

/** ABI "no gRPC status" for a local response (an HTTP, not a gRPC, reply). */
const NO_GRPC_STATUS: u32 = 0xffffffff;

/**
 * Answers the current HTTP stream from the filter (proxy_send_local_response):
 * `status`, `details` (Envoy's response_code_details), the body, and headers
 * encoded by `encodeHeaderPairs`.
 */
export function sendLocalResponse(status: u32, details: ArrayBuffer, body: ArrayBuffer, headers: ArrayBuffer): WasmResult {
  return sdk.proxy_send_local_response(
    status,
    changetype<usize>(details),
    details.byteLength,
    changetype<usize>(body),
    body.byteLength,
    changetype<usize>(headers),
    headers.byteLength,
    NO_GRPC_STATUS,
  );
}
