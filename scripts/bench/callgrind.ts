// Callgrind for the profile (scripts/bench/profile.ts): the valgrind command
// line Envoy runs under, callgrind_control, and a reader of callgrind's dump
// files that adds up self cost (instructions) per object file.
//
// Envoy's binary is stripped, so function names say nothing; the object a
// cost falls in does: Envoy's own code, libc, and code that belongs to no
// file ("???"). The latter is two things, told apart by address: sections of
// Envoy's binary callgrind does not count as its code (tcmalloc's
// `google_malloc`, see elf.ts), and anonymous memory, i.e. the code V8
// compiled from the wasm module.

import { execFile } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";

/** valgrind's arguments before Envoy's binary: instrumentation off until `instrumentation(pid, true)`, one dump file per thread. */
export function callgrindCommand(outFile: string): string[] {
  return [
    "valgrind",
    "--tool=callgrind",
    // V8 writes and patches the code it runs: valgrind must look for that outside mapped files.
    "--smc-check=all-non-file",
    "--instr-atstart=no",
    "--separate-threads=yes",
    `--callgrind-out-file=${outFile}`,
  ];
}

/** A message saying how to install valgrind, or null when callgrind and callgrind_control are there. */
export async function checkValgrind(): Promise<string | null> {
  const run = (cmd: string, args: string[]) =>
    new Promise<boolean>((ok) => execFile(cmd, args, (err, stdout, stderr) => ok(!err && (stdout + stderr).length > 0)));
  const valgrind = await run("valgrind", ["--version"]);
  const control = await run("callgrind_control", ["--version"]);
  return valgrind && control ? null : "valgrind (with callgrind_control) not found: install it with `bash scripts/apt_ensure.sh valgrind=valgrind`";
}

function control(pid: number, args: string[]): Promise<void> {
  return new Promise((ok, fail) =>
    execFile("callgrind_control", [...args, String(pid)], { timeout: 120_000 }, (err, stdout, stderr) => {
      if (err || !/OK\./.test(stdout)) fail(new Error(`callgrind_control ${args.join(" ")} ${pid} failed: ${err?.message ?? ""}\n${stdout}\n${stderr}`));
      else ok();
    }),
  );
}

/** Turns instrumentation on or off in the callgrind process `pid`. */
export const instrumentation = (pid: number, on: boolean) => control(pid, ["-i", on ? "on" : "off"]);
/** Zeroes every counter (all threads). */
export const zero = (pid: number) => control(pid, ["-z"]);
/** Writes the counters since the last zero or dump, one file per thread (`<out>.<part>-<thread>`). */
export const dump = (pid: number) => control(pid, ["-d"]);

/** The dump files of one part, by thread number. */
export function partFiles(outFile: string, part: number): string[] {
  const dir = join(outFile, "..");
  const base = outFile.slice(dir.length + 1);
  const prefix = `${base}.${part}-`;
  return readdirSync(dir)
    .filter((f) => f.startsWith(prefix) && /^\d+$/.test(f.slice(prefix.length)))
    .sort()
    .map((f) => join(dir, f));
}

export interface ThreadCost {
  thread: number;
  /** Instructions executed (self cost, every object). */
  ir: number;
  /**
   * Self instructions by object file ("???" for code in no file), except that
   * code in no file at an address inside one of the `ranges` given to
   * readDump is counted under that range's name.
   */
  byObject: Record<string, number>;
}

/** Absolute addresses [start, end) that code callgrind puts in no object belongs to (see elf.ts). */
export interface AddressRange {
  start: number;
  end: number;
  name: string;
}

/**
 * Reads one callgrind dump (format version 1, as callgrind 3.x writes it):
 * self cost of each cost line goes to the object named by the last `ob=`;
 * the cost line after a `calls=` is the call's inclusive cost and is skipped.
 * Names may be compressed ("(12) name" defines id 12, "(12)" refers to it;
 * ob= and cob= share their table). Checks the sum against the file's
 * `totals:` (the sum of what was written; `summary:`, callgrind's own counter,
 * can differ from it by a few thousand instructions per dump).
 */
export function readDump(file: string, ranges: AddressRange[] = []): ThreadCost {
  const text = readFileSync(file, "utf8");
  const objects = new Map<string, string>();
  const functions = new Map<string, string>();
  let fn = "";
  /** Where the current function's self cost goes: its object, or for code in no object, the range its address is in. */
  let bucket = "???";
  const byObject: Record<string, number> = {};
  let positions = 1;
  let irColumn = 0;
  let thread = 0;
  let totals: number | null = null;
  let object = "???";
  let skipNext = false;
  let total = 0;
  const name = (table: Map<string, string>, value: string): string => {
    const m = /^\((\d+)\)(?:\s(.*))?$/.exec(value);
    if (!m) return value;
    if (m[2] !== undefined) table.set(m[1], m[2]);
    const known = table.get(m[1]);
    if (known === undefined) throw new Error(`${file}: name id (${m[1]}) used before it is named`);
    return known;
  };
  const place = () => {
    bucket = object;
    // an unnamed function is named by its address ("0x000000000628d840", with "'2" for a recursion level)
    if (object !== "???" || ranges.length === 0 || !fn.startsWith("0x")) return;
    const address = parseInt(fn.slice(2), 16);
    const r = ranges.find((r) => address >= r.start && address < r.end);
    if (r) bucket = r.name;
  };
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const c = line.charCodeAt(0);
    const isCost = (c >= 48 && c <= 57) || c === 43 || c === 45 || c === 42 || line.startsWith("0x");
    if (isCost) {
      if (skipNext) {
        skipNext = false;
        continue;
      }
      const fields = line.trim().split(/\s+/);
      const v = fields[positions + irColumn];
      const ir = v === undefined ? 0 : Number(v);
      if (!Number.isFinite(ir)) throw new Error(`${file}: cannot read cost line "${line}"`);
      byObject[bucket] = (byObject[bucket] ?? 0) + ir;
      total += ir;
      continue;
    }
    const eq = line.indexOf("=");
    const colon = line.indexOf(":");
    if (eq > 0 && (colon < 0 || eq < colon)) {
      const key = line.slice(0, eq);
      const value = line.slice(eq + 1);
      if (key === "ob") {
        object = name(objects, value);
        place();
      } else if (key === "fn") {
        fn = name(functions, value);
        place();
      } else if (key === "cob") name(objects, value);
      else if (key === "cfn") name(functions, value);
      else if (key === "calls") skipNext = true;
      continue;
    }
    if (colon > 0) {
      const key = line.slice(0, colon);
      const value = line.slice(colon + 1).trim();
      if (key === "positions") positions = value.split(/\s+/).length;
      else if (key === "events") {
        irColumn = value.split(/\s+/).indexOf("Ir");
        if (irColumn < 0) throw new Error(`${file}: no Ir event (events: ${value})`);
      } else if (key === "thread") thread = Number(value);
      else if (key === "totals") totals = Number(value.split(/\s+/)[irColumn]);
    }
  }
  if (totals === null) throw new Error(`${file}: no totals line (an incomplete dump?)`);
  if (totals !== total) throw new Error(`${file}: self costs add up to ${total}, the file's totals line says ${totals}`);
  return { thread, ir: total, byObject };
}

/** Every thread's cost in one dump (one part). */
export function readPart(outFile: string, part: number, ranges: AddressRange[] = []): ThreadCost[] {
  const files = partFiles(outFile, part);
  if (files.length === 0) throw new Error(`no callgrind dump ${outFile}.${part}-*`);
  return files.map((f) => readDump(f, ranges));
}
