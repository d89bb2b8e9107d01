// The shipped envoy/envoy.yaml on its own: Envoy accepts it, and its stats_tags
// match the label keys the filter encodes into stat names (assembly/metrics.ts).

import { describe, expect, test } from "vitest";
import { execFileSync } from "node:child_process";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { ROOT, SHIPPED_CONFIG, envoyBinary, ensureTlsCert } from "../harness/envoy.js";

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith(".ts") ? [p] : [];
  });
}

describe("shipped envoy.yaml", () => {
  test("Envoy validates it as shipped (with the built wasm and the certificate made at set-up)", () => {
    ensureTlsCert();
    const out = execFileSync(envoyBinary(), ["--mode", "validate", "-c", SHIPPED_CONFIG, "--log-level", "error"], { cwd: ROOT, encoding: "utf8" });
    expect(out).toContain("OK");
  });

  test("one stats_tags regex per label key the filter encodes, and no other", () => {
    const yaml = readFileSync(SHIPPED_CONFIG, "utf8");
    const tags = [...yaml.matchAll(/tag_name: (\w+), regex: "\(;(\w+)=\(\[\^;\]\*\)\)"/g)].map((m) => {
      expect(m[1]).toBe(m[2]);
      return m[1];
    });
    const used = new Set<string>();
    for (const f of sources(join(ROOT, "assembly"))) for (const m of readFileSync(f, "utf8").matchAll(/\blabel\("(\w+)"/g)) used.add(m[1]);
    const declared = /LABEL_KEYS: string\[\] = \[([^\]]*)\]/.exec(readFileSync(join(ROOT, "assembly/metrics.ts"), "utf8"))![1].match(/\w+/g)!;
    expect(new Set(tags)).toEqual(used);
    expect(new Set(declared)).toEqual(used);
  });
});
