// A TCP relay between a TLS client and a TLS server, for tests and for the
// corpus capture (scripts/capture_tls_corpus.ts). It records, per connection,
// the first flights of the handshake as the server exchanged them:
//   client: every byte forwarded to the server before the server's final
//           ServerHello (or first alert) was complete: the ClientHello (and,
//           after a HelloRetryRequest, the second one);
//   server: the server's bytes up to and including the record that completes
//           its final ServerHello, or its first alert record.
// With `reframe`, the client's first record (its ClientHello) is cut into
// several handshake records of the given payload sizes before it reaches the
// server; the rest passes as it came. TLS allows this (RFC 8446 §5.1: a
// handshake message may span records, and the transcript hashes messages, not
// records), so the handshake still completes. Nothing else is changed.

import { createConnection, createServer, type Server, type Socket } from "node:net";
import { HRR_RANDOM, RECORD, records as frame, splitRecords } from "./tls_bytes.js";

/** Payload sizes the record-splitting relay cuts a ClientHello into (the last one repeats): 1, 9, 100, 512, 300, 300, ... */
export const SPLIT_CLIENT_HELLO = [1, 9, 100, 512, 300];

export interface FlightCapture {
  client: Buffer;
  server: Buffer;
  /** The server's final ServerHello or an alert was seen (the flights are complete). */
  complete: boolean;
  /** Payload sizes of the client's records in `client`. */
  clientRecords: number[];
  /** Payload sizes of the server's records in `server`. */
  serverRecords: number[];
}

export interface TlsRelay {
  port: number;
  /** One per connection, in the order they were accepted. */
  captures: FlightCapture[];
  close(): Promise<void>;
}

/** End of the record that completes the server's final ServerHello or is its first alert; -1 when not there yet. */
export function serverFlightEnd(stream: Buffer): number {
  let hs = Buffer.alloc(0);
  for (const r of splitRecords(stream)) {
    const end = r.at + 5 + r.length;
    if (r.type === RECORD.alert) return end;
    if (r.type !== RECORD.handshake) continue;
    hs = Buffer.concat([hs, stream.subarray(r.at + 5, end)]);
    for (let at = 0; at + 4 <= hs.length; ) {
      const len = hs.readUIntBE(at + 1, 3);
      if (at + 4 + len > hs.length) break;
      const isRetry = hs[at] === 2 && len >= 34 && hs.subarray(at + 6, at + 38).equals(HRR_RANDOM);
      if (hs[at] === 2 && !isRetry) return end;
      at += 4 + len;
    }
  }
  return -1;
}

/** The first record of `bytes` (a handshake record) re-framed into records of `sizes`; null until that record is whole. */
function reframeFirst(bytes: Buffer, sizes: number[]): Buffer | null {
  if (bytes.length < 5) return null;
  const len = bytes.readUInt16BE(3);
  if (bytes.length < 5 + len) return null;
  if (bytes[0] !== RECORD.handshake) return bytes;
  const payload = bytes.subarray(5, 5 + len);
  return Buffer.concat([frame(RECORD.handshake, payload, sizes, bytes.readUInt16BE(1)), bytes.subarray(5 + len)]);
}

export async function startTlsRelay(opts: { target: number; host?: string; reframe?: number[] }): Promise<TlsRelay> {
  const captures: FlightCapture[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((down) => {
    const capture: FlightCapture = { client: Buffer.alloc(0), server: Buffer.alloc(0), complete: false, clientRecords: [], serverRecords: [] };
    captures.push(capture);
    const up = createConnection({ host: opts.host ?? "127.0.0.1", port: opts.target });
    sockets.add(down);
    sockets.add(up);
    let pending: Buffer | null = opts.reframe ? Buffer.alloc(0) : null;
    let clientSent = Buffer.alloc(0);
    let serverSeen = Buffer.alloc(0);
    const toServer = (b: Buffer) => {
      if (!capture.complete) clientSent = Buffer.concat([clientSent, b]);
      up.write(b);
    };
    down.on("data", (b: Buffer) => {
      if (pending === null) return toServer(b);
      pending = Buffer.concat([pending, b]);
      const out = reframeFirst(pending, opts.reframe!);
      if (out) {
        pending = null;
        toServer(out);
      }
    });
    up.on("data", (b: Buffer) => {
      if (!capture.complete) {
        serverSeen = Buffer.concat([serverSeen, b]);
        const end = serverFlightEnd(serverSeen);
        if (end >= 0) {
          capture.complete = true;
          capture.server = serverSeen.subarray(0, end);
          capture.client = clientSent;
          capture.clientRecords = splitRecords(clientSent).map((r) => r.length);
          capture.serverRecords = splitRecords(capture.server).map((r) => r.length);
        }
      }
      down.write(b);
    });
    const finish = () => {
      if (!capture.complete) {
        capture.client = clientSent;
        capture.server = serverSeen;
      }
      down.end();
      up.end();
    };
    down.on("end", () => up.end());
    up.on("end", finish);
    for (const s of [down, up]) {
      s.on("error", () => {
        down.destroy();
        up.destroy();
      });
      s.on("close", () => {
        sockets.delete(s);
        if (!capture.complete && s === up) finish();
      });
    }
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", () => ok()));
  return {
    port: (server.address() as { port: number }).port,
    captures,
    close: () =>
      new Promise<void>((ok) => {
        for (const s of sockets) s.destroy();
        server.close(() => ok());
      }),
  };
}
