// Stopping a server the harness started: SIGTERM, then SIGKILL if it is still there after 5 s.

import type { ChildProcess } from "node:child_process";

export function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise<void>((ok) => {
    child.once("exit", () => ok());
    child.kill("SIGTERM");
    setTimeout(() => child.kill("SIGKILL"), 5000).unref();
  });
}
