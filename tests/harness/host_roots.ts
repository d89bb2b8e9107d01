// The setup the wasm-host tests of the L4 request counting share: a fresh host
// with one network-filter root for plugin "p", and the stat names its request
// counter gets (labels encoded as `;key=value`, as envoy.yaml's stats_tags read them).

import { ProxyWasmHost } from "./proxy_wasm_host.js";

export const PLUGIN = "p";
export const TCP_REQUESTS = "sitio_tcp_requests_total";

export function tcpRequestsStat(method: string, endpoint: string): string {
  return `${TCP_REQUESTS};method=${method};endpoint=${endpoint};plugin=${PLUGIN}`;
}

export function networkRoot(): { host: ProxyWasmHost; root: number } {
  const host = new ProxyWasmHost();
  const root = host.createRoot("sitio_network", PLUGIN);
  return { host, root };
}

/**
 * Marks endpoint labels as admitted in the host's shared data, as if earlier
 * responses had let them in (assembly/labels/endpoint_table.ts: the key
 * layout `sitio/<root id>/<plugin>/e/<label>` and the counter `…/n`). For
 * tests of parsing, where no upstream answers.
 */
export function preAdmit(host: ProxyWasmHost, labels: Iterable<string>, plugin = PLUGIN, rootId = "sitio_network"): void {
  const prefix = `sitio/${rootId}/${plugin}/`;
  let n = 0;
  for (const label of labels) {
    host.sharedData.set(`${prefix}e/${label}`, Buffer.from("1"), 0);
    n++;
  }
  const count = host.sharedData.get(`${prefix}n`);
  const before = count ? Number(count.value.toString()) : 0;
  host.sharedData.set(`${prefix}n`, Buffer.from(String(before + n)), 0);
}
