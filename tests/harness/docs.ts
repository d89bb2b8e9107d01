// Reading the project's Markdown (README.md and docs/*.md) the way the docs
// tests check it: tables, inline code, links, headings and marked code blocks,
// and the value of a constant as the source declares it.
//
// Constants are evaluated from their initializers in the source text: numbers
// (`1024`, `0x40`, `1_000`), + - * / % << >> and parentheses, type casts
// (`<u32>`), and names of other constants of the same file or imported into it
// from another (`import { A } from "./b"`). Anything else is an error, so a
// doc can only name a constant whose value the test can compute.

import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { ROOT } from "./envoy.js";

/** The Markdown files the docs tests read, relative to the repository root. */
export function docFiles(): string[] {
  const docs = readdirSync(join(ROOT, "docs"))
    .filter((f) => f.endsWith(".md"))
    .sort()
    .map((f) => `docs/${f}`);
  return ["README.md", ...docs];
}

export function readDoc(file: string): string {
  return readFileSync(join(ROOT, file), "utf8");
}

/** The lines of a Markdown text outside fenced code blocks, with their 1-based line numbers. */
export function proseLines(text: string): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  let fence: string | null = null;
  text.split("\n").forEach((l, i) => {
    const m = /^\s*(```+|~~~+)/.exec(l);
    if (m) {
      if (fence === null) fence = m[1];
      else if (m[1].startsWith(fence)) fence = null;
      return;
    }
    if (fence === null) out.push({ line: i + 1, text: l });
  });
  return out;
}

/** A table's cells split on unescaped `|` (a `\|` inside a cell stays, as `|`). */
function cells(row: string): string[] {
  const inner = row.trim().replace(/^\|/, "").replace(/\|$/, "");
  return inner.split(/(?<!\\)\|/).map((c) => c.trim().replaceAll("\\|", "|"));
}

export interface Table {
  file: string;
  /** Line of the header row. */
  line: number;
  header: string[];
  rows: { line: number; cells: string[] }[];
}

/** Every pipe table of a Markdown text (outside code blocks). */
export function tables(file: string, text: string): Table[] {
  const lines = proseLines(text);
  const out: Table[] = [];
  for (let i = 0; i + 1 < lines.length; i++) {
    const head = lines[i];
    const sep = lines[i + 1];
    if (!head.text.trim().startsWith("|") || sep.line !== head.line + 1 || !/^\s*\|?\s*:?-{3,}/.test(sep.text)) continue;
    const table: Table = { file, line: head.line, header: cells(head.text).map((h) => h.toLowerCase()), rows: [] };
    let j = i + 2;
    for (; j < lines.length && lines[j].line === lines[j - 1].line + 1 && lines[j].text.trim().startsWith("|"); j++) {
      table.rows.push({ line: lines[j].line, cells: cells(lines[j].text) });
    }
    out.push(table);
    i = j - 1;
  }
  return out;
}

/** The inline code spans of a line of prose, in order. */
export function codeSpans(line: string): string[] {
  const out: string[] = [];
  const re = /(`+)([\s\S]*?[^`])\1(?!`)/g;
  for (let m = re.exec(line); m; m = re.exec(line)) out.push(m[2].trim());
  return out;
}

/** The Markdown links `[text](target)` of a line of prose (images included), code spans left out. */
export function links(line: string): string[] {
  const bare = line.replace(/(`+)[\s\S]*?[^`]\1(?!`)/g, "");
  const out: string[] = [];
  const re = /\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g;
  for (let m = re.exec(bare); m; m = re.exec(bare)) out.push(m[1]);
  return out;
}

/** GitHub's anchor for each heading of a Markdown text. */
export function headingAnchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const { text: l } of proseLines(text)) {
    const m = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(l);
    if (!m) continue;
    const slug = m[1]
      .replace(/`/g, "")
      .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, "")
      .replace(/\s/g, "-");
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    out.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return out;
}

/**
 * The code block that follows a `<!-- docs-test: <marker> -->` line, or
 * throws when there is none.
 */
export function markedBlock(text: string, marker: string): string {
  const lines = text.split("\n");
  const at = lines.findIndex((l) => l.trim() === `<!-- docs-test: ${marker} -->`);
  if (at < 0) throw new Error(`no <!-- docs-test: ${marker} --> in the text`);
  const open = lines.findIndex((l, i) => i > at && l.trim() !== "");
  const fence = /^(```+|~~~+)/.exec(lines[open].trim());
  if (!fence) throw new Error(`<!-- docs-test: ${marker} --> is not followed by a code block`);
  const close = lines.findIndex((l, i) => i > open && l.trim().startsWith(fence[1]));
  if (close < 0) throw new Error(`the code block after <!-- docs-test: ${marker} --> is not closed`);
  return lines.slice(open + 1, close).join("\n");
}

// ---------------------------------------------------------------- constants

/** The initializer text of `const NAME` in a source file (top level or not), or null. */
function initializer(source: string, name: string): string | null {
  const re = new RegExp(`(?:^|[\\s;{}])(?:export\\s+)?const\\s+${name}\\s*(?::\\s*[\\w.<>\\[\\]| ]+?)?\\s*=\\s*([^;]+);`, "m");
  const m = re.exec(source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, ""));
  return m ? m[1].trim() : null;
}

/** Where a name imported into `file` comes from: the source file (relative to the root) and its exported name. */
function importedFrom(file: string, source: string, name: string): { file: string; name: string } | null {
  const re = /import\s*\{([^}]*)\}\s*from\s*"([^"]+)"/g;
  for (let m = re.exec(source); m; m = re.exec(source)) {
    for (const part of m[1].split(",")) {
      const [orig, alias] = part.trim().split(/\s+as\s+/);
      if ((alias ?? orig) !== name || !m[2].startsWith(".")) continue;
      const target = resolve(ROOT, dirname(file), m[2]);
      return { file: relative(ROOT, target.endsWith(".ts") ? target : `${target}.ts`), name: orig };
    }
  }
  return null;
}

/** Whether `file` (relative to the root) declares `name` as a const. */
export function declaresConstant(file: string, name: string): boolean {
  const path = join(ROOT, file);
  return existsSync(path) && initializer(readFileSync(path, "utf8"), name) !== null;
}

/** The value of the constant `name` declared in `file` (relative to the root), evaluated from its initializer. */
export function constantValue(file: string, name: string, depth = 0): number {
  if (depth > 16) throw new Error(`${file} ${name}: constants refer to each other too deeply`);
  const path = join(ROOT, file);
  if (!existsSync(path)) throw new Error(`${file}: no such file`);
  const source = readFileSync(path, "utf8");
  const init = initializer(source, name);
  if (init === null) {
    const from = importedFrom(file, source, name);
    if (from) return constantValue(from.file, from.name, depth + 1);
    throw new Error(`${file}: no constant ${name}`);
  }
  return evaluate(init, (ref) => constantValue(file, ref, depth + 1), `${file} ${name}`);
}

/** Evaluates integer arithmetic: numbers, names (through `lookup`), + - * / % << >>, parentheses, unary minus, casts. */
export function evaluate(expr: string, lookup: (name: string) => number, what = expr): number {
  const matched = expr
    .replace(/<\s*[a-z]\w*\s*>/g, " ") // casts: <u32>x
    .match(/0x[0-9a-fA-F_]+|\d[\d_]*(?:\.\d+)?|[A-Za-z_]\w*|<<|>>|[-+*/%()]|\S/g);
  if (!matched) throw new Error(`${what}: empty initializer`);
  const tokens: string[] = matched;
  let i = 0;
  const fail = (why: string): never => {
    throw new Error(`${what}: cannot evaluate \`${expr}\` (${why})`);
  };
  const primary = (): number => {
    const t = tokens[i++];
    if (t === undefined) return fail("it ends early");
    if (t === "(") {
      const v = shift();
      if (tokens[i++] !== ")") fail("a parenthesis is not closed");
      return v;
    }
    if (t === "-") return -primary();
    if (/^0x/.test(t)) return parseInt(t.slice(2).replaceAll("_", ""), 16);
    if (/^\d/.test(t)) return Number(t.replaceAll("_", ""));
    if (/^[A-Za-z_]\w*$/.test(t)) {
      if (tokens[i] === "." || tokens[i] === "(") fail(`\`${t}${tokens[i]}\` is not a constant`);
      return lookup(t);
    }
    return fail(`unexpected \`${t}\``);
  };
  const product = (): number => {
    let v = primary();
    for (let op = tokens[i]; op === "*" || op === "/" || op === "%"; op = tokens[i]) {
      i++;
      const r = primary();
      v = op === "*" ? v * r : op === "/" ? Math.trunc(v / r) : v % r;
    }
    return v;
  };
  const sum = (): number => {
    let v = product();
    for (let op = tokens[i]; op === "+" || op === "-"; op = tokens[i]) {
      i++;
      const r = product();
      v = op === "+" ? v + r : v - r;
    }
    return v;
  };
  function shift(): number {
    let v = sum();
    for (let op = tokens[i]; op === "<<" || op === ">>"; op = tokens[i]) {
      i++;
      const r = sum();
      v = op === "<<" ? v * 2 ** r : Math.floor(v / 2 ** r);
    }
    return v;
  }
  const v = shift();
  if (i !== tokens.length) fail(`unexpected \`${tokens[i]}\``);
  return v;
}

/**
 * A documented value: its first number (`61,440`, `1 024`, `4096`) and, when
 * the text also says `(N KiB)`, that size in bytes.
 */
export function documentedValue(text: string): { value: number; kib: number | null } | null {
  const m = /(\d{1,3}(?:,\d{3})+|\d+)/.exec(text);
  if (!m) return null;
  const kib = /\((\d+(?:\.\d+)?)\s*KiB\)/.exec(text);
  return { value: Number(m[1].replaceAll(",", "")), kib: kib ? Number(kib[1]) * 1024 : null };
}
