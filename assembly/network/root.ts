// NetworkRoot: one per network-filter plugin (listener) per VM. Reads the
// plugin configuration once and owns the metric series its connections share.

import { LogLevel, log, pluginConfiguration, property } from "../abi/host";
import { NetworkStream } from "./stream";
import { TcpMetrics } from "./tcp_metrics";

/** Default cap on distinct endpoint labels per plugin. */
const DEFAULT_MAX_ENDPOINTS = 100;

export class NetworkRoot {
  metrics: TcpMetrics | null = null;
  protocol: string = "http1";

  constructor(public contextId: u32) {}

  /** proxy_on_configure: defines the metric series. Returns false to reject the config. */
  onConfigure(configurationSize: u32): bool {
    let text = pluginConfiguration(configurationSize);
    if (text.trim().length > 0) {
      log(LogLevel.Critical, "sitio: this build takes no plugin configuration yet");
      return false;
    }
    if (this.metrics === null) this.metrics = new TcpMetrics(property("plugin_name"), DEFAULT_MAX_ENDPOINTS);
    return true;
  }

  /** proxy_on_tick. */
  onTick(): void {}

  /** proxy_on_context_create for a connection of this plugin. */
  newStream(contextId: u32): NetworkStream {
    return new NetworkStream(contextId, this);
  }
}
