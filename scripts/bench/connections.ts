// Raw-socket clients for the new-connection benchmark: idle keep-alive
// connections that stay open, and short connections timed from connect()
// to the last byte of their first response.

import { connect, type Socket } from "node:net";

const REQUEST = Buffer.from("GET / HTTP/1.1\r\nHost: bench\r\n\r\n", "latin1");

/** Length of the first complete HTTP/1.1 response (Content-Length framing) in `bytes`, or 0. */
function responseLength(bytes: Buffer): number {
  const head = bytes.indexOf("\r\n\r\n");
  if (head < 0) return 0;
  const m = /\r\ncontent-length:\s*(\d+)/i.exec(bytes.subarray(0, head).toString("latin1"));
  const total = head + 4 + (m ? Number(m[1]) : 0);
  return bytes.length >= total ? total : 0;
}

/** Connects, sends one GET, resolves with the socket once the whole response arrived. */
function exchange(port: number): Promise<Socket> {
  return new Promise((ok, fail) => {
    let got = Buffer.alloc(0);
    const s = connect({ port, host: "127.0.0.1", noDelay: true }, () => s.write(REQUEST));
    const onData = (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (responseLength(got) > 0) {
        s.off("data", onData);
        s.off("error", fail);
        ok(s);
      }
    };
    s.on("data", onData);
    s.on("error", fail);
    s.on("close", () => fail(new Error("closed before a full response")));
  });
}

/** `n` keep-alive connections, each after one full request/response, left open and idle. */
export async function openIdle(port: number, n: number, batch = 100): Promise<Socket[]> {
  const sockets: Socket[] = [];
  try {
    for (let i = 0; i < n; i += batch) {
      const opened = await Promise.all(Array.from({ length: Math.min(batch, n - i) }, () => exchange(port)));
      for (const s of opened) {
        s.on("error", () => {});
        sockets.push(s);
      }
    }
  } catch (e) {
    closeAll(sockets);
    throw e;
  }
  return sockets;
}

export function closeAll(sockets: Socket[]): void {
  for (const s of sockets) s.destroy();
}

/** Whether every idle connection is still open (none was closed by the proxy). */
export function allOpen(sockets: Socket[]): boolean {
  return sockets.every((s) => !s.destroyed && s.readyState === "open");
}

/**
 * `m` new connections one after the other: connect, GET, full response,
 * close. Returns each one's connect-to-response time in microseconds.
 */
export async function shortConnections(port: number, m: number): Promise<number[]> {
  const micros: number[] = [];
  for (let i = 0; i < m; i++) {
    const t0 = process.hrtime.bigint();
    const s = await exchange(port);
    micros.push(Number(process.hrtime.bigint() - t0) / 1000);
    await new Promise<void>((ok) => {
      s.once("close", () => ok());
      s.end();
    });
  }
  return micros;
}
