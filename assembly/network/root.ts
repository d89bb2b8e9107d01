// NetworkRoot: one per network-filter plugin (listener) per VM. Reads the
// plugin configuration once and owns the metric series its connections share.

import { property, setTickPeriod } from "../abi/host";
import { Config } from "../config";
import { readPluginConfig } from "../plugin_config";
import { NetworkStream } from "./stream";
import { TcpMetrics } from "./tcp_metrics";

/** The tick period; the rate windows (network/rate_window.ts) have one bucket per tick. */
const TICK_MS: u32 = 1000;

export class NetworkRoot {
  config: Config = new Config();
  metrics: TcpMetrics | null = null;

  constructor(public contextId: u32) {}

  /** proxy_on_configure: parses the config and defines the metric series. False rejects the config. */
  onConfigure(configurationSize: u32): bool {
    let plugin = property("plugin_name");
    let config = readPluginConfig(plugin, configurationSize);
    if (config === null) return false;
    this.config = config!;
    if (this.metrics === null) this.metrics = new TcpMetrics(plugin, this.config);
    else this.metrics!.reconfigure(this.config);
    setTickPeriod(TICK_MS);
    return true;
  }

  /** proxy_on_tick (every TICK_MS): moves the sliding rate windows on. */
  onTick(): void {
    if (this.metrics !== null) this.metrics!.tick();
  }

  /** proxy_on_done for this root: the plugin is going away (reload, shutdown). */
  onDone(): void {
    if (this.metrics !== null) this.metrics!.close();
  }

  /** proxy_on_context_create for a connection of this plugin. */
  newStream(contextId: u32): NetworkStream {
    return new NetworkStream(contextId, this);
  }
}
