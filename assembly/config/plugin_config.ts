// The configuration step every sitio root (network or HTTP filter) takes in
// proxy_on_configure: check the plugin's name, read its configuration from the
// host and parse it; a problem is logged once, critically, and the
// configuration is rejected (Envoy then refuses the listener).

import { LogLevel, log, pluginConfiguration } from "../abi/host";
import { pluginNameProblem } from "../labels/label_values";
import { Config, FilterKind, parseConfig } from "./config";
import { quote } from "./json";

/** The parsed configuration of plugin `plugin`, or null (after a critical log line) when it is invalid. */
export function readPluginConfig(plugin: string, filter: FilterKind, configurationSize: u32): Config | null {
  let problem = pluginNameProblem(plugin);
  if (problem.length > 0) {
    log(LogLevel.Critical, "sitio: plugin name " + quote(plugin) + " " + problem + ' (it becomes the plugin="..." label of every series)');
    return null;
  }
  let parsed = parseConfig(pluginConfiguration(configurationSize), filter);
  let config = parsed.config;
  if (config === null) {
    log(LogLevel.Critical, "sitio: plugin " + plugin + ": invalid configuration: " + parsed.error);
    return null;
  }
  return config;
}
