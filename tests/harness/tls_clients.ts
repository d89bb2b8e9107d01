// The TLS clients users have, each making one HTTPS request to a port on
// 127.0.0.1: curl, Node's tls, `openssl s_client` and a Go crypto/tls client
// (tests/clients/tls_client.go, whose ClientHello offers a post-quantum key
// share). Each returns the body and the TLS version and ALPN protocol as the
// client saw them. Used by tests/envoy/tls_clients.test.ts and by the corpus
// capture (scripts/capture_tls_corpus.ts), so both drive the same clients.
//
// Server names: "localhost" by default; any other name is resolved to
// 127.0.0.1 by the client itself (curl --resolve), or sent as SNI while
// connecting to 127.0.0.1 (Node, openssl, Go), so it needs no DNS.
//
// TLS_CLIENT_CASES lists every client the issue names, with what it sends and
// what it must negotiate with the shipped example TLS service; each case's
// name is also its capture's name in tests/fixtures/tls/.

import { execFile, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { connect, type ConnectionOptions } from "node:tls";
import { ROOT, TLS_CERT } from "./envoy.js";
import { SPLIT_CLIENT_HELLO, startTlsRelay, type FlightCapture } from "./tls_relay.js";

export interface TlsClientResult {
  /** The response body. */
  body: string;
  /** The TLS version the client negotiated ("TLSv1.3"), when it says. */
  version: string | null;
  /** The ALPN protocol negotiated, or null. */
  alpn: string | null;
  /** The command line, or a description of the call. */
  command: string;
  /** Anything else the client reported (Go: the key-exchange group). */
  detail?: Record<string, unknown>;
}

/** 32 ALPN protocol ids from the IANA registry, http/1.1 last: the server picks http/1.1, sitio sees "http/0.9" first. */
export const MANY_ALPN = [
  "http/0.9",
  "http/1.0",
  "spdy/1",
  "spdy/2",
  "spdy/3",
  "stun.turn",
  "stun.nat-discovery",
  "webrtc",
  "c-webrtc",
  "ftp",
  "imap",
  "pop3",
  "managesieve",
  "coap",
  "xmpp-client",
  "xmpp-server",
  "acme-tls/1",
  "mqtt",
  "dot",
  "ntske/1",
  "sunrpc",
  "irc",
  "nntp",
  "nnsp",
  "doq",
  "sip/2",
  "tds/8.0",
  "dicom",
  "postgresql",
  "radius/1.0",
  "radius/1.1",
  "http/1.1",
];

const TIMEOUT_MS = 15_000;

function request(host: string, path = "/"): string {
  return `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`;
}

/** The body of the HTTP/1.1 response in `text` (Content-Length or until the end); throws when there is none. */
function httpBody(text: string, what: string): string {
  const at = text.search(/HTTP\/1\.[01] \d{3}/);
  if (at < 0) throw new Error(`${what}: no HTTP response in:\n${text.slice(0, 2000)}`);
  const head = text.indexOf("\r\n\r\n", at);
  if (head < 0) throw new Error(`${what}: HTTP head not complete:\n${text.slice(at, at + 2000)}`);
  const status = Number(text.slice(at + 9, at + 12));
  if (status !== 200) throw new Error(`${what}: HTTP status ${status}`);
  const length = /\r\ncontent-length: *(\d+)/i.exec(text.slice(at, head));
  const body = text.slice(head + 4);
  return length ? body.slice(0, Number(length[1])) : body;
}

/** True once `text` holds a whole HTTP/1.1 response with a Content-Length. */
function responseComplete(text: string): boolean {
  const at = text.search(/HTTP\/1\.[01] \d{3}/);
  const head = at < 0 ? -1 : text.indexOf("\r\n\r\n", at);
  if (head < 0) return false;
  const length = /\r\ncontent-length: *(\d+)/i.exec(text.slice(at, head));
  return length !== null && text.length - (head + 4) >= Number(length[1]);
}

function run(cmd: string, args: string[], input?: string): Promise<{ stdout: string; stderr: string }> {
  return new Promise((ok, fail) => {
    const child = execFile(cmd, args, { timeout: TIMEOUT_MS, maxBuffer: 16 << 20, encoding: "latin1" }, (err, stdout, stderr) => {
      if (err) fail(new Error(`${cmd} ${args.join(" ")} failed: ${err.message}\n${stderr}`));
      else ok({ stdout, stderr });
    });
    if (input !== undefined) child.stdin!.end(input);
  });
}

// ---------------------------------------------------------------- curl

export interface CurlOptions {
  /** Server name (default localhost); another name is resolved to 127.0.0.1 with --resolve. */
  name?: string;
  /** --tlsv1.2 --tls-max 1.2 */
  tls12?: boolean;
  /** --http2 */
  http2?: boolean;
  /** Verify with --cacert build/tls/cert.pem instead of -k. */
  verify?: boolean;
  path?: string;
}

export async function curlTls(port: number, opts: CurlOptions = {}): Promise<TlsClientResult> {
  const name = opts.name ?? "localhost";
  const args = ["-sS", "-v", "--max-time", "10", ...(opts.verify ? ["--cacert", TLS_CERT] : ["-k"])];
  if (name !== "localhost") args.push("--resolve", `${name}:${port}:127.0.0.1`);
  if (opts.tls12) args.push("--tlsv1.2", "--tls-max", "1.2");
  if (opts.http2) args.push("--http2");
  args.push(`https://${name}:${port}${opts.path ?? "/"}`);
  const { stdout, stderr } = await run("curl", args);
  const version = /SSL connection using (\S+)/.exec(stderr)?.[1] ?? null;
  const alpn = /ALPN[:,] server accepted (?:to use )?(\S+)/.exec(stderr)?.[1] ?? null;
  return { body: stdout, version, alpn, command: `curl ${args.join(" ")}` };
}

// ---------------------------------------------------------------- Node tls

export interface NodeTlsOptions {
  /** SNI: default "localhost"; "" sends none. */
  servername?: string;
  alpn?: string[];
  minVersion?: ConnectionOptions["minVersion"];
  maxVersion?: ConnectionOptions["maxVersion"];
  path?: string;
}

export function nodeTls(port: number, opts: NodeTlsOptions = {}): Promise<TlsClientResult> {
  const servername = opts.servername ?? "localhost";
  const options: ConnectionOptions = { host: "127.0.0.1", port, servername, rejectUnauthorized: false };
  if (opts.alpn) options.ALPNProtocols = opts.alpn;
  if (opts.minVersion) options.minVersion = opts.minVersion;
  if (opts.maxVersion) options.maxVersion = opts.maxVersion;
  const command = `tls.connect(${JSON.stringify({ servername, ALPNProtocols: opts.alpn?.length, minVersion: opts.minVersion, maxVersion: opts.maxVersion })})`;
  return new Promise((ok, fail) => {
    const chunks: Buffer[] = [];
    let version: string | null = null;
    let alpn: string | null = null;
    const socket = connect(options, () => {
      version = socket.getProtocol();
      alpn = socket.alpnProtocol || null;
      socket.write(request(servername || "localhost", opts.path));
    });
    const timer = setTimeout(() => socket.destroy(new Error("timed out")), TIMEOUT_MS);
    // Close as soon as the response is whole: waiting for the server's close would cost
    // Envoy's delayed_close_timeout (1 s) on every call.
    let complete = false;
    socket.on("data", (b: Buffer) => {
      chunks.push(b);
      if (!complete && responseComplete(Buffer.concat(chunks).toString("latin1"))) {
        complete = true;
        socket.end();
      }
    });
    socket.on("error", (e) => {
      // a reset after the whole response (the server closing on our close_notify) is no failure
      if (complete) return;
      clearTimeout(timer);
      fail(new Error(`${command}: ${e.message}`));
    });
    socket.on("close", () => {
      clearTimeout(timer);
      try {
        ok({ body: httpBody(Buffer.concat(chunks).toString("latin1"), command), version, alpn, command });
      } catch (e) {
        fail(e);
      }
    });
  });
}

// ---------------------------------------------------------------- openssl s_client

export interface OpensslOptions {
  /** -tls1_2 or -tls1_3 (default: neither, the client's range). */
  version?: "tls1_2" | "tls1_3";
  /** SNI: default "localhost"; null: -noservername. */
  servername?: string | null;
  alpn?: string[];
  /** -groups (e.g. "X448:X25519": a key share the server lacks first, for a HelloRetryRequest). */
  groups?: string;
  /** Extra arguments (e.g. ["-cipher", "DEFAULT@SECLEVEL=0"]). */
  extra?: string[];
  path?: string;
}

export async function opensslTls(port: number, opts: OpensslOptions = {}): Promise<TlsClientResult> {
  const servername = opts.servername === undefined ? "localhost" : opts.servername;
  const args = ["s_client", "-connect", `127.0.0.1:${port}`];
  args.push(...(servername === null ? ["-noservername"] : ["-servername", servername]));
  if (opts.version) args.push(`-${opts.version}`);
  if (opts.alpn) args.push("-alpn", opts.alpn.join(","));
  if (opts.groups) args.push("-groups", opts.groups);
  if (opts.extra) args.push(...opts.extra);
  const command = `openssl ${args.join(" ")}`;
  const stdout = await opensslExchange(args, request(servername ?? "localhost", opts.path), command);
  const version = /^\s*Protocol\s*:\s*(\S+)/m.exec(stdout)?.[1] ?? /^New, (\S+),/m.exec(stdout)?.[1] ?? null;
  const alpn = /^ALPN protocol: (\S+)/m.exec(stdout)?.[1] ?? null;
  return { body: httpBody(stdout, command), version, alpn, command };
}

/**
 * Runs s_client, writes `input`, and closes its stdin once the HTTP response is
 * whole (s_client then sends close_notify and exits): no waiting for the
 * server to close. Returns stdout.
 */
function opensslExchange(args: string[], input: string, command: string): Promise<string> {
  return new Promise((ok, fail) => {
    const child = spawn("openssl", args, { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    const timer = setTimeout(() => child.kill("SIGKILL"), TIMEOUT_MS);
    child.stdout.setEncoding("latin1");
    child.stdout.on("data", (b: string) => {
      out += b;
      if (responseComplete(out)) child.stdin.end();
    });
    child.stderr.on("data", (b) => (err += b));
    child.stdin.on("error", () => {});
    child.on("close", (code) => {
      clearTimeout(timer);
      if (responseComplete(out)) ok(out);
      else fail(new Error(`${command} exited ${code} without a whole response:\n${out.slice(0, 2000)}\n${err}`));
    });
    child.stdin.write(input);
  });
}

/** openssl s_client against `port` expecting the handshake to fail; returns its output. */
export async function opensslTlsFailing(port: number, args: string[]): Promise<string> {
  return new Promise((ok) => {
    const child = spawn("openssl", ["s_client", "-connect", `127.0.0.1:${port}`, ...args], { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (b) => (out += b));
    child.stderr.on("data", (b) => (out += b));
    const timer = setTimeout(() => child.kill("SIGKILL"), TIMEOUT_MS);
    child.on("close", () => {
      clearTimeout(timer);
      ok(out);
    });
    child.stdin.end();
  });
}

// ---------------------------------------------------------------- Go crypto/tls

export const GO_CLIENT = join(ROOT, "build/test/tls_client");
const GO_SOURCE = join(ROOT, "tests/clients/tls_client.go");

/** Builds tests/clients/tls_client.go into build/test/ unless current. Needs Go (1.24 or newer for the post-quantum share). */
export function buildGoClient(): string {
  if (existsSync(GO_CLIENT) && statSync(GO_CLIENT).mtimeMs >= statSync(GO_SOURCE).mtimeMs) return GO_CLIENT;
  mkdirSync(join(ROOT, "build/test"), { recursive: true });
  const tmp = `${GO_CLIENT}.${process.pid}.tmp`;
  try {
    execFileSync("go", ["build", "-o", tmp, GO_SOURCE], { cwd: ROOT, stdio: "pipe", env: { ...process.env, GOTOOLCHAIN: "local" } });
  } catch (e) {
    throw new Error(`building the Go TLS client failed (is Go installed?): ${(e as Error).message}`);
  }
  execFileSync("mv", [tmp, GO_CLIENT]);
  return GO_CLIENT;
}

export interface GoTlsOptions {
  /** SNI and the URL's host: default "localhost"; "" sends none. */
  servername?: string;
  /** ALPN offered (default h2, http/1.1); [] offers none. */
  alpn?: string[];
  /** Verify against build/tls/cert.pem. */
  verify?: boolean;
  path?: string;
}

export async function goTls(port: number, opts: GoTlsOptions = {}): Promise<TlsClientResult> {
  const bin = buildGoClient();
  const args = ["-addr", `127.0.0.1:${port}`, "-servername", opts.servername ?? "localhost", "-alpn", (opts.alpn ?? ["h2", "http/1.1"]).join(",")];
  if (opts.verify) args.push("-cafile", TLS_CERT);
  if (opts.path) args.push("-path", opts.path);
  const { stdout } = await run(bin, args);
  const r = JSON.parse(stdout) as { body: string; status: number; http: string; version: string; alpn: string; group: string };
  if (r.status !== 200) throw new Error(`Go client: HTTP status ${r.status}`);
  return {
    body: r.body,
    version: r.version.replace(/^TLS 1\./, "TLSv1."),
    alpn: r.alpn || null,
    command: `tests/clients/tls_client ${args.join(" ")}`,
    detail: { group: r.group, http: r.http },
  };
}

// ---------------------------------------------------------------- the cases

export interface TlsClientCase {
  /** Also the capture's name in tests/fixtures/tls/. */
  name: string;
  /** The client as a user runs it. */
  about: string;
  /** The SNI it sends (null: none) and the ALPN protocols it offers (null: no ALPN extension). */
  sni: string | null;
  alpn: string[] | null;
  /** What it must negotiate with the shipped tls_service (version null: the server refuses it with an alert). */
  expect: { version: string | null; alpn: string | null; group?: string };
  /** Goes through a relay that re-frames its ClientHello into records of these sizes. */
  reframe?: number[];
  run(port: number): Promise<TlsClientResult | { failed: string }>;
}

const H2_H1 = ["h2", "http/1.1"];

export const TLS_CLIENT_CASES: TlsClientCase[] = [
  {
    name: "curl-default",
    about: "curl -k https://localhost:PORT/",
    sni: "localhost",
    alpn: H2_H1,
    expect: { version: "TLSv1.3", alpn: "h2" },
    run: (p) => curlTls(p),
  },
  {
    name: "curl-tls12",
    about: "curl -k --tlsv1.2 --tls-max 1.2 https://localhost:PORT/",
    sni: "localhost",
    alpn: H2_H1,
    expect: { version: "TLSv1.2", alpn: "h2" },
    run: (p) => curlTls(p, { tls12: true }),
  },
  {
    name: "curl-http2",
    about: "curl -k --http2 https://localhost:PORT/",
    sni: "localhost",
    alpn: H2_H1,
    expect: { version: "TLSv1.3", alpn: "h2" },
    run: (p) => curlTls(p, { http2: true }),
  },
  {
    name: "curl-resolve-other",
    about: "curl --cacert build/tls/cert.pem --resolve other.sitio.test:PORT:127.0.0.1 https://other.sitio.test:PORT/",
    sni: "other.sitio.test",
    alpn: H2_H1,
    expect: { version: "TLSv1.3", alpn: "h2" },
    run: (p) => curlTls(p, { name: "other.sitio.test", verify: true }),
  },
  {
    name: "node-default",
    about: "tls.connect({ host: '127.0.0.1', servername: 'localhost' }), Node's defaults otherwise",
    sni: "localhost",
    alpn: null,
    expect: { version: "TLSv1.3", alpn: null },
    run: (p) => nodeTls(p),
  },
  {
    name: "node-no-sni",
    about: "tls.connect({ servername: '' })",
    sni: null,
    alpn: null,
    expect: { version: "TLSv1.3", alpn: null },
    run: (p) => nodeTls(p, { servername: "" }),
  },
  {
    name: "node-many-alpn",
    about: `tls.connect({ ALPNProtocols: [${MANY_ALPN.length} registered ids, http/1.1 last] })`,
    sni: "localhost",
    alpn: MANY_ALPN,
    expect: { version: "TLSv1.3", alpn: "http/1.1" },
    run: (p) => nodeTls(p, { alpn: MANY_ALPN }),
  },
  {
    name: "openssl-tls12",
    about: "openssl s_client -tls1_2 -servername localhost",
    sni: "localhost",
    alpn: null,
    expect: { version: "TLSv1.2", alpn: null },
    run: (p) => opensslTls(p, { version: "tls1_2" }),
  },
  {
    name: "openssl-tls13",
    about: "openssl s_client -tls1_3 -servername localhost",
    sni: "localhost",
    alpn: null,
    expect: { version: "TLSv1.3", alpn: null },
    run: (p) => opensslTls(p, { version: "tls1_3" }),
  },
  {
    name: "openssl-no-sni",
    about: "openssl s_client -noservername",
    sni: null,
    alpn: null,
    expect: { version: "TLSv1.3", alpn: null },
    run: (p) => opensslTls(p, { servername: null }),
  },
  {
    name: "openssl-many-alpn",
    about: `openssl s_client -alpn <${MANY_ALPN.length} registered ids, http/1.1 last>`,
    sni: "localhost",
    alpn: MANY_ALPN,
    expect: { version: "TLSv1.3", alpn: "http/1.1" },
    run: (p) => opensslTls(p, { alpn: MANY_ALPN }),
  },
  {
    name: "openssl-hello-retry",
    about: "openssl s_client -tls1_3 -groups X448:X25519 (a key share the server lacks: HelloRetryRequest, then a second ClientHello)",
    sni: "localhost",
    alpn: null,
    expect: { version: "TLSv1.3", alpn: null, group: "X25519" },
    run: (p) => opensslTls(p, { version: "tls1_3", groups: "X448:X25519" }),
  },
  {
    name: "openssl-tls11-refused",
    about: "openssl s_client -tls1_1 -cipher DEFAULT@SECLEVEL=0 (the server allows TLS 1.2 and up: a fatal protocol_version alert)",
    sni: "localhost",
    alpn: null,
    expect: { version: null, alpn: null },
    run: async (p) => ({ failed: await opensslTlsFailing(p, ["-servername", "localhost", "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"]) }),
  },
  {
    name: "go-pq",
    about: "tests/clients/tls_client.go: Go crypto/tls defaults, X25519MLKEM768 and X25519 key shares",
    sni: "localhost",
    alpn: H2_H1,
    expect: { version: "TLSv1.3", alpn: "h2", group: "X25519MLKEM768" },
    run: (p) => goTls(p),
  },
  {
    name: "go-pq-split-records",
    about: `go-pq through a relay that re-frames its ClientHello into handshake records of ${SPLIT_CLIENT_HELLO.join(", ")}, ... bytes`,
    sni: "localhost",
    alpn: H2_H1,
    expect: { version: "TLSv1.3", alpn: "h2", group: "X25519MLKEM768" },
    reframe: SPLIT_CLIENT_HELLO,
    run: (p) => goTls(p),
  },
];

/** Runs a case against `port` (through its re-framing relay when it has one); returns what the client saw and, through a relay, the flights. */
export async function runTlsClientCase(c: TlsClientCase, port: number): Promise<{ result: TlsClientResult | { failed: string }; capture?: FlightCapture }> {
  if (!c.reframe) return { result: await c.run(port) };
  const relay = await startTlsRelay({ target: port, reframe: c.reframe });
  try {
    const result = await c.run(relay.port);
    return { result, capture: relay.captures[relay.captures.length - 1] };
  } finally {
    await relay.close();
  }
}
