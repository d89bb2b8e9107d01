// An upstream that answers every HTTP/1.x request 200 "ok\n": Node's own HTTP
// server (llhttp, so it reads pipelining, bodies and keep-alive as the corpus
// expects), with Upgrade accepted (101) and CONNECT accepted (200). Tests of
// counting point the shipped config's web_service cluster at it, so that
// every path they send earns its series (an endpoint gets one only after a
// response that is not a 4xx; Envoy's example service answers 404 to all but
// a few paths).

import { createServer, type Server } from "node:http";
import type { Socket } from "node:net";

export const OK_BODY = "ok\n";

export interface OkUpstream {
  port: number;
  /** Requests answered so far. */
  answered(): number;
  stop(): Promise<void>;
}

export async function startOkUpstream(): Promise<OkUpstream> {
  let answered = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer({ maxHeaderSize: 64 * 1024, keepAliveTimeout: 60_000, requireHostHeader: false }, (req, res) => {
    req.resume();
    req.on("end", () => {
      answered++;
      res.writeHead(200, { "content-type": "text/plain", "content-length": OK_BODY.length });
      res.end(OK_BODY);
    });
  });
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  server.on("upgrade", (_req, socket: Socket) => {
    answered++;
    socket.on("error", () => socket.destroy());
    socket.write("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: test\r\n\r\n");
    socket.on("end", () => socket.end());
    socket.resume();
  });
  server.on("connect", (_req, socket: Socket) => {
    answered++;
    socket.on("error", () => socket.destroy());
    socket.write("HTTP/1.1 200 Connection established\r\n\r\n");
    socket.on("end", () => socket.end());
    socket.resume();
  });
  server.on("clientError", (_e, socket: Socket) => socket.destroy());
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  return {
    port: (server.address() as { port: number }).port,
    answered: () => answered,
    stop: () =>
      new Promise<void>((ok) => {
        for (const s of sockets) s.destroy();
        server.close(() => ok());
      }),
  };
}
