// Hostile Foo streams (`REQ|ACK|NAK <seq> [data]\n`) for the fuzzer. A counted
// REQ or reply always ends in its own '\n', which bounds the counts.

import type { Rng } from "./rng.js";
import type { ConnectionInput } from "./http1_inputs.js";

function seq(r: Rng): string {
  return r.pick([String(r.int(20)), String(r.int(1_000_000)), "0", "999999999999999999", "1".repeat(r.range(19, 40)), "-1", "1a", ""]);
}

function validLine(r: Rng, type: "REQ" | "ACK" | "NAK", n: number): string {
  const data = r.chance(0.5) ? " " + "d".repeat(r.int(60)) : "";
  return `${type}${r.chance(0.2) ? "\t" : " "}${n}${data}${r.chance(0.1) ? "\r" : ""}\n`;
}

const BOGUS = ["req 1\n", "REQ\n", "REQ \n", "ACK x\n", "FOO 1\n", "\n", "\r\n", "REQ 1 \0\xff data\n", "REQ1\n", "NAK  \t 5\n", "REQ 12345678901234567890\n"];

function bogusLine(r: Rng): string {
  const k = r.int(4);
  if (k === 0) return r.pick(BOGUS);
  if (k === 1) return `REQ ${seq(r)} ${"x".repeat(r.pick([10, 4090, 4200, 70_000]))}\n`;
  if (k === 2) return String.fromCharCode(...r.bytes(r.int(40))) + "\n";
  return `${r.pick(["REQ", "ACK", "NAK"])} ${seq(r)}${r.chance(0.5) ? "" : "\n"}`;
}

/** A Foo connection: well-formed (exact REQ count known) or damaged. */
export function fooStream(r: Rng): ConnectionInput {
  const many = r.chance(0.02);
  const n = many ? r.range(1000, 5000) : r.range(0, 20);
  const clean = r.chance(0.4);
  const down: string[] = [];
  const up: string[] = [];
  const seqs: number[] = [];
  for (let i = 0; i < n; i++) {
    const s = r.chance(0.1) && seqs.length > 0 ? r.pick(seqs) : r.int(100_000);
    seqs.push(s);
    down.push(validLine(r, "REQ", s));
    if (!clean && r.chance(0.15)) down.push(bogusLine(r));
  }
  for (const s of seqs) if (r.chance(0.8)) up.push(validLine(r, r.chance(0.8) ? "ACK" : "NAK", r.chance(0.9) ? s : r.int(100_000)));
  if (!clean) for (let i = r.int(3); i > 0; i--) up.push(bogusLine(r));
  const shuffled = r.chance(0.5) ? up.reverse() : up;
  return {
    kind: many ? "foo-many" : clean ? "foo-clean" : "foo-damaged",
    down: Buffer.from(down.join(""), "latin1"),
    up: Buffer.from(shuffled.join(""), "latin1"),
    exactRequests: clean ? n : undefined,
  };
}

/** Upper bound on Foo messages in a stream: its line ends. */
export function maxLines(b: Buffer): number {
  let n = 0;
  for (let i = b.indexOf(10); i >= 0; i = b.indexOf(10, i + 1)) n++;
  return n;
}
