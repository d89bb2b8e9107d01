// The endpoint labels of one plugin, and the cap on how many get a series of
// their own: `endpoints.max_distinct` for the whole Envoy, whatever its number
// of workers, with the rest counted under `other`.
//
// Admission. An endpoint earns its own series with evidence a client cannot
// forge cheaply: a response from the upstream that is not a 4xx (at L7, not
// Envoy's own local reply either). Until then its requests wait (network
// filter: their label is kept in a CandidateRing, see tracker) or count as
// `other`; junk paths answered 404 never take a slot, and a real endpoint
// that appears after any amount of junk still gets one.
//
// One cap for all workers. Each worker runs its own VM, so the set of admitted
// labels lives in the host's shared data (keyed per vm_id, shared by every VM
// of it): a counter of admitted labels, changed only by compare-and-swap, and
// one key per admitted label. Each VM keeps a local index of the labels it has
// seen admitted; a label it does not know costs one shared-data look-up. Two
// workers admitting the same new label at the same instant may both take a
// slot (the cap is then reached one label early); the cap is never exceeded.
// Shared data outlives the VM, so admissions survive a VM restart, as the
// counters do.

import { Bytes, WasmResult, sharedDataCas, sharedDataGet, sharedDataSet } from "../abi/host";
import { latin1 } from "../bytes/latin1";
import { decimal } from "../bytes/decimal";

/** Compare-and-swap attempts on the shared counter before a request gives up (and counts as `other`). */
const CAS_ATTEMPTS = 16;

const INITIAL_SLOTS = 64;

/** FNV-1a over `len` bytes of `b`. */
function hashOf(b: Uint8Array, len: i32): u32 {
  let h: u32 = 2166136261;
  for (let i = 0; i < len; i++) {
    h ^= unchecked(b[i]);
    h *= 16777619;
  }
  return h;
}

/** One view for shared-data reads (the VM runs one callback at a time). */
const value = new Bytes();

export class EndpointTable {
  /** The cap (`endpoints.max_distinct`). */
  private max: i32;
  /** The shared counter reached the cap: no more admissions (until a reconfigure raises it). */
  private full: bool = false;
  /** Shared data is missing on this host (tests, other hosts): the cap is per VM. */
  private localOnly: bool = false;

  // ---- the local index: open addressing over `slots` (index + 1, 0 = empty)
  private slots: StaticArray<i32> = new StaticArray<i32>(INITIAL_SLOTS);
  private hashes: u32[] = [];
  private bytes: Uint8Array[] = [];
  /** Admitted labels, by index. */
  readonly labels: string[] = [];

  // ---- shared-data keys: `<prefix>n` counts, `<prefix>e/<label>` marks a label
  private key: Uint8Array;
  private prefixLength: i32;
  private countKeyLength: i32;
  private countKey: Uint8Array;

  /** `scope` names the plugin in the shared store (root id and plugin name). */
  constructor(scope: string, max: i32) {
    this.max = max;
    let prefix = Uint8Array.wrap(String.UTF8.encode("sitio/" + scope + "/"));
    this.prefixLength = prefix.length;
    let key = new Uint8Array(prefix.length + 2 + 512);
    memory.copy(key.dataStart, prefix.dataStart, <usize>prefix.length);
    key[prefix.length] = 101; // e
    key[prefix.length + 1] = 47; // /
    this.key = key;
    let countKey = new Uint8Array(prefix.length + 1);
    memory.copy(countKey.dataStart, prefix.dataStart, <usize>prefix.length);
    countKey[prefix.length] = 110; // n
    this.countKey = countKey;
    this.countKeyLength = countKey.length;
    // Create the counter if no VM has yet. (A set on a missing key cannot be
    // made conditional; plugins are configured before they admit anything.)
    let r = sharedDataGet(countKey.dataStart, countKey.length, value);
    value.release();
    if (r == WasmResult.NotFound) {
      let zero = String.UTF8.encode("0");
      sharedDataSet(countKey.dataStart, countKey.length, changetype<usize>(zero), zero.byteLength, 0);
    } else if (r != WasmResult.Ok) {
      this.localOnly = true;
    }
  }

  /** A new cap for the same plugin; labels admitted so far stay admitted. */
  reconfigure(max: i32): void {
    if (max > this.max) this.full = false;
    this.max = max;
  }

  /** Labels this VM knows to be admitted. */
  get size(): i32 {
    return this.labels.length;
  }

  /** The label of an admitted index. */
  label(index: i32): string {
    return unchecked(this.labels[index]);
  }

  /** The index of `len` bytes of `label` if it is admitted (by any worker), else -1. */
  find(label: Uint8Array, len: i32): i32 {
    let h = hashOf(label, len);
    let i = this.findLocal(h, label, len);
    if (i >= 0 || this.localOnly) return i;
    // admitted by another worker?
    let klen = this.labelKey(label, len);
    let r = sharedDataGet(this.key.dataStart, klen, value);
    value.release();
    return r == WasmResult.Ok ? this.insertLocal(h, label, len) : -1;
  }

  /**
   * Admits `len` bytes of `label` (the caller has the evidence) if the cap
   * allows; returns its index, or -1 when the cap is reached.
   */
  admit(label: Uint8Array, len: i32): i32 {
    let i = this.find(label, len);
    if (i >= 0) return i;
    if (this.full) return -1;
    let h = hashOf(label, len);
    if (this.localOnly) {
      if (this.labels.length >= this.max) return -1;
      return this.insertLocal(h, label, len);
    }
    let ck = this.countKey;
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      let r = sharedDataGet(ck.dataStart, this.countKeyLength, value);
      let cas = sharedDataCas;
      let n = r == WasmResult.Ok ? parseCount(value.ptr, value.len) : 0;
      value.release();
      if (r != WasmResult.Ok) cas = 0;
      if (n >= this.max) {
        this.full = true;
        return -1;
      }
      let next = String.UTF8.encode(decimal(n + 1));
      let w = sharedDataSet(ck.dataStart, this.countKeyLength, changetype<usize>(next), next.byteLength, cas);
      if (w == WasmResult.CasMismatch) continue;
      if (w != WasmResult.Ok) return -1;
      let klen = this.labelKey(label, len);
      let one = String.UTF8.encode("1");
      sharedDataSet(this.key.dataStart, klen, changetype<usize>(one), one.byteLength, 0);
      return this.insertLocal(h, label, len);
    }
    return -1;
  }

  /** Writes `<prefix>e/<label>` into `key`; returns its length. */
  private labelKey(label: Uint8Array, len: i32): i32 {
    let at = this.prefixLength + 2;
    memory.copy(this.key.dataStart + <usize>at, label.dataStart, <usize>len);
    return at + len;
  }

  private findLocal(h: u32, label: Uint8Array, len: i32): i32 {
    let slots = this.slots;
    let mask = slots.length - 1;
    let s = <i32>(h & <u32>mask);
    let v = unchecked(slots[s]);
    while (v != 0) {
      let i = v - 1;
      if (unchecked(this.hashes[i]) == h && sameBytes(unchecked(this.bytes[i]), label, len)) return i;
      s = (s + 1) & mask;
      v = unchecked(slots[s]);
    }
    return -1;
  }

  private insertLocal(h: u32, label: Uint8Array, len: i32): i32 {
    let i = this.labels.length;
    let copy = new Uint8Array(len);
    memory.copy(copy.dataStart, label.dataStart, <usize>len);
    this.hashes.push(h);
    this.bytes.push(copy);
    this.labels.push(latin1(label.dataStart, len));
    if ((i + 1) * 2 > this.slots.length) this.rehash(this.slots.length << 1);
    else this.place(h, i);
    return i;
  }

  private place(h: u32, i: i32): void {
    let slots = this.slots;
    let mask = slots.length - 1;
    let s = <i32>(h & <u32>mask);
    while (unchecked(slots[s]) != 0) s = (s + 1) & mask;
    unchecked((slots[s] = i + 1));
  }

  private rehash(size: i32): void {
    this.slots = new StaticArray<i32>(size);
    for (let i = 0; i < this.labels.length; i++) this.place(unchecked(this.hashes[i]), i);
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array, len: i32): bool {
  if (a.length != len) return false;
  return memory.compare(a.dataStart, b.dataStart, <usize>len) == 0;
}

/** The decimal count at `ptr` (a value sitio wrote); 0 when unreadable. */
function parseCount(ptr: usize, len: i32): i32 {
  let n = 0;
  for (let i = 0; i < len && i < 9; i++) {
    let c = <i32>load<u8>(ptr + <usize>i);
    if (c < 48 || c > 57) return n;
    n = n * 10 + (c - 48);
  }
  return n;
}
