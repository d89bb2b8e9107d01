// NetworkRoot: one per network-filter plugin (listener) per VM. Reads the
// plugin configuration once and owns what its connections share: the
// metrics, the protocol, the custom 404 page, and a few idle connection
// objects to reuse (so a new connection allocates nothing).

import { property, setTickPeriod } from "../abi/host";
import { CustomPage } from "../codec/http1_custom_404";
import { Protocol, protocolNamed, PROTOCOLS } from "../codec/registry";
import { Config, FilterKind } from "../config/config";
import { readPluginConfig } from "../config/plugin_config";
import { TcpMetrics } from "../metrics/tcp_metrics";
import { NetworkStream } from "./stream";

/** The tick period; the rate windows have one bucket per tick, and counted bytes are published at each. */
const TICK_MS: u32 = 1000;
/** Idle connection objects kept for reuse; more than this are let go, so a burst does not keep its memory. */
const POOL_SIZE = 64;
/** The `root_id` this root serves (envoy.yaml). */
export const NETWORK_ROOT_ID = "sitio_network";

export class NetworkRoot {
  config: Config = new Config();
  metrics: TcpMetrics | null = null;
  protocol: Protocol = unchecked(PROTOCOLS[0]);
  /** The custom 404 page of the configuration, or null when it is off. */
  page: CustomPage | null = null;
  private pool: NetworkStream[] = [];

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
      this.metrics = new TcpMetrics(NETWORK_ROOT_ID, plugin, config);
    }
    this.config = config;
    this.protocol = protocolNamed(config.protocol)!;
    this.page = config.custom404 ? new CustomPage(config.custom404ContentType, config.custom404Body) : null;
    this.pool.length = 0; // pooled connections were built for the old configuration
    setTickPeriod(TICK_MS);
    return true;
  }

  /** proxy_on_tick (every TICK_MS): publishes what connections counted, moves the rate windows on, lets idle pooled connections go. */
  onTick(): void {
    // half of the idle objects go each tick: churn keeps its pool, a burst's memory comes back within seconds
    let pool = this.pool;
    pool.length = pool.length >> 1;
    let metrics = this.metrics;
    if (metrics !== null) metrics.tick();
  }

  /** proxy_on_delete for this root: the plugin is going away (reload, shutdown). */
  onDelete(): void {
    let metrics = this.metrics;
    if (metrics !== null) metrics.close();
  }

  /** proxy_on_context_create for a connection of this plugin. */
  newStream(contextId: u32): NetworkStream {
    let pool = this.pool;
    if (pool.length > 0) {
      let s = pool.pop();
      s.reuse(contextId);
      return s;
    }
    return new NetworkStream(contextId, this);
  }

  /** A connection is over: its object may serve a later one. */
  release(stream: NetworkStream): void {
    if (this.pool.length < POOL_SIZE) this.pool.push(stream);
  }
}
