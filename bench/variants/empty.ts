// BENCH-ONLY module (never shipped): the proxy-wasm ABI floor for
// `npm run bench -- --profile` (scripts/bench/profile.ts).
//
// It exports the callbacks sitio exports (assembly/index.ts) and does nothing
// in any of them but return Continue, so Envoy pays for each VM entry and
// nothing more. The profile checks that this export list still matches
// build/sitio.wasm's and says so when it does not.

/** Tells the host which ABI this module speaks. */
export function proxy_abi_version_0_2_1(): void {}

export function proxy_on_context_create(context_id: u32, root_context_id: u32): void {}

export function proxy_on_vm_start(root_context_id: u32, vm_configuration_size: u32): u32 {
  return 1;
}

export function proxy_on_configure(root_context_id: u32, configuration_size: u32): u32 {
  return 1;
}

export function proxy_on_tick(root_context_id: u32): void {}

export function proxy_on_downstream_data(context_id: u32, data_size: u32, end_of_stream: u32): u32 {
  return 0;
}

export function proxy_on_upstream_data(context_id: u32, data_size: u32, end_of_stream: u32): u32 {
  return 0;
}

export function proxy_on_request_headers(context_id: u32, headers: u32, end_of_stream: u32): u32 {
  return 0;
}

export function proxy_on_response_headers(context_id: u32, headers: u32, end_of_stream: u32): u32 {
  return 0;
}

export function proxy_on_response_trailers(context_id: u32, trailers: u32): u32 {
  return 0;
}

export function proxy_on_log(context_id: u32): void {}

export function proxy_on_delete(context_id: u32): void {}

/** Nothing here reads from the host, so the host never asks; a bump allocation if it does. */
export function malloc(size: i32): usize {
  return heap.alloc(<usize>max(size, 1));
}
