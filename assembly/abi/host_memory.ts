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

let scratch: ArrayBuffer = new ArrayBuffer(4096);
let scratchTaken = false;

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
