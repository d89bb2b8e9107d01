// The Foo codec through the project's own proxy-wasm host: byte tables, every
// split, out-of-order replies, malformed lines, and the rate windows driven by
// the host clock and ticks. tests/foo.test.ts checks the same in Envoy.

import { describe, expect, test } from "vitest";
import { ProxyWasmHost, type Connection } from "../harness/proxy_wasm_host.js";

const PLUGIN = "f";
const FOO = JSON.stringify({ protocol: "foo" });
const MS = 1_000_000n;

const REQUESTS = `sitio_tcp_requests_total;method=REQ;endpoint=-;plugin=${PLUGIN}`;
const DURATION = `sitio_tcp_request_duration_microsecond;method=REQ;endpoint=-;plugin=${PLUGIN}`;
const status = (s: string) => `sitio_tcp_responses_total;status=${s};plugin=${PLUGIN}`;
const plain = (name: string) => `sitio_tcp_${name};plugin=${PLUGIN}`;
const malformed = (direction: "downstream" | "upstream") => `sitio_tcp_malformed_messages_total;direction=${direction};plugin=${PLUGIN}`;

function setup(config = FOO) {
  const host = new ProxyWasmHost();
  const root = host.createRoot("sitio_network", PLUGIN, config);
  return { host, root };
}

/** Every Foo counter of the plugin, for whole-state comparisons (after a tick publishes the ones kept in the VM). */
function counts(host: ProxyWasmHost) {
  host.flush();
  return {
    requests: host.value(REQUESTS),
    ack: host.value(status("ACK")),
    nak: host.value(status("NAK")),
    durations: host.metrics.get(DURATION)?.samples.length ?? 0,
    unmatched: host.value(plain("unmatched_responses_total")),
    duplicates: host.value(plain("duplicate_requests_total")),
    untimed: host.value(plain("untimed_requests_total")),
    malformedDown: host.value(malformed("downstream")),
    malformedUp: host.value(malformed("upstream")),
    unparsed: host.value(plain("unparsed_bytes_total")),
    requestsLast10s: host.value(plain("requests_last_10s")),
    responsesLast10s: host.value(plain("responses_last_10s")),
  };
}

// The seed's sample session (its arrows tidied: the client sends REQ, the server answers).
const SEED_REQUESTS = ["REQ 1 Hey\n", "REQ 2 Hey there\n", "REQ 3 Hey\n", "REQ 4 Hey\n", "REQ 5 Hey\n", "REQ 6 Hey\n"];
const SEED_REPLIES = ["ACK 1 Hello\n", "ACK 2\n", "ACK 3 What\n", "ACK 4 What do you want\n", "NAK 5 Stop it\n", "NAK 6 Stop doing that\n"];
const SEED_COUNTS = { requests: 6, ack: 4, nak: 2, durations: 6, unmatched: 0, duplicates: 0, untimed: 0, malformedDown: 0, malformedUp: 0, unparsed: 0 };

/** Splits `s` into chunks at the given offsets. */
function splitAt(s: string, ...at: number[]): string[] {
  const cuts = [0, ...at, s.length];
  return cuts.slice(1).map((end, i) => s.slice(cuts[i], end));
}

function send(c: Connection, downstream: string[], upstream: string[]): void {
  for (const d of downstream) c.downstream(d);
  for (const u of upstream) c.upstream(u);
}

describe("wasm host: Foo codec", () => {
  test("the seed's session, in its order: 6 requests, 4 ACK, 2 NAK, each duration from its REQ to its reply", () => {
    const { host, root } = setup();
    const c = host.connect(root);
    const step = (ms: number) => (host.nowNs += BigInt(ms) * MS);
    c.downstream(SEED_REQUESTS[0]);
    step(2);
    c.upstream(SEED_REPLIES[0]); // 2 ms
    c.downstream(SEED_REQUESTS[1]);
    step(3);
    c.upstream(SEED_REPLIES[1]); // 3 ms
    c.downstream(SEED_REQUESTS[2]);
    step(1);
    c.downstream(SEED_REQUESTS[3]);
    step(1);
    c.downstream(SEED_REQUESTS[4]);
    step(4);
    c.upstream(SEED_REPLIES[2]); // 6 ms
    c.upstream(SEED_REPLIES[3]); // 5 ms
    c.downstream(SEED_REQUESTS[5]);
    step(7);
    c.upstream(SEED_REPLIES[4]); // 11 ms
    c.upstream(SEED_REPLIES[5]); // 7 ms
    c.close();
    expect(counts(host)).toMatchObject(SEED_COUNTS);
    expect(host.metrics.get(DURATION)!.samples).toEqual([2, 3, 6, 5, 11, 7].map((ms) => ms * 1000));
    host.flush();
    expect(host.value(plain("connections_total"))).toBe(1);
    expect(host.traps).toBe(0);
  });

  test("every split of the requests and of the replies into two reads gives the seed's counts", () => {
    const down = SEED_REQUESTS.join("");
    const up = SEED_REPLIES.join("");
    const { host, root } = setup();
    let runs = 0;
    for (let k = 0; k <= down.length; k++) {
      const c = host.connect(root);
      send(c, splitAt(down, k), [up]);
      c.close();
      runs++;
    }
    for (let k = 0; k <= up.length; k++) {
      const c = host.connect(root);
      send(c, [down], splitAt(up, k));
      c.close();
      runs++;
    }
    const got = counts(host);
    for (const [name, n] of Object.entries(SEED_COUNTS)) expect(got[name as keyof typeof got], name).toBe(n * runs);
  });

  test("every split into three reads of a stream with malformed lines gives the same counts as one read", () => {
    const down = "REQ 1 a\nREQ x\nREQ 2\r\nREQ 3 \xff\nREQ 4 ok\n";
    const up = "ACK 2\nNAK 1 no\nACK 9\nACK\nACK 4\n";
    const whole = setup();
    const c0 = whole.host.connect(whole.root);
    send(c0, [down], [up]);
    c0.close();
    const expected = counts(whole.host);
    expect(expected).toMatchObject({
      requests: 3,
      ack: 3,
      nak: 1,
      durations: 3,
      unmatched: 1,
      malformedDown: 2,
      malformedUp: 1,
      unparsed: "REQ x\n".length + "REQ 3 \xff\n".length,
    });

    for (const [text, other, downstream] of [
      [down, up, true],
      [up, down, false],
    ] as const) {
      const { host, root } = setup();
      let runs = 0;
      for (let i = 0; i <= text.length; i++) {
        for (let j = i; j <= text.length; j++) {
          const c = host.connect(root);
          const parts = splitAt(text, i, j);
          if (downstream) send(c, parts, [other]);
          else send(c, [other], parts);
          c.close();
          runs++;
        }
      }
      const got = counts(host);
      for (const [name, n] of Object.entries(expected))
        expect(got[name as keyof typeof got], `${name} (${downstream ? "requests" : "replies"} split)`).toBe(n * runs);
    }
  });

  test("one byte per read in both directions gives the seed's counts", () => {
    const { host, root } = setup();
    const c = host.connect(root);
    send(c, [...SEED_REQUESTS.join("")], [...SEED_REPLIES.join("")]);
    c.close();
    expect(counts(host)).toMatchObject(SEED_COUNTS);
  });

  test("100 requests in one write and their 100 replies in one write, reversed", () => {
    const { host, root } = setup();
    const c = host.connect(root);
    const seqs = Array.from({ length: 100 }, (_, i) => i + 1);
    c.downstream(seqs.map((s) => `REQ ${s} data ${s}\n`).join(""));
    host.nowNs += 5n * MS;
    const up = c.upstream(
      seqs
        .reverse()
        .map((s) => (s % 5 === 0 ? `NAK ${s}\n` : `ACK ${s}\n`))
        .join(""),
    );
    c.close();
    expect(counts(host)).toMatchObject({ requests: 100, ack: 80, nak: 20, durations: 100, unmatched: 0, malformedDown: 0, malformedUp: 0 });
    expect(host.metrics.get(DURATION)!.samples.every((us) => us === 5000)).toBe(true);
    expect(up.toString()).toBe(seqs.map((s) => (s % 5 === 0 ? `NAK ${s}\n` : `ACK ${s}\n`)).join("")); // passed through untouched
  });

  test("out-of-order replies, several per read, are matched to their own request", () => {
    const { host, root } = setup();
    const c = host.connect(root);
    for (let s = 1; s <= 6; s++) {
      c.downstream(`REQ ${s}\n`);
      host.nowNs += MS; // REQ s starts at s-1 ms
    }
    // now = 6 ms
    c.upstream("ACK 4\nNAK 2\nACK 6 x\n");
    host.nowNs += 10n * MS; // now = 16 ms
    c.upstream("ACK 1\nACK 5\nNAK 3\n");
    c.close();
    expect(counts(host)).toMatchObject({ requests: 6, ack: 4, nak: 2, durations: 6, unmatched: 0 });
    expect(host.metrics.get(DURATION)!.samples).toEqual([6 - 3, 6 - 1, 6 - 5, 16 - 0, 16 - 4, 16 - 2].map((ms) => ms * 1000));
  });

  test("malformed lines are counted once each, pass through, and never hide the next line", () => {
    const bad = [
      "\n", // empty line
      "req 1\n", // lower-case type
      "REQ\n", // no sequence number
      "REQ \n",
      "REQ1\n", // no whitespace after the type
      "REQX 1\n",
      "REQ -1\n", // not an integer
      "REQ 1x\n",
      "REQ 1234567890123456789\n", // 19 digits
      "ACK 1\n", // a reply sent by the client
      " REQ 1\n", // leading whitespace
      "REQ 1\rx\n", // a CR that does not end the line
      "REQ 1 a\x00b\n", // NUL in data
      "REQ 1 \xc3\n", // truncated UTF-8
      "REQ 1 \xc0\xaf\n", // overlong UTF-8
      "REQ 1 \xed\xa0\x80\n", // UTF-16 surrogate
      `REQ 1 ${"x".repeat(4096)}\n`, // over 4 KiB
      `REQ 1 ${"x".repeat(4097 - 7)}\n`, // one byte over 4 KiB
    ];
    const { host, root } = setup();
    const c = host.connect(root);
    let n = 0;
    for (const line of bad) {
      n++;
      c.downstream(Buffer.from(line + `REQ ${n}\n`, "latin1"));
      expect(host.value(malformed("downstream")), JSON.stringify(line.slice(0, 20))).toBe(n);
      expect(host.value(REQUESTS), JSON.stringify(line.slice(0, 20))).toBe(n);
    }
    const badBytes = bad.reduce((a, l) => a + Buffer.byteLength(l, "latin1"), 0);
    host.flush();
    expect(host.value(plain("unparsed_bytes_total"))).toBe(badBytes);
    expect(c.upstream("NAK 1\nREQ 2\nACK\nACK 2 \xff\nNAK x\nACK 3\n").toString("latin1")).toBe("NAK 1\nREQ 2\nACK\nACK 2 \xff\nNAK x\nACK 3\n");
    c.close();
    expect(counts(host)).toMatchObject({ nak: 1, ack: 1, malformedUp: 4, unmatched: 0 });
    expect(host.traps).toBe(0);
  });

  test("accepted variants: tabs and runs of blanks, CRLF, leading zeros, a line of exactly 4 KiB, UTF-8 data", () => {
    const { host, root } = setup();
    const c = host.connect(root);
    const exactly4k = "REQ 5 " + "y".repeat(4096 - "REQ 5 ".length - 1) + "\n";
    expect(Buffer.byteLength(exactly4k)).toBe(4096);
    c.downstream(Buffer.from("REQ\t1\nREQ   2  two  \nREQ 3\r\nREQ 004 x\r\n" + exactly4k + "REQ 6 héllo ✓ 𝄞\n", "utf8"));
    c.upstream("ACK 1\nACK 2\nACK 3\nACK 4\nACK 5\nACK 000006\n");
    c.close();
    expect(counts(host)).toMatchObject({ requests: 6, ack: 6, durations: 6, unmatched: 0, malformedDown: 0, malformedUp: 0, unparsed: 0 });
  });

  test("unmatched replies (no such request, or already answered) are responses without a duration", () => {
    const { host, root } = setup();
    const c = host.connect(root);
    c.downstream("REQ 1\n");
    c.upstream("ACK 99\nACK 1\nNAK 1\n");
    c.close();
    expect(counts(host)).toMatchObject({ requests: 1, ack: 2, nak: 1, unmatched: 2, durations: 1 });
  });

  test("a REQ reusing a waiting sequence number is a duplicate; its number is free again once answered", () => {
    const { host, root } = setup();
    const c = host.connect(root);
    host.nowNs += 0n;
    c.downstream("REQ 7 first\n");
    host.nowNs += 4n * MS;
    c.downstream("REQ 7 again\n");
    host.nowNs += 1n * MS;
    c.upstream("ACK 7\nACK 7\n"); // the first reply answers the first REQ (5 ms); the second answers nothing
    c.downstream("REQ 7 later\n");
    c.upstream("NAK 7\n");
    c.close();
    expect(counts(host)).toMatchObject({ requests: 3, duplicates: 1, ack: 2, nak: 1, unmatched: 1 });
    expect(host.metrics.get(DURATION)!.samples).toEqual([5000, 0]);
  });

  test("sequence numbers are per connection", () => {
    const { host, root } = setup();
    const a = host.connect(root);
    const b = host.connect(root);
    a.downstream("REQ 1\n");
    b.downstream("REQ 1\n");
    b.upstream("ACK 1\n");
    a.upstream("NAK 1\n");
    b.upstream("ACK 1\n");
    a.close();
    b.close();
    expect(counts(host)).toMatchObject({ requests: 2, duplicates: 0, ack: 2, nak: 1, unmatched: 1, durations: 2 });
  });

  test("at most 1024 requests wait per connection; the rest are counted as untimed, and memory stays bounded", () => {
    const { host, root } = setup();
    const c = host.connect(root);
    c.downstream(Array.from({ length: 1030 }, (_, i) => `REQ ${i}\n`).join(""));
    expect(counts(host)).toMatchObject({ requests: 1030, untimed: 6 });
    c.upstream("ACK 1029\nACK 0\n"); // 1029 was never awaited
    expect(counts(host)).toMatchObject({ ack: 2, unmatched: 1, durations: 1 });
    const memory = host.memoryBytes;
    for (let round = 0; round < 20; round++) {
      c.downstream(Array.from({ length: 2000 }, (_, i) => `REQ ${round * 2000 + i + 5000} ${"z".repeat(100)}\n`).join(""));
      c.upstream("ACK 12345678\n".repeat(500));
    }
    c.close();
    expect(host.memoryBytes - memory).toBeLessThan(512 * 1024);
    expect(host.traps).toBe(0);
  });

  test("random bytes never trap, and one byte per read counts exactly as one read", () => {
    let seed = 12345;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    const alphabet = ["REQ ", "ACK ", "NAK ", "1", "2", "3", " ", "\t", "\n", "\r", "x", "\x00", "\xff", "\xe2\x82\xac"];
    const text = Array.from({ length: 3000 }, () => alphabet[Math.floor(rnd() * alphabet.length)]).join("");
    const whole = setup();
    const a = whole.host.connect(whole.root);
    send(a, [text], [text]);
    a.close();
    const bytewise = setup();
    const b = bytewise.host.connect(bytewise.root);
    const chunks = [...Buffer.from(text, "latin1")].map((x) => Buffer.from([x]));
    for (const ch of chunks) b.downstream(ch);
    for (const ch of chunks) b.upstream(ch);
    b.close();
    expect(counts(bytewise.host)).toEqual(counts(whole.host));
    const got = counts(whole.host);
    expect(got.malformedDown).toBeGreaterThan(0);
    expect(got.unmatched).toBeGreaterThan(0);
    // Every reply is a response; those matched to a request have a duration.
    expect(got.durations).toBe(got.ack + got.nak - got.unmatched);
    expect(got.responsesLast10s).toBe(got.ack + got.nak);
    expect(whole.host.traps + bytewise.host.traps).toBe(0);
  });
});

describe("wasm host: request and response rates", () => {
  const rates = (host: ProxyWasmHost) => ({
    req1: host.value(plain("requests_last_1s")),
    req10: host.value(plain("requests_last_10s")),
    res1: host.value(plain("responses_last_1s")),
    res10: host.value(plain("responses_last_10s")),
  });

  test("the root asks for a 1 s tick", () => {
    const { host } = setup();
    expect(host.tickPeriodMs).toBe(1000);
  });

  test("a message appears at the next tick: in the 1 s window for one tick, in the 10 s window for ten", () => {
    const { host, root } = setup();
    const c = host.connect(root);
    c.downstream("REQ 1\nREQ 2\nREQ 3\n");
    c.upstream("ACK 1\n");
    expect(rates(host)).toEqual({ req1: 0, req10: 0, res1: 0, res10: 0 });
    host.tick(root);
    expect(rates(host)).toEqual({ req1: 3, req10: 3, res1: 1, res10: 1 });
    c.downstream("REQ 4\n");
    c.upstream("NAK 2\nACK 3\n");
    expect(rates(host)).toEqual({ req1: 3, req10: 3, res1: 1, res10: 1 });
    host.tick(root);
    expect(rates(host)).toEqual({ req1: 1, req10: 4, res1: 2, res10: 3 });
    for (let t = 3; t <= 10; t++) host.tick(root);
    // ten ticks after the first burst, nine after the second: both still in the 10 s window
    expect(rates(host)).toEqual({ req1: 0, req10: 4, res1: 0, res10: 3 });
    host.tick(root); // the first burst's bucket leaves the window
    expect(rates(host)).toEqual({ req1: 0, req10: 1, res1: 0, res10: 2 });
    host.tick(root);
    expect(rates(host)).toEqual({ req1: 0, req10: 0, res1: 0, res10: 0 });
    c.close();
  });

  test("a steady 7 requests per second over 30 ticks: the windows hold 7 and 70", () => {
    const { host, root } = setup();
    const c = host.connect(root);
    let seq = 0;
    for (let s = 0; s < 30; s++) {
      for (let i = 0; i < 7; i++) c.downstream(`REQ ${++seq}\n`);
      host.tick(root);
      if (s >= 9) expect(rates(host)).toMatchObject({ req1: 7, req10: 70 });
    }
    c.close();
  });

  test("rates are kept for every codec: HTTP/1.x requests count too", () => {
    const { host, root } = setup("");
    const c = host.connect(root);
    c.downstream("GET / HTTP/1.1\r\n\r\nGET /x HTTP/1.1\r\n\r\n");
    host.tick(root);
    expect(rates(host)).toMatchObject({ req1: 2, req10: 2 });
    host.tick(root);
    expect(rates(host)).toMatchObject({ req1: 0, req10: 2 });
    c.close();
  });

  test("when the plugin goes away its messages leave the shared gauges", () => {
    const { host, root } = setup();
    const c = host.connect(root);
    c.downstream("REQ 1\n");
    host.tick(root);
    c.downstream("REQ 2\n");
    c.upstream("ACK 2\n");
    c.close();
    host.tick(root);
    expect(rates(host)).toEqual({ req1: 1, req10: 2, res1: 1, res10: 1 });
    host.deleteContext(root);
    expect(rates(host)).toEqual({ req1: 0, req10: 0, res1: 0, res10: 0 });
  });
});
