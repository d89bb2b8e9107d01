// The Foo listener (:18001) in the real Envoy, on the shipped envoy.yaml, in
// front of the project's Foo server: each count equals what the test sent and
// what the server answered, whatever the split of the bytes.

import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { sleep } from "../harness/envoy.js";
import { useEnvoy } from "../harness/use_envoy.js";
import { value, type Sample } from "../harness/prometheus.js";
import { FooClient, tally } from "../harness/foo_client.js";
import { startFooServer, type FooServer } from "../harness/foo_server.js";

const PLUGIN = "sitio_foo";
const REQ = { method: "REQ", endpoint: "-", plugin: PLUGIN };
const envoy = useEnvoy({ name: "foo" });
let server: FooServer;
let port: number;
beforeAll(async () => {
  server = await startFooServer({ port: envoy.port(8098) });
  port = envoy.port(18001);
});
afterAll(async () => server?.close());

/** Every Foo-relevant series of the plugin. */
function counts(s: Sample[]) {
  const v = (name: string, labels: Record<string, string> = {}) => value(s, name, { plugin: PLUGIN, ...labels }) ?? 0;
  return {
    requests: v("sitio_tcp_requests_total", REQ),
    ack: v("sitio_tcp_responses_total", { status: "ACK" }),
    nak: v("sitio_tcp_responses_total", { status: "NAK" }),
    durations: v("sitio_tcp_request_duration_microsecond_count", REQ),
    unmatched: v("sitio_tcp_unmatched_responses_total"),
    duplicates: v("sitio_tcp_duplicate_requests_total"),
    malformed: v("sitio_tcp_malformed_messages_total", { direction: "downstream" }) + v("sitio_tcp_malformed_messages_total", { direction: "upstream" }),
    unparsed: v("sitio_tcp_unparsed_bytes_total"),
    connections: v("sitio_tcp_connections_total"),
    active: v("sitio_tcp_active_connections"),
  };
}
type Counts = ReturnType<typeof counts>;

function delta(after: Counts, before: Counts): Counts {
  const out = { ...after };
  for (const k of Object.keys(out) as (keyof Counts)[]) if (k !== "active") out[k] = after[k] - before[k];
  return out;
}

/** Waits until the connections are closed and `expected` is reached, then checks nothing more arrives. */
async function expectDelta(before: Counts, expected: Partial<Counts>): Promise<Counts> {
  const reached = (s: Sample[]) => {
    const d = delta(counts(s), before);
    return d.active === 0 && Object.entries(expected).every(([k, n]) => d[k as keyof Counts] === n);
  };
  await envoy.waitForStats(reached, `Foo counts ${JSON.stringify(expected)}`);
  await sleep(100);
  const d = delta(counts(await envoy.scrape()), before);
  expect(d).toMatchObject(expected);
  return d;
}

// The seed's sample session: the client's REQs and when it waits for replies.
const SEED_STEPS: { send: string[]; replies: number }[] = [
  { send: ["REQ 1 Hey\n"], replies: 1 },
  { send: ["REQ 2 Hey there\n"], replies: 1 },
  { send: ["REQ 3 Hey\n", "REQ 4 Hey\n", "REQ 5 Hey\n"], replies: 3 },
  { send: ["REQ 6 Stop doing that\n"], replies: 1 },
];
const SEED_BYTES = SEED_STEPS.flatMap((s) => s.send).join("");

describe("Foo listener: counts equal what was sent and answered", () => {
  test("the seed's scripted session: 6 REQ, and as many ACK/NAK and durations as the server answered", async () => {
    const before = counts(await envoy.scrape());
    const c = await FooClient.connect(port);
    let expectedReplies = 0;
    for (const step of SEED_STEPS) {
      await c.write(step.send, 2);
      expectedReplies += step.replies;
      await c.waitForReplies(expectedReplies);
    }
    const replies = c.replies();
    await c.close();
    const answered = tally(replies);
    // The server's rule: NAK for 5 (a multiple of 5) and 6 ("Stop" in its data), as in the seed.
    expect(answered).toEqual({ ack: 4, nak: 2 });
    expect(replies.map((r) => r.seq).sort()).toEqual([1, 2, 3, 4, 5, 6]);
    await expectDelta(before, {
      requests: 6,
      ack: answered.ack,
      nak: answered.nak,
      durations: 6,
      unmatched: 0,
      duplicates: 0,
      malformed: 0,
      unparsed: 0,
      connections: 1,
    });
  });

  test("the same session one byte per write gives the same counts", async () => {
    const before = counts(await envoy.scrape());
    const c = await FooClient.connect(port);
    await c.write(
      [...Buffer.from(SEED_BYTES)].map((b) => Buffer.from([b])),
      1,
    );
    const replies = await c.waitForReplies(6);
    await c.close();
    expect(tally(replies)).toEqual({ ack: 4, nak: 2 });
    await expectDelta(before, { requests: 6, ack: 4, nak: 2, durations: 6, unmatched: 0, malformed: 0, connections: 1 });
  });

  test("100 REQs in one write, answered in batches out of order: 100 requests, 80 ACK, 20 NAK, 100 durations", async () => {
    const before = counts(await envoy.scrape());
    const c = await FooClient.connect(port);
    await c.write([Array.from({ length: 100 }, (_, i) => `REQ ${i + 1} item ${i + 1}\n`).join("")]);
    const replies = await c.waitForReplies(100);
    await c.close();
    const answered = tally(replies);
    expect(answered).toEqual({ ack: 80, nak: 20 });
    // The replies really came out of order (several at once, newest first), or this test proves less.
    expect(replies.some((r, i) => i > 0 && r.seq < replies[i - 1].seq)).toBe(true);
    await expectDelta(before, { requests: 100, ack: 80, nak: 20, durations: 100, unmatched: 0, malformed: 0, connections: 1 });
  });

  test("a malformed line, a duplicate sequence number and its second reply are each counted; the bytes pass untouched", async () => {
    const before = counts(await envoy.scrape());
    const c = await FooClient.connect(port);
    const bad = "REQ x not a number\n";
    // The server ignores the bad line and answers both REQ 7: the second ACK 7 is a reply to nothing sitio waits for.
    await c.write([bad + "REQ 7 one\nREQ 7 two\n"]);
    const replies = await c.waitForReplies(2);
    await c.close();
    expect(replies).toEqual([
      { type: "ACK", seq: 7 },
      { type: "ACK", seq: 7 },
    ]);
    await expectDelta(before, { requests: 2, duplicates: 1, ack: 2, unmatched: 1, durations: 1, malformed: 1, unparsed: bad.length, connections: 1 });
  });

  test("many connections at once: sequence numbers are per connection", async () => {
    const before = counts(await envoy.scrape());
    const clients = await Promise.all(Array.from({ length: 8 }, () => FooClient.connect(port)));
    await Promise.all(clients.map((c) => c.write(["REQ 1 a\nREQ 2 b\n", "REQ 3 c\nREQ 4 d\nREQ 5 e\n"], 3)));
    const all = await Promise.all(clients.map((c) => c.waitForReplies(5)));
    await Promise.all(clients.map((c) => c.close()));
    const answered = tally(all.flat());
    expect(answered).toEqual({ ack: 32, nak: 8 });
    await expectDelta(before, { requests: 40, ack: 32, nak: 8, durations: 40, duplicates: 0, unmatched: 0, connections: 8 });
  });
});
