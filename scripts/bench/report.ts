// Shared by the benchmark's reports (scripts/bench.ts, scripts/bench/profile.ts):
// number formatting, plain-text tables, and what was measured (commit, Envoy).

import { execFileSync } from "node:child_process";
import { ROOT, envoyBinary } from "../../tests/harness/envoy.js";

export function fmt(n: number, digits: number): string {
  return Number.isFinite(n) ? n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits }) : "-";
}

export function signed(n: number, digits: number): string {
  return (n >= 0 ? "+" : "") + fmt(n, digits);
}

/** Rows of cells as aligned columns: the first left-aligned, the others right-aligned. */
export function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join("  ")).join("\n");
}

export function git(args: string[]): string {
  try {
    return execFileSync("git", args, { cwd: ROOT, stdio: ["ignore", "pipe", "ignore"] })
      .toString()
      .trim();
  } catch {
    return "";
  }
}

/** The commit measured: short sha, and whether tracked files differ from it. */
export function commit(): { sha: string; dirty: boolean } {
  return { sha: git(["rev-parse", "--short", "HEAD"]) || "unknown", dirty: git(["status", "--porcelain", "--untracked-files=no"]) !== "" };
}

/** Envoy's build, as `envoy --version` prints it (sha/version/status/type/TLS). */
export function envoyVersion(): string {
  return execFileSync(envoyBinary(), ["--version"]).toString().trim().split("version: ")[1] ?? "";
}
