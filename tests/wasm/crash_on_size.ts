// TEST-ONLY module (never shipped): sitio exactly as built from
// assembly/index.ts, except that a downstream read of exactly CRASH_SIZE bytes
// traps the VM. tests/envoy/faults.test.ts uses it to see what Envoy does when
// the wasm VM fails (failure_policy) and that sitio's counters outlive the VM.

export * from "../../assembly/index";
import { proxy_on_downstream_data as sitioDownstreamData } from "../../assembly/index";

const CRASH_SIZE: u32 = 7777;

export function proxy_on_downstream_data(context_id: u32, data_size: u32, end_of_stream: u32): u32 {
  if (data_size == CRASH_SIZE) unreachable();
  return sitioDownstreamData(context_id, data_size, end_of_stream);
}
