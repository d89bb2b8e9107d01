// Polling any Envoy admin (not only one startEnvoy() started) until its stats satisfy a check.

import { scrape, type Sample } from "./prometheus.js";
import { sleep } from "./envoy.js";

/** Scrapes `admin` until `check` holds; throws with the sitio series of the last scrape after `timeoutMs`. */
export async function pollStats(admin: string, check: (s: Sample[]) => boolean, what: string, timeoutMs = 10_000): Promise<Sample[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const last = await scrape(admin);
    if (check(last)) return last;
    if (Date.now() > deadline) {
      const sitio = last
        .filter((s) => s.name.startsWith("sitio_"))
        .map((s) => s.line)
        .join("\n");
      throw new Error(`timed out waiting for ${what}\n--- sitio series at ${admin}:\n${sitio}`);
    }
    await sleep(50);
  }
}

/** Waits until `admin`/ready answers 200. */
export async function waitReady(admin: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await fetch(`${admin}/ready`)).status === 200) return;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) throw new Error(`${admin}/ready did not answer 200 within ${timeoutMs} ms`);
    await sleep(100);
  }
}
