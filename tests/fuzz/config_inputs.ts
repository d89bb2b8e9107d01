// Hostile plugin configurations for the fuzzer: valid ones, damaged ones,
// wrong types, deep nesting, huge strings, bad escapes and non-UTF-8 bytes.
// The only invariant for a config is: no trap, and a refusal is logged.

import type { Rng } from "./rng.js";

const VALID: string[] = [
  "",
  "{}",
  '{"protocol":"http1"}',
  '{"endpoints":{"max_distinct":5}}',
  '{"endpoints":{"max_distinct":100,"collapse":["numbers","uuids"],"placeholder":"{id}"}}',
  '{"custom_404":{"enabled":true,"body":"<h1>Not here</h1>","content_type":"text/html; charset=utf-8"}}',
  '{"protocol":"foo"}',
];

const VALUES = [
  "null",
  "true",
  "false",
  "0",
  "-0",
  "1e999",
  "-1",
  "18446744073709551616",
  "3.5",
  '""',
  '"x"',
  "[]",
  "{}",
  '"\\ud800"',
  '"\\u0000"',
  '"\\uZZZZ"',
  '"\\',
  "[1,",
  '{"a":',
  "NaN",
  "Infinity",
  "0x10",
  "01",
];
const KEYS = [
  "protocol",
  "custom_404",
  "enabled",
  "body",
  "content_type",
  "endpoints",
  "max_distinct",
  "collapse",
  "placeholder",
  "",
  "__proto__",
  "constructor",
  "a".repeat(300),
];

function randomValue(r: Rng, depth: number): string {
  const k = r.int(depth > 4 ? 2 : 5);
  if (k === 0) return r.pick(VALUES);
  if (k === 1) return JSON.stringify(r.pick(["http1", "foo", "numbers", "uuids", "{id}", "x".repeat(r.int(5000))]));
  if (k === 2) return "[" + Array.from({ length: r.int(5) }, () => randomValue(r, depth + 1)).join(",") + "]";
  return "{" + Array.from({ length: r.int(5) }, () => JSON.stringify(r.pick(KEYS)) + ":" + randomValue(r, depth + 1)).join(",") + "}";
}

/** One configuration as raw bytes (it may not be UTF-8). */
export function configInput(r: Rng): { kind: string; bytes: Buffer } {
  const k = r.int(8);
  if (k === 0) return { kind: "config-valid", bytes: Buffer.from(r.pick(VALID)) };
  if (k === 1) {
    const depth = r.pick([64, 1000, 100_000]);
    const open = r.chance(0.5) ? "[" : '{"a":';
    return { kind: "config-deep", bytes: Buffer.from(open.repeat(depth) + (r.chance(0.5) ? (open === "[" ? "]" : "}").repeat(depth) : "")) };
  }
  if (k === 2)
    return { kind: "config-huge-string", bytes: Buffer.from(`{"custom_404":{"enabled":true,"body":"${"x".repeat(r.pick([1000, 70_000, 1_100_000]))}"}}`) };
  if (k === 3) return { kind: "config-bytes", bytes: r.bytes(r.int(300)) };
  if (k === 4) {
    // a valid config with one byte changed or inserted
    const b = Buffer.from(r.pick(VALID.filter((v) => v.length > 0)));
    const at = r.int(b.length);
    return {
      kind: "config-mutated",
      bytes: Buffer.concat([b.subarray(0, at), Buffer.from([r.pick([0, 0xff, 0xc3, 0x22, 0x5c, 0x7b, 0x7d, 0x2c, r.int(256)])]), b.subarray(at + r.int(2))]),
    };
  }
  if (k === 5) return { kind: "config-nul", bytes: Buffer.from('{"protocol":"http1\u0000"}\u0000{}') };
  return { kind: "config-random", bytes: Buffer.from(randomValue(r, 0)) };
}
