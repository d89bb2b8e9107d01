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
