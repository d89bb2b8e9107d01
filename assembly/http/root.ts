// HttpRoot: one per HTTP-filter plugin (HCM filter) per VM, on the SDK's
// RootContext. Reads the plugin configuration once and owns the metric series
// its requests share.

import { Context, HeaderPair, Headers, RootContext } from "@solo-io/proxy-runtime/runtime";
import { property } from "../abi/host";
import { Config } from "../config";
import { readPluginConfig } from "../plugin_config";
import { HttpMetrics } from "./http_metrics";
import { HttpStream } from "./stream";

export class HttpRoot extends RootContext {
  config: Config = new Config();
  metrics: HttpMetrics | null = null;
  /** The custom 404 page and its headers, encoded once per configuration. */
  custom404Body: ArrayBuffer = new ArrayBuffer(0);
  custom404Headers: Headers = [];

  constructor(context_id: u32) {
    super(context_id);
  }

  /**
   * proxy_on_configure: parses the config and defines the metric series. False rejects the config.
   * Replaces the SDK's onConfigure entirely: that one reads the configuration through a bad
   * pointer and throws on an empty one.
   */
  onConfigure(configuration_size: u32): bool {
    let plugin = property("plugin_name");
    let config = readPluginConfig(plugin, configuration_size);
    if (config === null) return false;
    this.config = config!;
    this.custom404Body = String.UTF8.encode(this.config.custom404Body);
    this.custom404Headers = [new HeaderPair(String.UTF8.encode("content-type"), String.UTF8.encode(this.config.custom404ContentType))];
    if (this.metrics === null) this.metrics = new HttpMetrics(plugin, this.config);
    else this.metrics!.reconfigure(this.config);
    return true;
  }

  /** proxy_on_tick (the SDK's default logs on every call). */
  onTick(): void {}

  /** proxy_on_context_create for an HTTP request of this plugin. */
  newStream(context_id: u32): HttpStream {
    return new HttpStream(context_id, this);
  }

  /** The SDK's factory hook, for code that goes through it. */
  createContext(context_id: u32): Context {
    return this.newStream(context_id);
  }
}
