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
//   created: Envoy creates it as it accepts the connection), and
//   proxy_on_request_body and proxy_on_response_body (sitio never looks at
//   HTTP bodies; the latter would run for every chunk of every response).
//   Export a callback again when a hook needs it.

import { LogLevel, log, property } from "./abi/host";
import { HTTP_ROOT_ID, HttpRoot } from "./http/root";
import { HttpStream } from "./http/stream";
import { NETWORK_ROOT_ID, NetworkRoot } from "./network/root";
import { NetworkStream } from "./network/stream";

// ---------------------------------------------------------------- memory and version

export { malloc } from "./abi/host_memory";
import { shrinkScratch } from "./abi/host_memory";

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
  if (file !== null) text += " at " + file + ":" + line.toString() + ":" + column.toString();
  log(LogLevel.Critical, text);
  proc_exit(255);
}

// ---------------------------------------------------------------- context table

const networkRoots = new Map<u32, NetworkRoot>();
const networkStreams = new Map<u32, NetworkStream>();
const httpRoots = new Map<u32, HttpRoot>();
const httpStreams = new Map<u32, HttpStream>();
/** Root ids whose `root_id` matched no class; their configure fails with a clear line. */
const unknownRoots = new Map<u32, string>();

// ---------------------------------------------------------------- root callbacks

/** A root (per plugin) or stream (per connection / HTTP request) context is created. */
export function proxy_on_context_create(context_id: u32, root_context_id: u32): void {
  if (root_context_id == 0) {
    let rootId = property("plugin_root_id");
    if (rootId == NETWORK_ROOT_ID) networkRoots.set(context_id, new NetworkRoot(context_id));
    else if (rootId == HTTP_ROOT_ID) httpRoots.set(context_id, new HttpRoot(context_id));
    else unknownRoots.set(context_id, rootId);
  } else if (networkRoots.has(root_context_id)) {
    let stream = networkRoots.get(root_context_id).newStream(context_id);
    networkStreams.set(context_id, stream);
    stream.onNewConnection();
  } else if (httpRoots.has(root_context_id)) {
    let root = httpRoots.get(root_context_id);
    // A root whose configuration was refused has no metrics; Envoy sends it no traffic.
    if (root.metrics !== null) httpStreams.set(context_id, root.newStream(context_id));
  }
}

/** The VM started; nothing to do until a plugin is configured. */
export function proxy_on_vm_start(root_context_id: u32, vm_configuration_size: u32): u32 {
  return 1;
}

/** A plugin's configuration arrived (start-up or reload). 0 rejects it. */
export function proxy_on_configure(root_context_id: u32, configuration_size: u32): u32 {
  if (networkRoots.has(root_context_id)) return networkRoots.get(root_context_id).onConfigure(configuration_size) ? 1 : 0;
  if (httpRoots.has(root_context_id)) return httpRoots.get(root_context_id).onConfigure(configuration_size) ? 1 : 0;
  let rootId = unknownRoots.has(root_context_id) ? unknownRoots.get(root_context_id) : "";
  log(LogLevel.Critical, "sitio: unknown root_id \"" + rootId + "\": use \"" + NETWORK_ROOT_ID + "\" (network filter) or \"" + HTTP_ROOT_ID + "\" (HTTP filter)");
  return 0;
}

/** The tick period set by a root elapsed. */
export function proxy_on_tick(root_context_id: u32): void {
  // a full collection first: nothing of the module is on the stack here, and the heap figure published next is then exact
  shrinkScratch();
  __collect();
  if (networkRoots.has(root_context_id)) networkRoots.get(root_context_id).onTick();
}

// ---------------------------------------------------------------- network (L4) callbacks, in call order

export function proxy_on_downstream_data(context_id: u32, data_size: u32, end_of_stream: u32): u32 {
  return networkStreams.has(context_id) ? networkStreams.get(context_id).onDownstreamData(data_size, end_of_stream != 0) : 0;
}

export function proxy_on_downstream_connection_close(context_id: u32, peer_type: u32): void {
  if (networkStreams.has(context_id)) networkStreams.get(context_id).onDownstreamConnectionClose(peer_type);
}

export function proxy_on_upstream_data(context_id: u32, data_size: u32, end_of_stream: u32): u32 {
  return networkStreams.has(context_id) ? networkStreams.get(context_id).onUpstreamData(data_size, end_of_stream != 0) : 0;
}

export function proxy_on_upstream_connection_close(context_id: u32, peer_type: u32): void {
  if (networkStreams.has(context_id)) networkStreams.get(context_id).onUpstreamConnectionClose(peer_type);
}

// ---------------------------------------------------------------- HTTP (L7) callbacks, in call order

export function proxy_on_request_headers(context_id: u32, headers: u32, end_of_stream: u32): u32 {
  return httpStreams.has(context_id) ? httpStreams.get(context_id).onRequestHeaders(headers, end_of_stream != 0) : 0;
}

export function proxy_on_response_headers(context_id: u32, headers: u32, end_of_stream: u32): u32 {
  return httpStreams.has(context_id) ? httpStreams.get(context_id).onResponseHeaders(headers, end_of_stream != 0) : 0;
}

/** Response trailers (a gRPC call's grpc-status); Envoy calls it only for responses that have them. */
export function proxy_on_response_trailers(context_id: u32, trailers: u32): u32 {
  return httpStreams.has(context_id) ? httpStreams.get(context_id).onResponseTrailers(trailers) : 0;
}

/** The stream's access-log phase: every request gets one, also local replies and resets. */
export function proxy_on_log(context_id: u32): void {
  if (httpStreams.has(context_id)) httpStreams.get(context_id).onLog();
}

// ---------------------------------------------------------------- end of any context

/** The host is done with a context; 1 means sitio is done too. */
export function proxy_on_done(context_id: u32): u32 {
  if (networkStreams.has(context_id)) networkStreams.get(context_id).onDone();
  else if (networkRoots.has(context_id)) networkRoots.get(context_id).onDone();
  return 1;
}

/** The context is gone: free everything it held. */
export function proxy_on_delete(context_id: u32): void {
  if (networkStreams.has(context_id)) {
    networkStreams.get(context_id).onDelete();
    networkStreams.delete(context_id);
  } else if (httpStreams.has(context_id)) {
    httpStreams.delete(context_id);
  } else {
    networkRoots.delete(context_id);
    httpRoots.delete(context_id);
    unknownRoots.delete(context_id);
  }
}
