// The VM's memory as two gauges per plugin, which every worker's VM adds its
// share to (a set would overwrite the other workers' values): the linear
// memory (`sitio_wasm_memory_bytes`; it grows in 64 KiB pages and never
// shrinks) and the part of it live objects use (`sitio_wasm_heap_bytes`,
// measured just after a garbage collection). Published at each tick; taken out
// again when the plugin goes away. A VM that crashes leaves its share behind.

import { incrementMetric } from "../abi/host";
import { heapInUse } from "../abi/host_memory";
import { WASM_HEAP_BYTES, WASM_MEMORY_BYTES } from "./metric_table";

export class VmMemory {
  private memory: u32;
  private heap: u32;
  private shownMemory: i64 = 0;
  private shownHeap: i64 = 0;

  constructor(plugin: string) {
    this.memory = WASM_MEMORY_BYTES.series([plugin]);
    this.heap = WASM_HEAP_BYTES.series([plugin]);
  }

  /** Publishes this VM's memory and heap (call right after a collection, for a true heap figure). */
  report(): void {
    this.show((<i64>memory.size()) << 16, <i64>heapInUse());
  }

  /** Takes this VM's share out (the plugin is going away). */
  clear(): void {
    this.show(0, 0);
  }

  private show(memoryBytes: i64, heapBytes: i64): void {
    if (memoryBytes != this.shownMemory) incrementMetric(this.memory, memoryBytes - this.shownMemory);
    if (heapBytes != this.shownHeap) incrementMetric(this.heap, heapBytes - this.shownHeap);
    this.shownMemory = memoryBytes;
    this.shownHeap = heapBytes;
  }
}
