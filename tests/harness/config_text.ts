// Edits of the shipped envoy.yaml's text for tests of configuration mistakes:
// each changes one thing and throws when the shipped file no longer has the
// shape it edits (so a test can never pass on an unchanged config).

/** The config with the JSON of plugin `plugin`'s `configuration` replaced by `json`. */
export function withPluginConfiguration(text: string, plugin: string, json: string): string {
  const at = text.indexOf(`name: ${plugin}\n`);
  const value = /^( *)value: \|\n((?:\1 .*\n|\s*\n)*)/m;
  const rest = text.slice(at);
  const m = value.exec(rest);
  if (at < 0 || !m) throw new Error(`no configuration value for plugin ${plugin} in the shipped config`);
  const indent = `${m[1]}  `;
  const replaced = `${m[1]}value: |\n${json
    .split("\n")
    .map((l) => indent + l)
    .join("\n")}\n`;
  return text.slice(0, at) + rest.slice(0, m.index) + replaced + rest.slice(m.index + m[0].length);
}

/** The config with plugin `plugin` renamed to `name` (any string: written as a YAML double-quoted scalar). */
export function withPluginName(text: string, plugin: string, name: string): string {
  const line = new RegExp(`^( *)name: ${plugin}\\n`, "m");
  if (!line.test(text)) throw new Error(`no plugin named ${plugin} in the shipped config`);
  return text.replace(line, (_, indent: string) => `${indent}name: ${JSON.stringify(name)}\n`);
}

/** The config without its `stats_tags` (as if a sitio filter block were copied into a bootstrap that lacks them). */
export function withoutStatsTags(text: string): string {
  const tags = /^  stats_tags:\n(?:    - \{ tag_name: .*\n)+/m;
  if (!tags.test(text)) throw new Error("no stats_tags block in the shipped config");
  return text.replace(tags, "");
}

const GLOBAL_LIMIT = /^(\s*)max_active_downstream_connections: (\d+)$/m;

/** The config's global downstream connection limit (overload_manager, envoy.resource_monitors.global_downstream_max_connections). */
export function globalConnectionLimit(text: string): number {
  const m = GLOBAL_LIMIT.exec(text);
  if (!m) throw new Error("no max_active_downstream_connections in the config");
  return Number(m[2]);
}

/** The config with its global downstream connection limit set to `max`. */
export function withGlobalConnectionLimit(text: string, max: number): string {
  globalConnectionLimit(text);
  return text.replace(GLOBAL_LIMIT, (_, indent: string) => `${indent}max_active_downstream_connections: ${max}`);
}
