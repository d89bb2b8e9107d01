// BENCH-ONLY module (never shipped): the host-memory floor for
// `npm run bench -- --profile` (scripts/bench/profile.ts).
//
// The callbacks of empty.ts, plus the reads sitio makes of the host in each:
// the network filter reads every downstream and upstream byte through
// proxy_get_buffer_bytes (in windows of 64 KiB, as assembly/network/stream.ts
// does); the HTTP filter reads the request's whole header map in one
// proxy_get_header_map_pairs and the response's :status through
// proxy_get_header_map_value (assembly/http/stream.ts; a gRPC response's
// grpc-status is not read here: the profile sends GET /). When sitio changes
// what it reads, change this file with it. Each read makes Envoy call `malloc` here and copy
// the bytes in; the bytes are then let go unread. `malloc` hands out one
// scratch block, grown when a read needs more, as sitio's does
// (assembly/abi/host_memory.ts), so the module side of a read costs next to
// nothing and what is measured is Envoy's.

const NETWORK_DOWNSTREAM_DATA: u32 = 2;
const NETWORK_UPSTREAM_DATA: u32 = 3;
const REQUEST_HEADERS: u32 = 0;
const RESPONSE_HEADERS: u32 = 2;
const WINDOW: u32 = 64 * 1024;

// @ts-ignore: decorator
@external("env", "proxy_get_buffer_bytes")
declare function proxy_get_buffer_bytes(buffer_type: u32, start: u32, length: u32, ptr_ptr: usize, size_ptr: usize): u32;

// @ts-ignore: decorator
@external("env", "proxy_get_header_map_pairs")
declare function proxy_get_header_map_pairs(map_type: u32, return_ptr_ptr: usize, return_size_ptr: usize): u32;

// @ts-ignore: decorator
@external("env", "proxy_get_header_map_value")
declare function proxy_get_header_map_value(map_type: u32, key_ptr: usize, key_size: usize, value_ptr_ptr: usize, value_size_ptr: usize): u32;

// ---------------------------------------------------------------- memory the host writes into

let scratch: usize = 0;
let scratchSize: usize = 0;

export function malloc(size: i32): usize {
  let want = <usize>max(size, 1);
  if (want > scratchSize) {
    // the stub runtime's heap only grows; a read larger than any before takes a new block
    scratchSize = max<usize>(want, 4096);
    scratch = heap.alloc(scratchSize);
  }
  return scratch;
}

/** Where the host writes the address and size of what it copied in. */
const outPtr = memory.data(8);
const outSize = memory.data(8);

/** A header name as the host wants it (bytes, no terminator). */
const STATUS = memory.data<u8>([0x3a, 0x73, 0x74, 0x61, 0x74, 0x75, 0x73]); // ":status"

/** Reads `size` bytes of a network buffer into the scratch block, window by window, and lets them go. */
function readAll(buffer: u32, size: u32): void {
  for (let pos: u32 = 0; pos < size; pos += WINDOW) {
    if (proxy_get_buffer_bytes(buffer, pos, min(WINDOW, size - pos), outPtr, outSize) != 0) return;
  }
}

function readHeader(map: u32, name: usize, nameSize: usize): void {
  proxy_get_header_map_value(map, name, nameSize, outPtr, outSize);
}

// ---------------------------------------------------------------- the callbacks sitio exports

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
  readAll(NETWORK_DOWNSTREAM_DATA, data_size);
  return 0;
}

export function proxy_on_upstream_data(context_id: u32, data_size: u32, end_of_stream: u32): u32 {
  readAll(NETWORK_UPSTREAM_DATA, data_size);
  return 0;
}

export function proxy_on_request_headers(context_id: u32, headers: u32, end_of_stream: u32): u32 {
  proxy_get_header_map_pairs(REQUEST_HEADERS, outPtr, outSize);
  return 0;
}

export function proxy_on_response_headers(context_id: u32, headers: u32, end_of_stream: u32): u32 {
  readHeader(RESPONSE_HEADERS, STATUS, 7);
  return 0;
}

export function proxy_on_response_trailers(context_id: u32, trailers: u32): u32 {
  return 0;
}

export function proxy_on_log(context_id: u32): void {}

export function proxy_on_delete(context_id: u32): void {}
