// sitio: per-endpoint usage, response times, connection counts and custom 404
// pages for Envoy, as a proxy-wasm (ABI v0.2.1) filter. This file is the
// module's surface: every `proxy_on_*` export sitio serves, and `malloc`.
//
// (The host calls sitio makes are wrapped in abi/host.ts.)
// - The SDK's exports are not used at all: they have no network (L4)
//   callbacks, read the plugin configuration into a bad pointer, and log every
//   live context id on each new context (O(live contexts) per connection).
//   Here each export is one O(1) lookup in a context table and one forward to
//   the context's hook.
// - only the callbacks sitio has work for. Envoy skips a callback the module
//   does not export, and every callback is a VM entry (measured under callgrind
//   in Envoy 1.40: about 6,000 instructions each). So these are left out:
//   proxy_on_new_connection (a connection is counted when its context is
//   created: Envoy creates it as it accepts the connection);
//   proxy_on_downstream_connection_close and proxy_on_upstream_connection_close
//   (the upstream's end arrives as proxy_on_upstream_data with end_of_stream,
//   and proxy_on_delete follows every connection however it ends);
//   proxy_on_done (proxy_on_delete does its work); proxy_on_request_body and
//   proxy_on_response_body (sitio never looks at HTTP bodies; the latter would
//   run for every chunk of every response). Export a callback again when a
//   hook needs it.
// - garbage collection (the minimal runtime, asconfig.json) runs only when
//   asked, and may only be asked when nothing of the module is on the stack,
//   i.e. first thing in a callback: at every tick (once a second per network
//   plugin), and at the next callback after linear memory grew. The data path
//   allocates nothing, so there is little to collect.

import { LogLevel, log, property } from "./abi/host";
import { HTTP_ROOT_ID, HttpRoot } from "./http/root";
import { HttpStream } from "./http/stream";
import { NETWORK_ROOT_ID, NetworkRoot } from "./network/root";
import { NetworkStream } from "./network/stream";

// ---------------------------------------------------------------- memory and version

export { malloc } from "./abi/host_memory";
import { shrinkScratch } from "./abi/host_memory";
import { decimal } from "./bytes/decimal";

/** Tells the host which ABI this module speaks. */
export function proxy_abi_version_0_2_1(): void {}

// The host's WASI exit (Envoy provides it under both WASI module names); it ends the VM.
// @ts-ignore: decorator
@external("wasi_snapshot_preview1", "proc_exit")
declare function proc_exit(code: u32): void;

/** Used by the compiler for `abort` (`--use abort=sitio_abort`): log once, then stop the VM. */
// @ts-ignore: decorator
@global
function sitio_abort(message: string | null, file: string | null, line: u32, column: u32): void {
  let text = "sitio: wasm abort";
  if (message !== null) text += ": " + message;
  if (file !== null) text += " at " + file + ":" + decimal(line) + ":" + decimal(column);
  log(LogLevel.Critical, text);
  proc_exit(255);
}

// ---------------------------------------------------------------- garbage collection

/** Linear memory pages after the last collection. */
let pagesAtCollect: i32 = 0;

function collect(): void {
  __collect();
  pagesAtCollect = memory.size();
}

/** First thing in every callback: collects when memory grew since the last collection (rare). */
// @ts-ignore: decorator
@inline
function collectIfGrown(): void {
  if (memory.size() != pagesAtCollect) collect();
}

// ---------------------------------------------------------------- context table

/**
 * Contexts by id: open addressing over u32 ids (Envoy numbers contexts from 1
 * up), one probe in the common case, null when absent. Grows by doubling.
 */
class ContextTable<T> {
  private ids: StaticArray<u32> = new StaticArray<u32>(64);
  private values: StaticArray<T | null> = new StaticArray<T | null>(64);
  private count: i32 = 0;

  get(id: u32): T | null {
    let mask = <u32>this.ids.length - 1;
    let i = id & mask;
    let k = unchecked(this.ids[i]);
    while (k != id) {
      if (k == 0) return null;
      i = (i + 1) & mask;
      k = unchecked(this.ids[i]);
    }
    return unchecked(this.values[i]);
  }

  set(id: u32, value: T): void {
    if ((this.count + 1) * 2 > this.ids.length) this.grow();
    this.place(id, value);
  }

  delete(id: u32): void {
    let mask = <u32>this.ids.length - 1;
    let i = id & mask;
    for (;;) {
      let k = unchecked(this.ids[i]);
      if (k == 0) return;
      if (k == id) break;
      i = (i + 1) & mask;
    }
    // remove, then re-place the entries of the same run after it (linear probing)
    unchecked((this.ids[i] = 0));
    unchecked((this.values[i] = null));
    this.count--;
    let j = (i + 1) & mask;
    while (unchecked(this.ids[j]) != 0) {
      let k = unchecked(this.ids[j]);
      let v = unchecked(this.values[j]);
      unchecked((this.ids[j] = 0));
      unchecked((this.values[j] = null));
      this.count--;
      this.place(k, changetype<T>(v));
      j = (j + 1) & mask;
    }
  }

  private place(id: u32, value: T): void {
    let mask = <u32>this.ids.length - 1;
    let i = id & mask;
    for (;;) {
      let k = unchecked(this.ids[i]);
      if (k == id) {
        unchecked((this.values[i] = value));
        return;
      }
      if (k == 0) break;
      i = (i + 1) & mask;
    }
    unchecked((this.ids[i] = id));
    unchecked((this.values[i] = value));
    this.count++;
  }

  private grow(): void {
    let ids = this.ids;
    let values = this.values;
    this.ids = new StaticArray<u32>(ids.length << 1);
    this.values = new StaticArray<T | null>(ids.length << 1);
    this.count = 0;
    for (let i = 0; i < ids.length; i++) {
      let k = unchecked(ids[i]);
      if (k != 0) this.place(k, changetype<T>(unchecked(values[i])));
    }
  }
}

const networkRoots = new ContextTable<NetworkRoot>();
const networkStreams = new ContextTable<NetworkStream>();
const httpRoots = new ContextTable<HttpRoot>();
const httpStreams = new ContextTable<HttpStream>();
/** Root ids whose `root_id` matched no class; their configure fails with a clear line. */
const unknownRoots = new ContextTable<string>();

// ---------------------------------------------------------------- root callbacks

/** A root (per plugin) or stream (per connection / HTTP request) context is created. */
export function proxy_on_context_create(context_id: u32, root_context_id: u32): void {
  collectIfGrown();
  if (root_context_id == 0) {
    let rootId = property("plugin_root_id");
    if (rootId == NETWORK_ROOT_ID) networkRoots.set(context_id, new NetworkRoot(context_id));
    else if (rootId == HTTP_ROOT_ID) httpRoots.set(context_id, new HttpRoot(context_id));
    else unknownRoots.set(context_id, rootId);
    return;
  }
  let networkRoot = networkRoots.get(root_context_id);
  if (networkRoot !== null) {
    // A root whose configuration was refused has no metrics; Envoy sends it no traffic.
    if (networkRoot.metrics === null) return;
    let stream = networkRoot.newStream(context_id);
    networkStreams.set(context_id, stream);
    stream.onNewConnection();
    return;
  }
  let httpRoot = httpRoots.get(root_context_id);
  if (httpRoot !== null && httpRoot.metrics !== null) httpStreams.set(context_id, httpRoot.newStream(context_id));
}

/** The VM started; nothing to do until a plugin is configured. */
export function proxy_on_vm_start(root_context_id: u32, vm_configuration_size: u32): u32 {
  return 1;
}

/** A plugin's configuration arrived (start-up or reload). 0 rejects it. */
export function proxy_on_configure(root_context_id: u32, configuration_size: u32): u32 {
  collectIfGrown();
  let networkRoot = networkRoots.get(root_context_id);
  if (networkRoot !== null) return networkRoot.onConfigure(configuration_size) ? 1 : 0;
  let httpRoot = httpRoots.get(root_context_id);
  if (httpRoot !== null) return httpRoot.onConfigure(configuration_size) ? 1 : 0;
  let unknown = unknownRoots.get(root_context_id);
  let rootId = unknown !== null ? unknown : "";
  log(LogLevel.Critical, "sitio: unknown root_id \"" + rootId + "\": use \"" + NETWORK_ROOT_ID + "\" (network filter) or \"" + HTTP_ROOT_ID + "\" (HTTP filter)");
  return 0;
}

/** The tick period set by a root elapsed. */
export function proxy_on_tick(root_context_id: u32): void {
  // a full collection first: nothing of the module is on the stack here, and the heap figure published next is then exact
  shrinkScratch();
  collect();
  let root = networkRoots.get(root_context_id);
  if (root !== null) root.onTick();
  let httpRoot = httpRoots.get(root_context_id);
  if (httpRoot !== null) httpRoot.onTick();
}

// ---------------------------------------------------------------- network (L4) callbacks, in call order

export function proxy_on_downstream_data(context_id: u32, data_size: u32, end_of_stream: u32): u32 {
  collectIfGrown();
  let stream = networkStreams.get(context_id);
  return stream !== null ? stream.onDownstreamData(data_size, end_of_stream != 0) : 0;
}

export function proxy_on_upstream_data(context_id: u32, data_size: u32, end_of_stream: u32): u32 {
  collectIfGrown();
  let stream = networkStreams.get(context_id);
  return stream !== null ? stream.onUpstreamData(data_size, end_of_stream != 0) : 0;
}

// ---------------------------------------------------------------- HTTP (L7) callbacks, in call order

export function proxy_on_request_headers(context_id: u32, headers: u32, end_of_stream: u32): u32 {
  collectIfGrown();
  let stream = httpStreams.get(context_id);
  return stream !== null ? stream.onRequestHeaders(headers, end_of_stream != 0) : 0;
}

export function proxy_on_response_headers(context_id: u32, headers: u32, end_of_stream: u32): u32 {
  collectIfGrown();
  let stream = httpStreams.get(context_id);
  return stream !== null ? stream.onResponseHeaders(headers, end_of_stream != 0) : 0;
}

/** Response trailers (a gRPC call's grpc-status); Envoy calls it only for responses that have them. */
export function proxy_on_response_trailers(context_id: u32, trailers: u32): u32 {
  collectIfGrown();
  let stream = httpStreams.get(context_id);
  return stream !== null ? stream.onResponseTrailers(trailers) : 0;
}

/** The stream's access-log phase: every request gets one, also local replies and resets. */
export function proxy_on_log(context_id: u32): void {
  collectIfGrown();
  let stream = httpStreams.get(context_id);
  if (stream !== null) stream.onLog();
}

// ---------------------------------------------------------------- end of any context

/** The context is gone (a connection or request ended, a plugin went away): its effects run once, then it is forgotten. */
export function proxy_on_delete(context_id: u32): void {
  collectIfGrown();
  let networkStream = networkStreams.get(context_id);
  if (networkStream !== null) {
    networkStream.onDelete();
    networkStreams.delete(context_id);
    return;
  }
  let httpStream = httpStreams.get(context_id);
  if (httpStream !== null) {
    httpStream.onDelete();
    httpStreams.delete(context_id);
    return;
  }
  let networkRoot = networkRoots.get(context_id);
  if (networkRoot !== null) {
    networkRoot.onDelete();
    networkRoots.delete(context_id);
  }
  httpRoots.delete(context_id);
  unknownRoots.delete(context_id);
}
