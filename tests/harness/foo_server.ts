// The Foo protocol server (seed 001) behind sitio's :18001 listener.
//
// Answers every `REQ <seq> [data]` line with `ACK <seq>` or `NAK <seq> denied`:
// NAK when <seq> is a multiple of 5 or the data contains "stop" (any case),
// ACK otherwise. Replies are held for --batch-ms after the first one waiting,
// then written in one write, newest first, so a client that pipelines sees
// several replies at once and out of order, like the seed's sample session.
// Lines that are not a REQ get no reply. Tests call startFooServer(); `npm start`
// and docker-compose run it through scripts/foo_server.ts.

import { createServer, type Server, type Socket } from "node:net";

/** A line longer than this without '\n' ends the connection (the server keeps one line per client). */
const MAX_LINE_BYTES = 64 * 1024;
// `s`: the data may hold any byte but the newline, `\r` included (`.` alone would not match it).
const REQ = /^REQ[ \t]+(\d+)(?:[ \t](.*))?$/s;

export interface FooServerOptions {
  port: number;
  host?: string;
  /** How long replies wait for company before they are written (ms); 0 writes each at once. */
  batchMs?: number;
}

export interface FooServer {
  port: number;
  close(): Promise<void>;
}

/** The server's answer to one REQ: the deterministic rule in the header. */
export function replyTo(seq: string, data: string): string {
  const nak = BigInt(seq) % 5n === 0n || data.toLowerCase().includes("stop");
  return nak ? `NAK ${seq} denied\n` : `ACK ${seq}\n`;
}

function serve(socket: Socket, batchMs: number): void {
  let partial = "";
  let waiting: string[] = [];
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    timer = undefined;
    if (waiting.length === 0 || socket.destroyed) return;
    socket.write(waiting.reverse().join(""));
    waiting = [];
  };
  socket.setNoDelay(true);
  socket.on("data", (chunk: Buffer) => {
    const lines = (partial + chunk.toString("utf8")).split("\n");
    partial = lines.pop()!;
    if (partial.length > MAX_LINE_BYTES) return socket.destroy();
    for (const raw of lines) {
      const m = REQ.exec(raw.endsWith("\r") ? raw.slice(0, -1) : raw);
      if (!m) continue;
      waiting.push(replyTo(m[1], m[2] ?? ""));
    }
    if (waiting.length > 0 && batchMs <= 0) flush();
    else if (waiting.length > 0 && !timer) timer = setTimeout(flush, batchMs);
  });
  // the client is done sending: write the replies still being batched, then close our side
  socket.on("end", () => {
    clearTimeout(timer);
    flush();
    socket.end();
  });
  socket.on("error", () => socket.destroy());
  socket.on("close", () => clearTimeout(timer));
}

export function startFooServer(opts: FooServerOptions): Promise<FooServer> {
  const batchMs = opts.batchMs ?? 5;
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    serve(socket, batchMs);
  });
  return new Promise((ok, fail) => {
    server.once("error", fail);
    server.listen(opts.port, opts.host ?? "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port;
      ok({
        port,
        close: () =>
          new Promise<void>((done) => {
            for (const s of sockets) s.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}
