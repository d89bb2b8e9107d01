// CPU time a process has used so far, all its threads together.

import { readFileSync, readdirSync } from "node:fs";
import { execFileSync } from "node:child_process";

let ticksPerSecond = 0;

/** utime + stime from /proc/<pid>/stat, in microseconds (resolution: one clock tick, usually 10 ms). */
export function cpuMicros(pid: number): number {
  if (ticksPerSecond === 0) ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the parenthesised command name (which may itself hold spaces).
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1e6) / ticksPerSecond;
}

/**
 * Time on CPU from the scheduler (/proc/<pid>/task/<tid>/schedstat, summed),
 * in microseconds with nanosecond resolution; null when the kernel lacks schedstats.
 * Threads that exited are not counted, which is fine for Envoy's fixed thread set.
 */
export function schedMicros(pid: number): number | null {
  try {
    let ns = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
    }
    return ns / 1000;
  } catch {
    return null;
  }
}
