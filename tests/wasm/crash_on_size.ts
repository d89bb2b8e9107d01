// TEST-ONLY module (never shipped): sitio exactly as built from
// assembly/index.ts, except that a downstream read of exactly CRASH_SIZE bytes
// traps the VM. tests/faults.test.ts uses it to see what Envoy does when the
// wasm VM fails (failure_policy) and that sitio's counters outlive the VM.
// Built by that test into build/test/; the shipped build/sitio.wasm has no such path.
// (Each export forwards to sitio's own: AssemblyScript 0.17 cannot re-export
// a module's functions while replacing one of them.)

import * as sitio from "../../assembly/abi/proxy_wasm_0_2_1";

const CRASH_SIZE: u32 = 7777;

export function proxy_on_downstream_data(context_id: u32, data_size: u32, end_of_stream: u32): u32 {
  if (data_size == CRASH_SIZE) unreachable();
  return sitio.proxy_on_downstream_data(context_id, data_size, end_of_stream);
}

export function malloc(size: i32): usize {
  return sitio.malloc(size);
}
export function proxy_abi_version_0_2_1(): void {}
export function proxy_on_context_create(context_id: u32, root_context_id: u32): void {
  sitio.proxy_on_context_create(context_id, root_context_id);
}
export function proxy_on_vm_start(root_context_id: u32, size: u32): u32 {
  return sitio.proxy_on_vm_start(root_context_id, size);
}
export function proxy_on_configure(root_context_id: u32, size: u32): u32 {
  return sitio.proxy_on_configure(root_context_id, size);
}
export function proxy_on_tick(root_context_id: u32): void {
  sitio.proxy_on_tick(root_context_id);
}
export function proxy_on_downstream_connection_close(context_id: u32, peer: u32): void {
  sitio.proxy_on_downstream_connection_close(context_id, peer);
}
export function proxy_on_upstream_data(context_id: u32, data_size: u32, end_of_stream: u32): u32 {
  return sitio.proxy_on_upstream_data(context_id, data_size, end_of_stream);
}
export function proxy_on_upstream_connection_close(context_id: u32, peer: u32): void {
  sitio.proxy_on_upstream_connection_close(context_id, peer);
}
export function proxy_on_request_headers(context_id: u32, headers: u32, end_of_stream: u32): u32 {
  return sitio.proxy_on_request_headers(context_id, headers, end_of_stream);
}
export function proxy_on_response_headers(context_id: u32, headers: u32, end_of_stream: u32): u32 {
  return sitio.proxy_on_response_headers(context_id, headers, end_of_stream);
}
export function proxy_on_log(context_id: u32): void {
  sitio.proxy_on_log(context_id);
}
export function proxy_on_done(context_id: u32): u32 {
  return sitio.proxy_on_done(context_id);
}
export function proxy_on_delete(context_id: u32): void {
  sitio.proxy_on_delete(context_id);
}
