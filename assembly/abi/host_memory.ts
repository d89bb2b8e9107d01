// The memory the host writes into: the module's `malloc` export.
//
// The host calls `malloc` for every byte it hands over (each buffer read, each
// property), and sitio frees that memory as soon as it has looked at it. So one
// scratch block, reused from read to read, serves nearly every call: no
// allocation, no zero-filling and no free per read on the data path. A second
// request while the block is taken, or one larger than SCRATCH_MAX_BYTES, gets
// its own allocation as before.

/** Largest request served from the scratch block (bigger reads are rare and get their own memory). */
export const SCRATCH_MAX_BYTES = 64 * 1024;

/** The scratch block's size when idle; a larger one (grown for a big read) is let go at the next tick. */
const SCRATCH_IDLE_BYTES = 4096;

let scratch: ArrayBuffer = new ArrayBuffer(SCRATCH_IDLE_BYTES);
let scratchTaken = false;

/** Lets a scratch block grown past its idle size go (called at each tick, so a burst of big reads does not keep its memory). */
export function shrinkScratch(): void {
  if (!scratchTaken && scratch.byteLength > SCRATCH_IDLE_BYTES) scratch = new ArrayBuffer(SCRATCH_IDLE_BYTES);
}

/** Called by the host to get `size` bytes it will copy data into. */
export function malloc(size: i32): usize {
  if (!scratchTaken && size >= 0 && size <= SCRATCH_MAX_BYTES) {
    if (size > scratch.byteLength) {
      // Grow to the next power of two, so a connection's reads settle on one size quickly.
      scratch = new ArrayBuffer(1 << (32 - clz<i32>(size - 1)));
    }
    scratchTaken = true;
    return changetype<usize>(scratch);
  }
  // pinned: only the host holds it until it is given back, and the GC must not take it meanwhile
  return __pin(changetype<usize>(new ArrayBuffer(size)));
}

/** Gives back memory the host allocated through `malloc`. */
export function freeHostMemory(ptr: usize): void {
  if (scratchTaken && ptr == changetype<usize>(scratch)) {
    scratchTaken = false;
    return;
  }
  __unpin(ptr);
}

// ---------------------------------------------------------------- heap in use
// The allocator (AssemblyScript 0.28's TLSF, rt/tlsf.ts) lays out its blocks
// one after the other from just past its root structure to a zero-size tail
// block: each starts with a word holding its size and, in bit 0, whether it is
// free. Walking them gives the bytes in use, which the allocator keeps no count
// of. Pinned to the compiler version in package.json; tests/host/memory.test.ts
// checks the figure against allocations it makes.

import { ROOT } from "rt/tlsf";

/** Size of the TLSF root structure for wasm32 (rt/tlsf.ts: ROOT_SIZE). */
const TLSF_ROOT_SIZE: usize = 1572;
const BLOCK_OVERHEAD: usize = sizeof<usize>();
const AL_MASK: usize = 15;
const FREE: usize = 1;
const TAGS_MASK: usize = 3;

/** Bytes of linear memory in allocated blocks (headers included); 0 before the first allocation. */
export function heapInUse(): usize {
  let root = changetype<usize>(ROOT);
  if (root == 0) return 0;
  let end = <usize>memory.size() << 16;
  let block = ((root + TLSF_ROOT_SIZE + BLOCK_OVERHEAD + AL_MASK) & ~AL_MASK) - BLOCK_OVERHEAD;
  let used: usize = 0;
  while (block + BLOCK_OVERHEAD <= end) {
    let info = load<usize>(block);
    let size = info & ~TAGS_MASK;
    if (size == 0) break; // the tail
    if ((info & FREE) == 0) used += size + BLOCK_OVERHEAD;
    block += BLOCK_OVERHEAD + size;
  }
  return used;
}
