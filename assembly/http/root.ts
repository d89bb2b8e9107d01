// HttpRoot: one per HTTP-filter plugin (HCM filter) per VM. Reads the plugin
// configuration once and owns what its requests share: the metric series and
// the custom 404 page, encoded once.

import { HeaderPair, encodeHeaderPairs, property, setTickPeriod } from "../abi/host";
import { Config, FilterKind } from "../config/config";
import { readPluginConfig } from "../config/plugin_config";
import { GrpcMetrics, HttpMetrics } from "../metrics/http_metrics";
import { HttpStream } from "./stream";

/** The `root_id` this root serves (envoy.yaml). */
export const HTTP_ROOT_ID = "sitio_http";
/** The tick period: idle request objects are let go, and the VM collects its garbage. */
const TICK_MS: u32 = 1000;
/** Idle request objects kept for reuse; more than this are let go. */
const POOL_SIZE = 64;

export class HttpRoot {
  config: Config = new Config();
  metrics: HttpMetrics | null = null;
  /** gRPC calls (content-type application/grpc…) are counted here, not in `metrics`. */
  grpcMetrics: GrpcMetrics | null = null;
  /** The custom 404 page and its headers, encoded once per configuration. */
  custom404Body: ArrayBuffer = new ArrayBuffer(0);
  custom404Headers: ArrayBuffer = new ArrayBuffer(0);
  private pool: HttpStream[] = [];

  constructor(public contextId: u32) {}

  /** proxy_on_configure: parses the config and defines the metric series. False rejects the config. */
  onConfigure(configurationSize: u32): bool {
    let plugin = property("plugin_name");
    let config = readPluginConfig(plugin, FilterKind.Http, configurationSize);
    if (config === null) return false;
    this.config = config;
    this.custom404Body = String.UTF8.encode(config.custom404Body);
    this.custom404Headers = encodeHeaderPairs([new HeaderPair("content-type", config.custom404ContentType)]);
    let metrics = this.metrics;
    if (metrics === null) this.metrics = new HttpMetrics(HTTP_ROOT_ID, plugin, config);
    else metrics.reconfigure(config);
    let grpc = this.grpcMetrics;
    if (grpc === null) this.grpcMetrics = new GrpcMetrics(HTTP_ROOT_ID, plugin, config);
    else grpc.reconfigure(config);
    setTickPeriod(TICK_MS);
    return true;
  }

  /** proxy_on_context_create for an HTTP request of this plugin. */
  newStream(contextId: u32): HttpStream {
    let pool = this.pool;
    if (pool.length > 0) {
      let s = pool.pop();
      s.reuse(contextId);
      return s;
    }
    return new HttpStream(contextId, this);
  }

  /** A request is over: its object may serve a later one. */
  release(stream: HttpStream): void {
    if (this.pool.length < POOL_SIZE) this.pool.push(stream);
  }

  /** proxy_on_tick: idle request objects are let go, half per tick (a burst's memory comes back within seconds). */
  onTick(): void {
    this.pool.length = this.pool.length >> 1;
  }
}
