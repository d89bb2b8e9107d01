// The shipped configuration served through file-based LDS, for reload tests.
//
// The bootstrap is envoy/envoy.yaml with its `listeners:` section moved into a
// separate file that Envoy watches (dynamic_resources.lds_config with a
// path_config_source); clusters, admin and stats_tags stay as shipped.
// `update(edit)` rewrites the listener file (edit applied to the shipped
// listener text) with an atomic rename, which is how Envoy expects it.

import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort, remapConfig, shippedPorts, startEnvoy, SHIPPED_CONFIG, ROOT, type Envoy } from "./envoy.js";

export interface LdsEnvoy {
  envoy: Envoy;
  /** Rewrites the listener file: `edit` gets the shipped listeners (as LDS resources) and returns the new text. */
  update(edit: (listeners: string) => string): void;
  /** A counter or gauge of Envoy's own (Prometheus name), 0 when absent. */
  envoyStat(name: string): Promise<number>;
}

/** Splits the shipped config into the bootstrap without listeners and the listeners as LDS resources. */
export function splitListeners(shipped: string): { bootstrap: string; resources: string } {
  const lines = shipped.split("\n");
  const start = lines.indexOf("  listeners:");
  const end = lines.findIndex((l, i) => i > start && /^ {0,2}\S/.test(l));
  if (start < 0 || end < 0) throw new Error("envoy.yaml: no `  listeners:` section under static_resources");
  const listenerLines = lines.slice(start + 1, end);
  const resources = listenerLines
    .map((l) =>
      l.startsWith("    - name:")
        ? `  - "@type": type.googleapis.com/envoy.config.listener.v3.Listener\n    name:${l.slice("    - name:".length)}`
        : l.slice(2),
    )
    .join("\n");
  const bootstrap = [...lines.slice(0, start), ...lines.slice(end)].join("\n");
  return { bootstrap, resources: `resources:\n${resources}\n` };
}

export interface LdsOptions {
  /** The .wasm the listeners load (default build/sitio.wasm). */
  wasm?: string;
  /** Applied to the first listener file. */
  edit?: (listeners: string) => string;
  /** Applied to the bootstrap (the shipped config without its listeners), e.g. to add a cluster. */
  bootstrap?: (bootstrap: string) => string;
  /** Ports that keep their number (shipped port → port), e.g. a test server's port named in a cluster `bootstrap` adds. */
  ports?: Record<number, number>;
}

export async function startEnvoyWithLds(name: string, opts: LdsOptions = {}): Promise<LdsEnvoy> {
  const shipped = readFileSync(SHIPPED_CONFIG, "utf8");
  const ports: Record<number, number> = { ...opts.ports };
  for (const p of shippedPorts(shipped)) ports[p] ??= await freePort();
  const dir = join(ROOT, ".test-logs", `${name}-lds-${process.pid}-${Date.now()}`);
  mkdirSync(dir, { recursive: true });
  const ldsFile = join(dir, "listeners.yaml");
  const { bootstrap, resources } = splitListeners(shipped);
  const listeners = remapConfig(resources, ports, opts.wasm);
  let version = 0;
  const write = (text: string) => {
    const tmp = join(dir, `.listeners.${++version}.yaml`);
    writeFileSync(tmp, text);
    renameSync(tmp, ldsFile);
  };
  write((opts.edit ?? ((l) => l))(listeners));
  const configText =
    (opts.bootstrap ?? ((b) => b))(bootstrap) +
    `\nnode: { id: sitio-lds-test, cluster: sitio-lds-test }\n` +
    `dynamic_resources:\n  lds_config:\n    resource_api_version: V3\n    path_config_source:\n      path: ${ldsFile}\n      watched_directory: { path: ${dir} }\n`;
  const envoy = await startEnvoy({ name, configText, ports });
  return {
    envoy,
    update: (edit) => write(edit(listeners)),
    envoyStat: async (stat) => {
      const s = await envoy.scrape();
      return s.filter((x) => x.name === stat).reduce((t, x) => t + x.value, 0);
    },
  };
}
