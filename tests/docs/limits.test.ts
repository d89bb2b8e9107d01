// Every limit the docs state, checked against the constant that sets it.
//
// A limits table is any Markdown table in README.md or docs/*.md with a
// `value` and a `constant` column. Each row names its constant as
// `path/to/file.ts` `NAME`; the test evaluates NAME's initializer in that file
// (arithmetic and references to other constants, imports followed) and
// compares it with the row's value: its first number (`61,440`) and, when the
// cell says `(N KiB)`, that too. A row that names no constant, a file or a
// constant that does not exist, or a constant documented twice fails.

import { describe, expect, test } from "vitest";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../harness/envoy.js";
import { codeSpans, constantValue, docFiles, documentedValue, readDoc, tables, type Table } from "../harness/docs.js";

interface LimitRow {
  where: string;
  limit: string;
  value: string;
  file: string;
  name: string;
}

function limitTables(): Table[] {
  return docFiles()
    .flatMap((f) => tables(f, readDoc(f)))
    .filter((t) => t.header.includes("value") && t.header.includes("constant"));
}

const problems: string[] = [];
const rows: LimitRow[] = [];
for (const t of limitTables()) {
  const [limitCol, valueCol, constantCol] = [t.header.indexOf("limit"), t.header.indexOf("value"), t.header.indexOf("constant")];
  for (const r of t.rows) {
    const where = `${t.file}:${r.line}`;
    const spans = codeSpans(r.cells[constantCol] ?? "");
    const file = spans.find((s) => /^[\w./-]+\.ts$/.test(s));
    const name = spans.find((s) => /^[A-Z][A-Z0-9_]*$/.test(s));
    if (!file || !name || spans.length !== 2) {
      problems.push(`${where}: the constant column must be \`path/to/file.ts\` \`NAME\`, got "${r.cells[constantCol] ?? ""}"`);
      continue;
    }
    rows.push({ where, limit: limitCol >= 0 ? r.cells[limitCol] : "", value: r.cells[valueCol] ?? "", file, name });
  }
}

describe("limits stated in the docs", () => {
  test("the limits tables are found, and every row names one constant", () => {
    expect(problems).toEqual([]);
    // security.md's table of the data path, configuration.md's and metrics.md's own; a parser that finds nothing must fail
    const files = new Set(rows.map((r) => r.where.split(":")[0]));
    for (const f of ["docs/security.md", "docs/configuration.md", "docs/metrics.md"]) expect(files, f).toContain(f);
    expect(rows.length).toBeGreaterThanOrEqual(25);
  });

  test("each constant is stated once", () => {
    const seen = new Map<string, string>();
    const twice: string[] = [];
    for (const r of rows) {
      const key = `${r.file} ${r.name}`;
      if (seen.has(key)) twice.push(`${key}: ${seen.get(key)} and ${r.where}`);
      else seen.set(key, r.where);
    }
    expect(twice).toEqual([]);
  });

  test.each(rows.map((r) => [`${r.file} ${r.name}`, r] as const))("%s", (_, r) => {
    expect(existsSync(join(ROOT, r.file)), `${r.where}: ${r.file} does not exist`).toBe(true);
    const actual = constantValue(r.file, r.name);
    const documented = documentedValue(r.value);
    expect(documented, `${r.where}: no number in "${r.value}"`).not.toBeNull();
    expect(documented!.value, `${r.where}: "${r.limit}" is documented as ${r.value}, ${r.file} ${r.name} is ${actual}`).toBe(actual);
    if (documented!.kib !== null) expect(documented!.kib, `${r.where}: the KiB figure in "${r.value}"`).toBe(actual);
  });
});

describe("the evaluator the limits test relies on", () => {
  test("arithmetic, casts and references, imports followed", () => {
    // READ_WINDOW = <u32>SCRATCH_MAX_BYTES, imported from abi/host_memory.ts, where it is 64 * 1024
    expect(constantValue("assembly/network/stream.ts", "READ_WINDOW")).toBe(65536);
    // ENDPOINT_BUFFER_BYTES = MAX_ENDPOINT_BYTES + 64, in the same file
    expect(constantValue("assembly/labels/endpoints.ts", "ENDPOINT_BUFFER_BYTES")).toBe(256 + 64);
  });

  test("what it cannot compute, or cannot find, is an error, never a guess", () => {
    expect(() => constantValue("assembly/labels/candidate_ring.ts", "NO_TICKET")).toThrow(/cannot evaluate/);
    expect(() => constantValue("assembly/codec/decoder.ts", "NO_SUCH_CONSTANT")).toThrow(/no constant NO_SUCH_CONSTANT/);
    expect(() => constantValue("assembly/codec/no_such_file.ts", "MAX")).toThrow(/no such file/);
  });

  test("documented values: thousands separators and a KiB figure", () => {
    expect(documentedValue("61,440 bytes (60 KiB)")).toEqual({ value: 61440, kib: 61440 });
    expect(documentedValue("13 bytes")).toEqual({ value: 13, kib: null });
    expect(documentedValue("none")).toBeNull();
  });
});
