// The 1 s and 10 s rate gauges in the real Envoy, driven by sitio's 1 s tick:
// messages are counted in the VM and published at the next tick, into the
// window of the last complete tick (1 s) and of the last ten (10 s). At every
// scrape the gauges must hold what that allows, give or take the tick the
// publication waits for. Its own Envoy, so no other traffic is in the
// windows; about 15 s, mostly waiting for the 10 s window to empty.

import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { sleep } from "../harness/envoy.js";
import { useEnvoy } from "../harness/use_envoy.js";
import { value } from "../harness/prometheus.js";
import { FooClient } from "../harness/foo_client.js";
import { startFooServer, type FooServer } from "../harness/foo_server.js";

const PLUGIN = "sitio_foo";
/** Time Envoy's timer may fire late per tick, plus scheduling noise on a busy machine. */
const SLACK_MS = 500;
/** sitio's tick. */
const TICK = 1000;

const envoy = useEnvoy({ name: "foo-rates" });
let server: FooServer;
beforeAll(async () => {
  server = await startFooServer({ port: envoy.port(8098) });
});
afterAll(async () => server?.close());

interface Burst {
  n: number;
  /** Before the first byte was written: nothing of the burst was counted earlier. */
  sentMs: number;
  /** After every reply arrived: every REQ and reply of the burst was counted by then. */
  doneMs: number;
}

interface Reading {
  /** The scrape was sent at `fromMs` and answered at `toMs`; Envoy read the gauges in between. */
  fromMs: number;
  toMs: number;
  requests1s: number;
  requests10s: number;
  responses1s: number;
  responses10s: number;
}

/** `n` REQs in one write on a new connection (one read, so one bucket); returns once all are answered. */
async function burst(n: number, firstSeq: number): Promise<Burst> {
  const c = await FooClient.connect(envoy.port(18001));
  const sentMs = Date.now();
  await c.write([Array.from({ length: n }, (_, i) => `REQ ${firstSeq + i}\n`).join("")]);
  await c.waitForReplies(n);
  const doneMs = Date.now();
  await c.close();
  return { n, sentMs, doneMs };
}

async function read(): Promise<Reading> {
  const fromMs = Date.now();
  const s = await envoy.scrape();
  const toMs = Date.now();
  const g = (name: string) => value(s, `sitio_tcp_${name}`, { plugin: PLUGIN }) ?? -1;
  return {
    fromMs,
    toMs,
    requests1s: g("requests_last_1s"),
    requests10s: g("requests_last_10s"),
    responses1s: g("responses_last_1s"),
    responses10s: g("responses_last_10s"),
  };
}

/**
 * What a window gauge may hold at this reading. A burst is counted in the tick
 * interval it arrives in and published at the tick that closes it (at most a
 * second after it was done); it then stays for one tick (1 s window) or ten
 * (10 s window). So it must be in the 10 s window once a tick has surely
 * passed since it was done and none of the ten can have run out
 * (`mustFromMs` … `mustUntilMs`), and may be in a window from when it was sent
 * until the window plus a tick after it was done.
 */
function bounds(bursts: Burst[], r: Reading, windowMs: number): [number, number] {
  let lo = 0;
  let hi = 0;
  for (const b of bursts) {
    if (b.sentMs > r.toMs) continue;
    const mustFromMs = b.doneMs + TICK + SLACK_MS;
    const mustUntilMs = b.sentMs + windowMs - SLACK_MS;
    if (windowMs > TICK && r.fromMs >= mustFromMs && r.toMs < mustUntilMs) lo += b.n;
    if (r.fromMs - b.doneMs < windowMs + TICK + SLACK_MS) hi += b.n;
  }
  return [lo, hi];
}

describe("Foo listener: request and response rates", () => {
  test("last_1s and last_10s hold the messages of their window, within one tick", async () => {
    const start = await read();
    expect(start).toMatchObject({ requests1s: 0, requests10s: 0, responses1s: 0, responses10s: 0 });
    const bursts: Burst[] = [];
    const readings: Reading[] = [];
    bursts.push(await burst(5, 1));
    const secondAt = Date.now() + 2500;
    const endAt = secondAt + 10_000 + 2 * TICK + 2 * SLACK_MS;
    while (Date.now() < endAt) {
      if (bursts.length === 1 && Date.now() >= secondAt) bursts.push(await burst(3, 100));
      readings.push(await read());
      await sleep(100);
    }
    for (const r of readings) {
      const at = `reading at +${r.fromMs - bursts[0].sentMs} ms: ${JSON.stringify(r)}`;
      const [lo10, hi10] = bounds(bursts, r, 10_000);
      const [lo1, hi1] = bounds(bursts, r, 1000);
      for (const [v, lo, hi, what] of [
        [r.requests10s, lo10, hi10, "requests_last_10s"],
        [r.responses10s, lo10, hi10, "responses_last_10s"],
        [r.requests1s, lo1, hi1, "requests_last_1s"],
        [r.responses1s, lo1, hi1, "responses_last_1s"],
      ] as const) {
        expect(v, `${what} ${at}`).toBeGreaterThanOrEqual(lo);
        expect(v, `${what} ${at}`).toBeLessThanOrEqual(hi);
      }
      // Each burst arrived in one read, so a window holds all of a burst or none of it.
      expect([0, 3, 5, 8], at).toContain(r.requests10s);
      expect([0, 3, 5, 8], at).toContain(r.requests1s);
    }
    // The 1 s window must have been seen holding a burst (a tick can fall between a burst and
    // the next reading, but not for both bursts unless the window never counts at all).
    expect(readings.some((r) => r.requests1s > 0 && r.responses1s > 0)).toBe(true);
    // And the 10 s window must have been seen holding both bursts at once.
    expect(readings.some((r) => r.requests10s === 8 && r.responses10s === 8)).toBe(true);
    expect(readings.at(-1)).toMatchObject({ requests1s: 0, requests10s: 0, responses1s: 0, responses10s: 0 });
  });
});
