// A Foo protocol client for tests: exact bytes out (any split), reply lines in.

import type { Socket } from "node:net";
import { sleep } from "./envoy.js";
import { closeSocket, openSocket } from "./traffic.js";

export interface FooReply {
  type: "ACK" | "NAK";
  seq: number;
}

export class FooClient {
  private received = "";

  private constructor(private sock: Socket) {
    sock.on("data", (d: Buffer) => (this.received += d.toString("utf8")));
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

  /** Every complete reply line so far, in arrival order. */
  replies(): FooReply[] {
    return this.received
      .split("\n")
      .slice(0, -1)
      .map((line) => {
        const [type, seq] = line.split(" ");
        if (type !== "ACK" && type !== "NAK") throw new Error(`unexpected reply line: ${JSON.stringify(line)}`);
        return { type, seq: Number(seq) };
      });
  }

  /** Waits until `n` reply lines have arrived in total; returns them. */
  async waitForReplies(n: number, timeoutMs = 5000): Promise<FooReply[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.replies().length < n) {
      if (Date.now() > deadline) throw new Error(`waited for ${n} Foo replies, got ${this.replies().length}: ${JSON.stringify(this.received)}`);
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
