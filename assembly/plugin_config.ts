// The configuration step every sitio root (network or HTTP filter) takes in
// proxy_on_configure: read the plugin's configuration from the host and
// parse it; an invalid one is logged once, critically, and rejected.

import { LogLevel, log, pluginConfiguration } from "./abi/host";
import { Config, parseConfig } from "./config";

/** The parsed configuration of plugin `plugin`, or null (after a critical log line) when it is invalid. */
export function readPluginConfig(plugin: string, configurationSize: u32): Config | null {
  let parsed = parseConfig(pluginConfiguration(configurationSize));
  if (parsed.config === null) {
    log(LogLevel.Critical, "sitio: plugin " + plugin + ": invalid configuration: " + parsed.error);
    return null;
  }
  return parsed.config;
}
