// A reader for (uncompressed) tar archives, enough for `docker save` output and image layers:
// ustar headers, with PAX extended headers' `path` and `size` honoured.

export interface TarEntry {
  name: string;
  /** '0' file, '5' directory, '2' symlink, ... (the header's typeflag). */
  type: string;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  data: Buffer;
}

const field = (h: Buffer, at: number, len: number) =>
  h
    .subarray(at, at + len)
    .toString("latin1")
    .replace(/\0.*$/s, "");
const octal = (h: Buffer, at: number, len: number) => parseInt(field(h, at, len).trim() || "0", 8);

export function readTar(archive: Buffer): TarEntry[] {
  const entries: TarEntry[] = [];
  let pax: Record<string, string> = {};
  for (let at = 0; at + 512 <= archive.length; ) {
    const h = archive.subarray(at, at + 512);
    if (h.every((b) => b === 0)) break;
    const sum = h.reduce((s, b, i) => s + (i >= 148 && i < 156 ? 32 : b), 0);
    if (sum !== octal(h, 148, 8)) throw new Error(`tar: bad header checksum at offset ${at}`);
    const type = field(h, 156, 1) || "0";
    let size = octal(h, 124, 12);
    if (pax.size) size = Number(pax.size);
    const data = archive.subarray(at + 512, at + 512 + size);
    if (data.length !== size) throw new Error(`tar: entry at offset ${at} is cut short`);
    at += 512 + Math.ceil(size / 512) * 512;
    if (type === "x") {
      pax = {};
      for (const rec of data.toString("utf8").split("\n").filter(Boolean)) {
        const kv = rec.slice(rec.indexOf(" ") + 1);
        pax[kv.slice(0, kv.indexOf("="))] = kv.slice(kv.indexOf("=") + 1);
      }
      continue;
    }
    const prefix = field(h, 345, 155);
    const name = pax.path ?? (prefix ? `${prefix}/${field(h, 0, 100)}` : field(h, 0, 100));
    entries.push({ name, type, mode: octal(h, 100, 8), uid: octal(h, 108, 8), gid: octal(h, 116, 8), mtime: octal(h, 136, 12), data: Buffer.from(data) });
    pax = {};
  }
  return entries;
}
