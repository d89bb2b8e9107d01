// NetworkRoot: one per network-filter plugin (listener) per VM. Reads the
// plugin configuration once and owns what its connections share
// (NetworkStreams: the metrics, the protocol, the custom 404 page, idle
// connection objects to reuse).

import { property, setTickPeriod } from "../abi/host";
import { CustomPage } from "../codec/http1_custom_404";
import { protocolNamed } from "../codec/registry";
import { Config, FilterKind } from "../config/config";
import { readPluginConfig } from "../config/plugin_config";
import { TcpMetrics } from "../metrics/tcp_metrics";
import { NetworkStream, NetworkStreams } from "./stream";

/** The tick period; the rate windows have one bucket per tick, and counted bytes are published at each. */
const TICK_MS: u32 = 1000;
/** The `root_id` this root serves (envoy.yaml). */
export const NETWORK_ROOT_ID = "sitio_network";

export class NetworkRoot {
  config: Config = new Config();
  metrics: TcpMetrics | null = null;
  /** What the connections of the current configuration share; null until one is accepted. */
  streams: NetworkStreams | null = null;

  constructor(public contextId: u32) {}

  /** proxy_on_configure: parses the config and defines the metric series. False rejects the config. */
  onConfigure(configurationSize: u32): bool {
    let plugin = property("plugin_name");
    let config = readPluginConfig(plugin, FilterKind.Network, configurationSize);
    if (config === null) return false;
    let metrics = this.metrics;
    if (metrics !== null && config.protocol == this.config.protocol) {
      metrics.reconfigure(config);
    } else {
      // another protocol counts in other families, with labels of another kind
      if (metrics !== null) metrics.close();
      metrics = new TcpMetrics(NETWORK_ROOT_ID, plugin, config);
      this.metrics = metrics;
    }
    this.config = config;
    let page = config.custom404 ? new CustomPage(config.custom404ContentType, config.custom404Body) : null;
    // connection objects are built for one configuration: the old idle ones go with the old NetworkStreams
    this.streams = new NetworkStreams(metrics, protocolNamed(config.protocol)!, page);
    setTickPeriod(TICK_MS);
    return true;
  }

  /** proxy_on_tick (every TICK_MS): publishes what connections counted, moves the rate windows on, lets idle connection objects go. */
  onTick(): void {
    let streams = this.streams;
    if (streams !== null) streams.shrink();
    let metrics = this.metrics;
    if (metrics !== null) metrics.tick();
  }

  /** proxy_on_delete for this root: the plugin is going away (reload, shutdown). */
  onDelete(): void {
    let metrics = this.metrics;
    if (metrics !== null) metrics.close();
  }

  /** proxy_on_context_create for a connection of this plugin (configured: `streams` is set). */
  newStream(contextId: u32): NetworkStream {
    return this.streams!.open(contextId);
  }
}
