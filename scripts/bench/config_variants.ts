// The "without sitio" side of each benchmark pair, derived from the shipped
// envoy/envoy.yaml text so the two sides differ by exactly one filter block.
//
// Text, not a YAML round-trip: the project has no YAML library, and cutting
// the block's own lines keeps everything else (comments, order, other
// listeners) byte for byte. Exactly one block goes: the innermost list item
// around the line naming the wasm type, in the listener on the given port.

/** The typed_config type of each sitio filter kind. */
export const WASM_TYPES = {
  network: "type.googleapis.com/envoy.extensions.filters.network.wasm.v3.Wasm",
  http: "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
} as const;

export type FilterKind = keyof typeof WASM_TYPES;

/** A YAML block-sequence item: the line of its "- " and the line after its last. */
interface Item {
  indent: number;
  start: number;
  end: number;
}

function indentOf(line: string): number {
  return line.length - line.trimStart().length;
}

function isContent(line: string): boolean {
  return line.trim() !== "";
}

/** Every block-sequence item in the text, outermost first. */
function items(lines: string[]): Item[] {
  const found: Item[] = [];
  lines.forEach((line, start) => {
    const m = /^(\s*)- /.exec(line);
    if (!m || line.trimStart().startsWith("#")) return;
    const indent = m[1].length;
    let end = start + 1;
    // The item runs until the next line (not a deeper comment) at its own indent or less.
    for (let i = start + 1; i < lines.length; i++) {
      if (!isContent(lines[i])) continue;
      if (indentOf(lines[i]) <= indent) break;
      end = i + 1;
    }
    found.push({ indent, start, end });
  });
  return found;
}

const contains = (lines: string[], item: Item, pattern: RegExp) => lines.slice(item.start, item.end).some((l) => pattern.test(l));

/** Whether the listener on `port` in this config text has a sitio filter of this kind. */
export function hasWasmFilter(text: string, port: number, kind: FilterKind): boolean {
  try {
    withoutWasmFilter(text, port, kind);
    return true;
  } catch {
    return false;
  }
}

/**
 * The config text with the sitio wasm filter of `kind` removed from the
 * listener on `port`. Throws when there is not exactly one such filter.
 */
export function withoutWasmFilter(text: string, port: number, kind: FilterKind): string {
  const lines = text.split("\n");
  const all = items(lines);
  const portLine = new RegExp(`port_value:\\s*${port}\\b`);
  // The listener: the outermost item holding both the port and a filter chain.
  const listener = all.find((it) => contains(lines, it, portLine) && contains(lines, it, /^\s*filter_chains:/));
  if (!listener) throw new Error(`no listener on port ${port}`);
  const typeLine = lines.findIndex((l, i) => i >= listener.start && i < listener.end && l.includes(WASM_TYPES[kind]));
  if (typeLine < 0) throw new Error(`listener on port ${port} has no ${kind} wasm filter`);
  const again = lines.findIndex((l, i) => i > typeLine && i < listener.end && l.includes(WASM_TYPES[kind]));
  if (again >= 0) throw new Error(`listener on port ${port} has more than one ${kind} wasm filter`);
  // The filter: the innermost item around its typed_config type line.
  const filter = all.filter((it) => it.start > listener.start && it.start < typeLine && it.end > typeLine).sort((a, b) => b.indent - a.indent)[0];
  if (!filter || !/^\s*- name:/.test(lines[filter.start])) throw new Error(`cannot find the ${kind} wasm filter block on port ${port}`);
  // Comment lines directly above the block describe it; they go too.
  let start = filter.start;
  while (start > 0 && lines[start - 1].trimStart().startsWith("#") && indentOf(lines[start - 1]) === filter.indent) start--;
  return [...lines.slice(0, start), ...lines.slice(filter.end)].join("\n");
}

/**
 * The config text with the cluster `name` allowed `max` upstream connections.
 * Envoy's default circuit breaker stops a cluster at 1,024 connections; the
 * new-connection benchmark holds up to 5,000 idle ones through tcp_proxy.
 * Both sides of a pair get the same change.
 */
export function withClusterConnections(text: string, name: string, max: number): string {
  const lines = text.split("\n");
  const cluster = items(lines).find((it) => new RegExp(`^\\s*- name:\\s*${name}\\s*$`).test(lines[it.start]) && contains(lines, it, /^\s*load_assignment:/));
  if (!cluster) throw new Error(`no cluster named ${name}`);
  if (contains(lines, cluster, /^\s*circuit_breakers:/)) throw new Error(`cluster ${name} already sets circuit_breakers`);
  const indent = " ".repeat(cluster.indent + 2);
  const breaker = `${indent}circuit_breakers: { thresholds: [{ max_connections: ${max}, max_pending_requests: ${max}, max_requests: ${max} }] }`;
  return [...lines.slice(0, cluster.start + 1), breaker, ...lines.slice(cluster.start + 1)].join("\n");
}
