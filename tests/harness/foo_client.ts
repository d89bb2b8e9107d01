// A Foo protocol client (seed 001) for tests and `npm run traffic`: exact bytes
// out (any split, any number of REQs per write), reply lines in.

import type { Socket } from "node:net";
import { sleep } from "./envoy.js";
import { closeSocket, openSocket } from "./traffic.js";

export interface FooReply {
  type: "ACK" | "NAK";
  seq: number;
}

export class FooClient {
  /** Every byte received, and the reply lines complete so far. */
  private received = "";
  private lines: FooReply[] = [];
  private closed = false;
  /** The first line that is not a reply (waitForReplies reports it). */
  private badLine: string | undefined;

  private constructor(private sock: Socket) {
    sock.on("data", (d: Buffer) => this.onData(d));
    sock.on("close", () => (this.closed = true));
    sock.on("error", () => {});
  }

  static async connect(port: number): Promise<FooClient> {
    return new FooClient(await openSocket(port));
  }

  /** Writes each chunk as its own write, `gapMs` apart (so they arrive as separate reads). */
  async write(chunks: (string | Buffer)[], gapMs = 0): Promise<void> {
    for (let i = 0; i < chunks.length; i++) {
      this.sock.write(chunks[i]);
      if (gapMs > 0 && i < chunks.length - 1) await sleep(gapMs);
    }
  }

  /** Sends one REQ and returns its reply's type, once it arrives (one request at a time). */
  async request(seq: number, data = "Hey"): Promise<string> {
    const before = this.replies().length;
    this.sock.write(`REQ ${seq} ${data}\n`);
    const reply = (await this.waitForReplies(before + 1))[before];
    if (reply.seq !== seq) throw new Error(`REQ ${seq} answered by ${reply.type} ${reply.seq}`);
    return reply.type;
  }

  /** Every complete reply line so far, in arrival order. */
  replies(): FooReply[] {
    return this.lines;
  }

  private onData(d: Buffer): void {
    const start = this.received.length;
    this.received += d.toString("utf8");
    const end = this.received.lastIndexOf("\n");
    if (end < start) return;
    const from = start === 0 ? 0 : this.received.lastIndexOf("\n", start - 1) + 1;
    for (const line of this.received.slice(from, end).split("\n")) {
      const [type, seq] = line.split(" ");
      if (type === "ACK" || type === "NAK") this.lines.push({ type, seq: Number(seq) });
      else this.badLine ??= line;
    }
  }

  /** Waits until `n` reply lines have arrived in total; returns them. */
  async waitForReplies(n: number, timeoutMs = 5000): Promise<FooReply[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.replies().length < n || this.badLine !== undefined) {
      if (this.badLine !== undefined) throw new Error(`not a Foo reply: ${JSON.stringify(this.badLine)}`);
      const why = this.closed ? "the connection closed" : Date.now() > deadline ? `${timeoutMs} ms passed` : "";
      if (why) throw new Error(`waited for ${n} Foo replies, got ${this.replies().length} before ${why}: ${JSON.stringify(this.received)}`);
      await sleep(5);
    }
    return this.replies();
  }

  close(): Promise<void> {
    return closeSocket(this.sock);
  }
}

/** How many replies of each type. */
export function tally(replies: FooReply[]): { ack: number; nak: number } {
  return { ack: replies.filter((r) => r.type === "ACK").length, nak: replies.filter((r) => r.type === "NAK").length };
}
