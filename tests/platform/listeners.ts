// Traffic for every listener of the shipped envoy.yaml, with what sitio must count for it.
// Shared by the compose test (fixed ports) and the Prometheus test (harness ports).

import { Agent } from "node:http";
import { shippedPorts } from "../harness/envoy.js";
import { httpRequest } from "../harness/traffic.js";
import { FooClient } from "../harness/foo_client.js";
import { nodeTls } from "../harness/tls_clients.js";
import { ExampleClient, grpc } from "../harness/grpc_client.js";
import { rawExchange } from "../harness/traffic.js";
import { series, type Sample } from "../harness/prometheus.js";

const shipped = new Set(shippedPorts());
/** The shipped config's listener on `port`; a listener missing from it fails the platform tests rather than skipping them. */
function shippedListener(port: number): number {
  if (!shipped.has(port)) throw new Error(`envoy/envoy.yaml has no listener on :${port}; the platform tests drive every shipped listener`);
  return port;
}

/** L4 HTTP listener (plugin sitio_web). */
export const WEB = shippedListener(18000);
/** L4 Foo listener (plugin sitio_foo). */
export const FOO = shippedListener(18001);
/** L7 listener (plugin sitio_http). */
export const HTTP = shippedListener(18080);
/** L4 TLS listener (plugin sitio_tls). */
export const TLS = shippedListener(18443);

/** Server names of the TLS handshakes sent to :18443 (Node's tls, no ALPN); the certificate covers both. */
export const TLS_NAMES = ["localhost", "other.sitio.test"];

/** One handshake and one request per server name; returns "name version" → count. */
export async function driveTls(port: number): Promise<Tally> {
  const tally: Tally = new Map();
  for (const servername of TLS_NAMES) {
    const r = await nodeTls(port, { servername });
    if (r.body !== "example tls body\n") throw new Error(`${servername}: unexpected body ${JSON.stringify(r.body)}`);
    add(tally, `${servername} ${r.version}`);
  }
  return tally;
}

/** An HTTP request sent to the TLS listener: one handshake failure (reason not_tls) per call. */
export async function driveNotTls(port: number): Promise<void> {
  await rawExchange(port, ["GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"], { halfClose: true, idleMs: 1000 });
}

/**
 * gRPC calls per round to :18080 (the shipped route to grpc_service, which must be the harness's
 * example gRPC server), in this order: a successful call of each method admits it, so the
 * failing one counts under its method too. Returns "method code" → count.
 */
export async function driveGrpc(port: number): Promise<Tally> {
  const client = new ExampleClient(port);
  const tally: Tally = new Map();
  try {
    for (let i = 0; i < 2; i++) add(tally, `Unary ${(await client.unary({ name: "prometheus" })).code}`);
    add(tally, `Stream ${(await client.stream({ name: "prometheus", count: 2 })).code}`);
    add(tally, `Unary ${(await client.unary({ fail_with: grpc.status.NOT_FOUND })).code}`);
  } finally {
    client.close();
  }
  return tally;
}
/** The calls driveGrpc makes per round. */
export const GRPC_CALLS = 4;

/** Path → requests per round to :18000. The example service answers 200 on "/" and "/api/items", 404 elsewhere. */
export const WEB_MIX: Record<string, number> = { "/": 3, "/api/items": 2, "/missing": 1 };
/** Path → requests per round to :18080: "/" and "/api/*" are routed to the example service; "/nothing" has no route. */
export const HTTP_MIX: Record<string, number> = { "/": 2, "/api/items": 1, "/nothing": 1 };
/** The endpoint label sitio gives each path of the mixes: a path answered 404 never earns a series of its own. */
export const LABEL: Record<string, string> = { "/": "/", "/api/items": "/api/items", "/missing": "other", "/nothing": "other" };

/** The mix as sitio counts it: endpoint label → requests. */
export function byLabel(mix: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [path, n] of Object.entries(mix)) out[LABEL[path]] = (out[LABEL[path]] ?? 0) + n;
  return out;
}
/** Foo messages per round to :18001 (the Foo server NAKs every fifth sequence number). */
export const FOO_MESSAGES = 5;

/** Answers seen by the client: "endpoint status" → count. */
export type Tally = Map<string, number>;

function add(t: Tally, key: string): void {
  t.set(key, (t.get(key) ?? 0) + 1);
}

/** Sends the mix in turn on one keep-alive connection; returns "path status" → count. */
export async function driveHttpMix(port: number, mix: Record<string, number>): Promise<Tally> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const tally: Tally = new Map();
  try {
    for (const [path, n] of Object.entries(mix)) {
      for (let i = 0; i < n; i++) add(tally, `${path} ${(await httpRequest(port, path, { agent })).status}`);
    }
  } finally {
    agent.destroy();
  }
  return tally;
}

let fooSeq = 0;
/** Sends `n` REQs one at a time on one connection; returns reply type ("ACK"/"NAK") → count. */
export async function driveFoo(port: number, n: number): Promise<Tally> {
  const foo = await FooClient.connect(port);
  const tally: Tally = new Map();
  try {
    for (let i = 0; i < n; i++) add(tally, await foo.request(++fooSeq));
  } finally {
    await foo.close();
  }
  return tally;
}

/** The sum of a metric's series with these labels. */
export function total(s: Sample[], name: string, labels: Record<string, string>): number {
  return series(s, name, labels).reduce((sum, x) => sum + x.value, 0);
}
