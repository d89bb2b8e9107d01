// A scripted HTTP/1.x upstream for Envoy tests: a raw Node TCP server that
// answers each request head with exact bytes, written in chosen pieces (so
// they reach Envoy as separate reads), optionally closing afterwards. Tests
// point a cluster at it with `startEnvoy({ upstreams: { web_service: port } })`.

import { createServer, type Server, type Socket } from "node:net";
import { sleep } from "./envoy.js";

export interface Reply {
  /** Bytes written in order; a number is a pause in milliseconds between writes. */
  writes: (string | number)[];
  /** Half-close the connection after the last write (a body delimited by the close). */
  close?: boolean;
}

/** Chooses the reply to a request by its method and target; null sends nothing for it. */
export type Script = (method: string, target: string) => Reply | null;

export interface ScriptedUpstream {
  port: number;
  /** Request heads received, in order, as "METHOD target". */
  received: string[];
  stop(): Promise<void>;
}

export async function startScriptedUpstream(script: Script): Promise<ScriptedUpstream> {
  const received: string[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((sock) => {
    sockets.add(sock);
    sock.setNoDelay(true);
    sock.on("close", () => sockets.delete(sock));
    sock.on("error", () => sock.destroy());
    let buffered = "";
    // replies go out in request order, one after the other
    let queue: Promise<void> = Promise.resolve();
    sock.on("data", (d: Buffer) => {
      buffered += d.toString("latin1");
      for (let end = buffered.indexOf("\r\n\r\n"); end >= 0; end = buffered.indexOf("\r\n\r\n")) {
        const head = buffered.slice(0, end);
        buffered = buffered.slice(end + 4);
        const [method, target] = head.split("\r\n")[0].split(" ");
        received.push(`${method} ${target}`);
        const reply = script(method, target);
        if (reply) queue = queue.then(() => send(sock, reply));
      }
    });
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    received,
    stop: () =>
      new Promise<void>((ok) => {
        for (const s of sockets) s.destroy();
        server.close(() => ok());
      }),
  };
}

async function send(sock: Socket, reply: Reply): Promise<void> {
  for (const w of reply.writes) {
    if (sock.destroyed) return;
    if (typeof w === "number") await sleep(w);
    else sock.write(Buffer.from(w, "latin1"));
  }
  if (reply.close) sock.end();
}
