// sitio fetched by Envoy over HTTP (`vm_config.code.remote`) instead of read from a file:
// the shipped envoy.yaml with each sitio block's `code: local:` replaced, plus a cluster for
// the server, and a small HTTP server that serves the module and counts the fetches.
//
// docs/mesh.md ships the `remote:` block this produces (its test checks they agree).

import { createHash } from "node:crypto";
import { createServer, type Server } from "node:http";
import { readFileSync } from "node:fs";

/** The cluster the remote blocks name. */
export const WASM_CLUSTER = "sitio_wasm_server";

export interface RemoteCode {
  /** Where Envoy fetches the module. */
  uri: string;
  /** Hex sha256 Envoy checks the fetched bytes against. */
  sha256: string;
  /** Cluster that reaches the server (default sitio_wasm_server). */
  cluster?: string;
}

/** The `remote:` data source, indented to stand where `local:` stood. */
export function remoteBlock(code: RemoteCode, indent: string): string {
  return [
    `remote:`,
    `  http_uri:`,
    `    uri: ${code.uri}`,
    `    cluster: ${code.cluster ?? WASM_CLUSTER}`,
    `    timeout: 10s`,
    `  sha256: "${code.sha256}"`,
    `  # A failed fetch, or bytes that do not match sha256, is retried with back-off; after the last try the plugin is left out.`,
    `  retry_policy: { num_retries: 3 }`,
  ]
    .map((l, i) => (i === 0 ? l : indent + l))
    .join("\n");
}

/** A STATIC cluster named `cluster` for the server at 127.0.0.1:port, as an item of `clusters:`. */
export function serverCluster(port: number, cluster = WASM_CLUSTER): string {
  return [
    `    - name: ${cluster}`,
    `      type: STATIC`,
    `      connect_timeout: 1s`,
    `      load_assignment:`,
    `        cluster_name: ${cluster}`,
    `        endpoints:`,
    `          - lb_endpoints:`,
    `              - endpoint:`,
    `                  address:`,
    `                    socket_address: { address: 127.0.0.1, port_value: ${port} }`,
  ].join("\n");
}

const LOCAL_CODE = /^( *)local: \{ filename: (?:\S*\/)?sitio\.wasm \}$/gm;

/**
 * Every sitio block of `text` (envoy.yaml or its listeners) loading the module from `code`
 * instead of build/sitio.wasm. Throws if there is no such block, so a reshaped envoy.yaml
 * cannot turn this into a no-op.
 */
export function withRemoteCode(text: string, code: RemoteCode): string {
  let n = 0;
  const out = text.replace(LOCAL_CODE, (_, indent: string) => {
    n++;
    return indent + remoteBlock(code, indent);
  });
  if (n === 0) throw new Error("no `local: { filename: build/sitio.wasm }` block to replace");
  return out;
}

/** The number of sitio blocks that load build/sitio.wasm from a file. */
export function localCodeBlocks(text: string): number {
  return [...text.matchAll(LOCAL_CODE)].length;
}

/** `text` (a whole config) with the server's cluster added to static_resources.clusters. */
export function withServerCluster(text: string, port: number, cluster = WASM_CLUSTER): string {
  const at = text.search(/^  clusters:\n/m);
  if (at < 0) throw new Error("the config has no `  clusters:` section");
  const end = at + "  clusters:\n".length;
  return text.slice(0, end) + serverCluster(port, cluster) + "\n\n" + text.slice(end);
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

export interface WasmServer {
  port: number;
  /** http://127.0.0.1:port/sitio.wasm */
  uri: string;
  /** Requests served so far, by path. */
  fetches: string[];
  close(): Promise<void>;
}

/** Serves `file` at /sitio.wasm on 127.0.0.1 (404 for anything else) and records each request. */
export async function startWasmServer(file: string): Promise<WasmServer> {
  const body = readFileSync(file);
  const fetches: string[] = [];
  const server: Server = createServer((req, res) => {
    fetches.push(req.url ?? "");
    if (req.url === "/sitio.wasm") {
      res.writeHead(200, { "content-type": "application/wasm", "content-length": body.length });
      res.end(body);
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    uri: `http://127.0.0.1:${port}/sitio.wasm`,
    fetches,
    close: () => new Promise((ok) => server.close(() => ok())),
  };
}
