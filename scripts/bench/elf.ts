// The executable sections of an ELF file (64-bit, little-endian), and where a
// running process mapped that file: enough to tell which section an address
// falls in when the profiler cannot. Envoy's allocator (tcmalloc) lives in a
// section of its own, `google_malloc`, that callgrind does not count as part of
// the binary: its cost shows up as code in no file ("???") at addresses inside
// Envoy's image.

import { closeSync, openSync, readFileSync, readSync } from "node:fs";

export interface Section {
  name: string;
  /** Virtual address in the file (add the load base for a running process). */
  addr: number;
  size: number;
}

function read(fd: number, offset: number, length: number): Buffer {
  const b = Buffer.alloc(length);
  const n = readSync(fd, b, 0, length, offset);
  if (n !== length) throw new Error(`short read at ${offset}`);
  return b;
}

/** Every section with SHF_EXECINSTR, by address. */
export function executableSections(file: string): Section[] {
  const fd = openSync(file, "r");
  try {
    const h = read(fd, 0, 64);
    if (h.readUInt32BE(0) !== 0x7f454c46 || h[4] !== 2 || h[5] !== 1) throw new Error(`${file}: not a 64-bit little-endian ELF file`);
    const shoff = Number(h.readBigUInt64LE(0x28));
    const shentsize = h.readUInt16LE(0x3a);
    const shnum = h.readUInt16LE(0x3c);
    const shstrndx = h.readUInt16LE(0x3e);
    const table = read(fd, shoff, shentsize * shnum);
    const header = (i: number) => {
      const o = i * shentsize;
      return {
        name: table.readUInt32LE(o),
        flags: Number(table.readBigUInt64LE(o + 8)),
        addr: Number(table.readBigUInt64LE(o + 16)),
        offset: Number(table.readBigUInt64LE(o + 24)),
        size: Number(table.readBigUInt64LE(o + 32)),
      };
    };
    const strtab = header(shstrndx);
    const names = read(fd, strtab.offset, strtab.size);
    const nameAt = (o: number) => names.toString("latin1", o, names.indexOf(0, o));
    const SHF_EXECINSTR = 0x4;
    const out: Section[] = [];
    for (let i = 1; i < shnum; i++) {
      const s = header(i);
      if (s.flags & SHF_EXECINSTR && s.size > 0) out.push({ name: nameAt(s.name), addr: s.addr, size: s.size });
    }
    return out.sort((a, b) => a.addr - b.addr);
  } finally {
    closeSync(fd);
  }
}

/** Where process `pid` mapped the start of `file` (its load base), from /proc/<pid>/maps; null when it did not. */
export function loadBase(pid: number, file: string): number | null {
  for (const line of readFileSync(`/proc/${pid}/maps`, "utf8").split("\n")) {
    // start-end perms offset dev inode path
    const m = /^([0-9a-f]+)-[0-9a-f]+ \S+ ([0-9a-f]+) \S+ \d+\s+(.*)$/.exec(line);
    if (m && m[3] === file && parseInt(m[2], 16) === 0) return parseInt(m[1], 16);
  }
  return null;
}
