// The memory the host writes into: the module's `malloc` export.
//
// The host calls `malloc` for every byte it hands over (each buffer read, each
// header, property or shared value), and sitio frees that memory as soon as it
// has looked at it. So two scratch blocks, reused from read to read, serve
// every call on the data path: a buffer being read, and one look-up made
// while it is (a shared-data value, a header). No allocation, no zero-filling
// and no free per read. A third request while both are taken, or one larger
// than SCRATCH_MAX_BYTES, gets its own allocation.

/** Largest request served from a scratch block (the network stream reads in windows of this size). */
export const SCRATCH_MAX_BYTES = 64 * 1024;

/** A scratch block's size when idle; a larger one (grown for a big read) is let go at the next tick. */
const SCRATCH_IDLE_BYTES = 4096;

let scratch0: ArrayBuffer = new ArrayBuffer(SCRATCH_IDLE_BYTES);
let scratch1: ArrayBuffer = new ArrayBuffer(SCRATCH_IDLE_BYTES);
let taken0 = false;
let taken1 = false;

/** Lets scratch blocks grown past their idle size go (called at each tick, so a burst of big reads does not keep its memory). */
export function shrinkScratch(): void {
  if (!taken0 && scratch0.byteLength > SCRATCH_IDLE_BYTES) scratch0 = new ArrayBuffer(SCRATCH_IDLE_BYTES);
  if (!taken1 && scratch1.byteLength > SCRATCH_IDLE_BYTES) scratch1 = new ArrayBuffer(SCRATCH_IDLE_BYTES);
}

/** A scratch block of at least `size` bytes, grown to the next power of two (a connection's reads settle on one size quickly). */
function fit(block: ArrayBuffer, size: i32): ArrayBuffer {
  return size > block.byteLength ? new ArrayBuffer(1 << (32 - clz<i32>(size - 1))) : block;
}

/** Called by the host to get `size` bytes it will copy data into. */
export function malloc(size: i32): usize {
  if (size >= 0 && size <= SCRATCH_MAX_BYTES) {
    if (!taken0) {
      scratch0 = fit(scratch0, size);
      taken0 = true;
      return changetype<usize>(scratch0);
    }
    if (!taken1) {
      scratch1 = fit(scratch1, size);
      taken1 = true;
      return changetype<usize>(scratch1);
    }
  }
  // pinned: only the host holds it until it is given back, and the GC must not take it meanwhile
  return __pin(changetype<usize>(new ArrayBuffer(size)));
}

/** Gives back memory the host allocated through `malloc`. */
export function freeHostMemory(ptr: usize): void {
  if (taken0 && ptr == changetype<usize>(scratch0)) {
    taken0 = false;
    return;
  }
  if (taken1 && ptr == changetype<usize>(scratch1)) {
    taken1 = false;
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
  let end = (<usize>memory.size()) << 16;
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
