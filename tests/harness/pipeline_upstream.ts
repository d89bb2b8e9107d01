// A raw HTTP/1.x upstream for pipelined byte-integrity tests: a Node TCP
// server whose every connection follows a script known in advance.
//
// The first request of a connection names its script in an `X-Pipeline: <id>`
// header (registered with `expect(id, script)`). The server parses every
// request it receives properly (request line, headers, a Content-Length or
// chunked body, trailers) and answers request i with script response i:
// its `early` pieces as soon as the request's head has arrived (interim 1xx
// responses), its `pieces` once the whole request has arrived, each piece as
// its own write after its pause, so Envoy sees the bytes in separate reads.
// Responses go out strictly in request order. With `answerAfter: k` nothing is
// written before k whole requests have arrived (so k requests are pending at
// once). After the last response the server closes its side.
//
// It records exactly what it received and what it wrote, and any way the
// requests differed from the script (a wrong request line, bytes it could not
// parse, more or fewer requests than scripted).

import { createServer, type Server, type Socket } from "node:net";

/** A pause before a write: none (back-to-back writes), one event-loop turn, or milliseconds. */
export type Pause = "none" | "tick" | number;

export interface Piece {
  pause: Pause;
  bytes: Buffer;
}

export interface ScriptedResponse {
  /** "METHOD target" the request must have (checked; a mismatch is recorded). */
  request: string;
  /** Written once the request head has arrived (interim responses); may be empty. */
  early: Piece[];
  /** Written once the whole request has arrived. */
  pieces: Piece[];
}

export interface ConnectionScript {
  responses: ScriptedResponse[];
  /** Write nothing until this many whole requests have arrived (default 0: answer each as it comes). */
  answerAfter?: number;
}

export interface ConnectionRecord {
  /** Every byte the server received on the connection. */
  received: Buffer;
  /** Every byte the server wrote, in order. */
  written: Buffer;
  /** Whole requests parsed. */
  requests: number;
  /** What went against the script (empty when all went as scripted). */
  problems: string[];
}

export interface PipelineUpstream {
  port: number;
  /** Registers the script for the connection whose first request carries `X-Pipeline: id`; resolves when that connection has closed. */
  expect(id: string, script: ConnectionScript): Promise<ConnectionRecord>;
  /** Connections that named no registered script (their problems). */
  strays: string[];
  stop(): Promise<void>;
}

interface Registered {
  script: ConnectionScript;
  done: (r: ConnectionRecord) => void;
}

export async function startPipelineUpstream(): Promise<PipelineUpstream> {
  const scripts = new Map<string, Registered>();
  const sockets = new Set<Socket>();
  const strays: string[] = [];
  const server: Server = createServer({ allowHalfOpen: true }, (sock) => {
    sockets.add(sock);
    sock.setNoDelay(true);
    serve(sock, scripts, strays);
    sock.on("close", () => sockets.delete(sock));
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    strays,
    expect(id, script) {
      if (scripts.has(id)) throw new Error(`pipeline ${id} is already registered`);
      return new Promise<ConnectionRecord>((done) => scripts.set(id, { script, done }));
    },
    stop: () =>
      new Promise<void>((ok) => {
        for (const s of sockets) s.destroy();
        server.close(() => ok());
      }),
  };
}

function serve(sock: Socket, scripts: Map<string, Registered>, strays: string[]): void {
  const received: Buffer[] = [];
  const written: Buffer[] = [];
  const problems: string[] = [];
  const parser = new RequestParser();
  let reg: Registered | undefined;
  let id: string | undefined;
  let complete = 0;
  let heads = 0;
  let finished = false;
  // actions in the order they become due; `drain` writes them one after the other
  const due: { pieces: Piece[]; last: boolean }[] = [];
  let draining = false;
  let ended = false;

  const finish = () => {
    if (finished) return;
    finished = true;
    const record: ConnectionRecord = { received: Buffer.concat(received), written: Buffer.concat(written), requests: complete, problems };
    if (reg) {
      scripts.delete(id!);
      reg.done(record);
    } else {
      strays.push(`connection without a registered X-Pipeline (${record.received.length} bytes received): ${problems.join("; ") || "no request"}`);
    }
  };
  const problem = (p: string) => {
    problems.push(p);
    sock.destroy();
  };

  const drain = async () => {
    if (draining || !reg) return;
    draining = true;
    const gate = reg.script.answerAfter ?? 0;
    while (due.length > 0 && !sock.destroyed) {
      if (complete < gate && !ended && !sock.readableEnded) break;
      const action = due.shift()!;
      for (const piece of action.pieces) {
        await pause(piece.pause);
        if (sock.destroyed) break;
        written.push(piece.bytes);
        sock.write(piece.bytes);
      }
      if (action.last && !sock.destroyed) {
        ended = true;
        sock.end();
      }
    }
    draining = false;
  };

  sock.on("data", (d: Buffer) => {
    received.push(d);
    if (finished) return;
    let events: RequestEvent[];
    try {
      events = parser.feed(d);
    } catch (e) {
      return problem(`request ${complete}: ${(e as Error).message}`);
    }
    for (const ev of events) {
      if (ev.kind === "head") {
        if (heads === 0) {
          id = ev.headers.find(([n]) => n.toLowerCase() === "x-pipeline")?.[1];
          reg = id === undefined ? undefined : scripts.get(id);
          if (!reg) return problem(`first request has no registered X-Pipeline header (got ${JSON.stringify(id)})`);
        }
        const script = reg!.script.responses[heads];
        if (!script) return problem(`request ${heads} (${ev.line}) is beyond the ${reg!.script.responses.length} scripted`);
        const [method, target] = ev.line.split(" ");
        if (`${method} ${target}` !== script.request) return problem(`request ${heads} is "${ev.line}", the script expects "${script.request}"`);
        if (script.early.length > 0) due.push({ pieces: script.early, last: false });
        heads++;
      } else {
        const last = complete === reg!.script.responses.length - 1;
        due.push({ pieces: reg!.script.responses[complete].pieces, last });
        complete++;
      }
    }
    void drain();
  });
  sock.on("end", () => {
    // the client side closed: answer what is due, then close (unless already closed)
    if (reg && complete < reg.script.responses.length) problems.push(`connection ended by Envoy after ${complete} of ${reg.script.responses.length} requests`);
    if (!ended) {
      void drain().then(() => {
        if (!ended) sock.end();
      });
    }
  });
  sock.on("error", (e) => problems.push(`socket error: ${e.message}`));
  sock.on("close", finish);
}

function pause(p: Pause): Promise<void> {
  if (p === "none") return Promise.resolve();
  if (p === "tick") return new Promise((ok) => setImmediate(ok));
  return new Promise((ok) => setTimeout(ok, p));
}

// ---------------------------------------------------------------- request parsing

export type RequestEvent = { kind: "head"; line: string; headers: [string, string][] } | { kind: "complete" };

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const MAX_HEAD = 64 * 1024;

/**
 * An incremental HTTP/1.1 request parser (RFC 9112): request line, header
 * fields, then a body framed by Transfer-Encoding: chunked (with extensions
 * and trailers) or Content-Length, or none. Throws on anything else.
 */
export class RequestParser {
  private buf: Buffer = Buffer.alloc(0);
  private state: "head" | "length" | "chunk-size" | "chunk-data" | "chunk-crlf" | "trailers" = "head";
  private remaining = 0;

  feed(data: Buffer): RequestEvent[] {
    this.buf = this.buf.length === 0 ? data : Buffer.concat([this.buf, data]);
    const events: RequestEvent[] = [];
    for (;;) {
      if (this.state === "head") {
        const end = this.buf.indexOf("\r\n\r\n");
        if (end < 0) {
          if (this.buf.length > MAX_HEAD) throw new Error(`request head longer than ${MAX_HEAD} bytes`);
          return events;
        }
        const head = this.buf.subarray(0, end).toString("latin1");
        this.buf = this.buf.subarray(end + 4);
        const lines = head.split("\r\n");
        const line = lines[0];
        if (!/^[A-Z]+ \S+ HTTP\/1\.[01]$/.test(line)) throw new Error(`bad request line ${JSON.stringify(line)}`);
        const headers: [string, string][] = [];
        for (const l of lines.slice(1)) {
          const colon = l.indexOf(":");
          const name = colon < 0 ? "" : l.slice(0, colon);
          if (!TOKEN.test(name)) throw new Error(`bad header line ${JSON.stringify(l)}`);
          headers.push([name, l.slice(colon + 1).trim()]);
        }
        events.push({ kind: "head", line, headers });
        const te = headers.filter(([n]) => n.toLowerCase() === "transfer-encoding").map(([, v]) => v.toLowerCase());
        const cl = headers.filter(([n]) => n.toLowerCase() === "content-length").map(([, v]) => v);
        if (te.length > 0) {
          if (!/(^|[\s,])chunked$/.test(te[te.length - 1])) throw new Error(`request Transfer-Encoding ${te.join(", ")} does not end in chunked`);
          if (cl.length > 0) throw new Error("request has both Content-Length and Transfer-Encoding");
          this.state = "chunk-size";
        } else if (cl.length > 0) {
          if (cl.some((v) => v !== cl[0]) || !/^\d+$/.test(cl[0])) throw new Error(`bad request Content-Length ${cl.join(", ")}`);
          this.remaining = Number(cl[0]);
          if (this.remaining === 0) events.push({ kind: "complete" });
          else this.state = "length";
        } else {
          events.push({ kind: "complete" });
        }
      } else if (this.state === "length" || this.state === "chunk-data") {
        const take = Math.min(this.remaining, this.buf.length);
        this.buf = this.buf.subarray(take);
        this.remaining -= take;
        if (this.remaining > 0) return events;
        if (this.state === "length") {
          this.state = "head";
          events.push({ kind: "complete" });
        } else {
          this.state = "chunk-crlf";
        }
      } else if (this.state === "chunk-crlf") {
        if (this.buf.length < 2) return events;
        if (this.buf[0] !== 13 || this.buf[1] !== 10) throw new Error("chunk data not followed by CRLF");
        this.buf = this.buf.subarray(2);
        this.state = "chunk-size";
      } else if (this.state === "chunk-size") {
        const end = this.buf.indexOf("\r\n");
        if (end < 0) {
          if (this.buf.length > 1024) throw new Error("chunk size line too long");
          return events;
        }
        const line = this.buf.subarray(0, end).toString("latin1");
        this.buf = this.buf.subarray(end + 2);
        const m = /^([0-9A-Fa-f]{1,15})[ \t]*(;.*)?$/.exec(line);
        if (!m) throw new Error(`bad chunk size line ${JSON.stringify(line)}`);
        this.remaining = parseInt(m[1], 16);
        this.state = this.remaining === 0 ? "trailers" : "chunk-data";
      } else {
        const end = this.buf.indexOf("\r\n");
        if (end < 0) return events;
        const line = this.buf.subarray(0, end).toString("latin1");
        this.buf = this.buf.subarray(end + 2);
        if (line === "") {
          this.state = "head";
          events.push({ kind: "complete" });
        } else if (!TOKEN.test(line.slice(0, Math.max(0, line.indexOf(":"))))) {
          throw new Error(`bad trailer line ${JSON.stringify(line)}`);
        }
      }
    }
  }
}
