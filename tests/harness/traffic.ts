// Traffic drivers for tests: raw sockets (exact bytes, chosen splits) and a keep-alive HTTP client.

import { connect, type Socket } from "node:net";
import { request, type Agent } from "node:http";
import { sleep } from "./envoy.js";

export interface Exchange {
  /** Every byte the server sent back. */
  received: Buffer;
  /** True when the server closed the connection. */
  closedByPeer: boolean;
}

/**
 * Opens a connection, writes each chunk as its own write (pausing `gapMs`
 * between them so they arrive as separate reads), then waits until the peer
 * is quiet for `idleMs` (or closes), and closes.
 */
export async function rawExchange(
  port: number,
  chunks: (Buffer | string)[],
  opts: { gapMs?: number; idleMs?: number; halfClose?: boolean; until?: (received: Buffer) => boolean } = {},
): Promise<Exchange> {
  const { gapMs = 5, idleMs = 150 } = opts;
  const sock = await openSocket(port);
  const got: Buffer[] = [];
  let closed = false;
  let lastData = Date.now();
  sock.on("data", (d: Buffer) => {
    got.push(d);
    lastData = Date.now();
  });
  sock.on("end", () => (closed = true));
  sock.on("close", () => (closed = true));
  sock.on("error", () => (closed = true));
  for (let i = 0; i < chunks.length && !closed; i++) {
    sock.write(typeof chunks[i] === "string" ? Buffer.from(chunks[i] as string, "latin1") : (chunks[i] as Buffer));
    if (gapMs > 0 && i < chunks.length - 1) await sleep(gapMs);
  }
  if (opts.halfClose) sock.end();
  lastData = Date.now();
  const deadline = Date.now() + 10_000;
  while (!closed && Date.now() - lastData < idleMs && Date.now() < deadline) {
    if (opts.until?.(Buffer.concat(got))) break;
    await sleep(10);
  }
  await closeSocket(sock);
  return { received: Buffer.concat(got), closedByPeer: closed };
}

export function openSocket(port: number): Promise<Socket> {
  return new Promise((ok, fail) => {
    const s = connect({ port, host: "127.0.0.1", noDelay: true }, () => ok(s));
    s.once("error", fail);
  });
}

export function closeSocket(sock: Socket): Promise<void> {
  return new Promise((ok) => {
    if (sock.destroyed) return ok();
    sock.once("close", () => ok());
    sock.end();
    setTimeout(() => sock.destroy(), 200).unref();
  });
}

/** Counts complete HTTP/1.1 responses in a byte stream (status lines at response starts). */
export function countResponses(bytes: Buffer): number {
  return (bytes.toString("latin1").match(/(^|\r\n|\n)HTTP\/1\.[01] \d{3} /g) ?? []).length;
}

export interface HttpResult {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

/** One HTTP request with Node's client (keep-alive when `agent` is shared). */
export function httpRequest(
  port: number,
  path: string,
  opts: { method?: string; body?: string; agent?: Agent; headers?: Record<string, string> } = {},
): Promise<HttpResult> {
  return new Promise((ok, fail) => {
    const req = request({ host: "127.0.0.1", port, path, method: opts.method ?? "GET", agent: opts.agent, headers: opts.headers }, (res) => {
      const parts: Buffer[] = [];
      res.on("data", (d) => parts.push(d));
      res.on("end", () => ok({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString(), headers: res.headers }));
      res.on("error", fail);
    });
    req.on("error", fail);
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}
