// A raw-socket HTTP/1.1 keep-alive client for load tests: one request at a
// time per connection, responses framed by Content-Length or chunked
// encoding, so the test knows exactly how many requests reached the wire.

import type { Socket } from "node:net";
import { openSocket } from "./traffic.js";

export class KeepAliveConnection {
  private buf: Buffer = Buffer.alloc(0);
  private waiting: (() => void) | null = null;
  private closed = false;

  private constructor(readonly socket: Socket) {
    socket.on("data", (d: Buffer) => {
      this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
      this.waiting?.();
    });
    const end = () => {
      this.closed = true;
      this.waiting?.();
    };
    socket.on("close", end);
    socket.on("end", end);
    socket.on("error", end);
  }

  static async open(port: number): Promise<KeepAliveConnection> {
    return new KeepAliveConnection(await openSocket(port));
  }

  /** Sends one GET and waits for its complete response; returns the status. */
  async get(path: string, extraHeaders = ""): Promise<number> {
    this.socket.write(`GET ${path} HTTP/1.1\r\nHost: sitio.test\r\n${extraHeaders}\r\n`);
    for (;;) {
      const r = this.takeResponse();
      if (r !== null) return r;
      if (this.closed) throw new Error(`connection closed before the response to ${path}`);
      await new Promise<void>((ok) => (this.waiting = ok));
      this.waiting = null;
    }
  }

  /** One complete response off the buffer (its status), or null when more bytes are needed. */
  private takeResponse(): number | null {
    const headEnd = this.buf.indexOf("\r\n\r\n");
    if (headEnd < 0) return null;
    const head = this.buf.subarray(0, headEnd).toString("latin1");
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1]);
    if (!status) throw new Error(`not an HTTP response: ${JSON.stringify(head.slice(0, 80))}`);
    let end = headEnd + 4;
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
      for (;;) {
        const lineEnd = this.buf.indexOf("\r\n", end);
        if (lineEnd < 0) return null;
        const size = parseInt(this.buf.subarray(end, lineEnd).toString("latin1"), 16);
        end = lineEnd + 2 + size + 2;
        if (end > this.buf.length) return null;
        if (size === 0) break;
      }
    } else if (length) {
      end += Number(length[1]);
      if (end > this.buf.length) return null;
    }
    this.buf = this.buf.subarray(end);
    return status;
  }

  close(): Promise<void> {
    return new Promise((ok) => {
      if (this.socket.destroyed) return ok();
      this.socket.once("close", () => ok());
      this.socket.end();
    });
  }
}

/** Envoy's resident memory (VmRSS) in KiB. */
export async function rssKiB(pid: number): Promise<number> {
  const { readFile } = await import("node:fs/promises");
  const m = /VmRSS:\s+(\d+) kB/.exec(await readFile(`/proc/${pid}/status`, "utf8"));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]);
}
