// A Foo protocol client (seed 001): one connection, one `REQ <seq> <data>` at a time,
// each answered by one `ACK|NAK <seq> [data]` line.

import { createInterface } from "node:readline";
import type { Socket } from "node:net";
import { closeSocket, openSocket } from "./traffic.js";

export class FooClient {
  private constructor(
    private sock: Socket,
    private lines: AsyncIterator<string>,
  ) {}

  static async connect(port: number): Promise<FooClient> {
    const sock = await openSocket(port);
    return new FooClient(sock, createInterface({ input: sock })[Symbol.asyncIterator]());
  }

  /** Sends one REQ and returns the reply's type ("ACK" or "NAK"); throws if the server closes first. */
  async request(seq: number, data = "Hey"): Promise<string> {
    this.sock.write(`REQ ${seq} ${data}\n`);
    const reply = await this.lines.next();
    if (reply.done) throw new Error(`the Foo server closed the connection instead of answering REQ ${seq}`);
    const [type, replySeq] = String(reply.value).split(" ");
    if (Number(replySeq) !== seq) throw new Error(`REQ ${seq} answered by "${reply.value}"`);
    return type;
  }

  close(): Promise<void> {
    return closeSocket(this.sock);
  }
}
