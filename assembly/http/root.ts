// HttpRoot: one per HTTP-filter plugin (HCM filter) per VM. Reads the plugin
// configuration once and owns what its requests share (HttpStreams: the
// metric series, the custom 404 page encoded once, idle request objects).

import { HeaderPair, encodeHeaderPairs, property, setTickPeriod } from "../abi/host";
import { Config, FilterKind } from "../config/config";
import { readPluginConfig } from "../config/plugin_config";
import { GrpcMetrics, HttpMetrics } from "../metrics/http_metrics";
import { HttpStream, HttpStreams } from "./stream";

/** The `root_id` this root serves (envoy.yaml). */
export const HTTP_ROOT_ID = "sitio_http";
/** The tick period: idle request objects are let go, and the VM collects its garbage. */
const TICK_MS: u32 = 1000;

export class HttpRoot {
  config: Config = new Config();
  metrics: HttpMetrics | null = null;
  /** gRPC calls (content-type application/grpc…) are counted here, not in `metrics`. */
  grpcMetrics: GrpcMetrics | null = null;
  /** What the requests of the current configuration share; null until one is accepted. */
  streams: HttpStreams | null = null;

  constructor(public contextId: u32) {}

  /** proxy_on_configure: parses the config and defines the metric series. False rejects the config. */
  onConfigure(configurationSize: u32): bool {
    let plugin = property("plugin_name");
    let config = readPluginConfig(plugin, FilterKind.Http, configurationSize);
    if (config === null) return false;
    this.config = config;
    let metrics = this.metrics;
    if (metrics === null) {
      metrics = new HttpMetrics(HTTP_ROOT_ID, plugin, config);
      this.metrics = metrics;
    } else metrics.endpoints.reconfigure(config); // series already defined stay as they are
    let grpc = this.grpcMetrics;
    if (grpc === null) {
      grpc = new GrpcMetrics(HTTP_ROOT_ID, plugin, config);
      this.grpcMetrics = grpc;
    } else grpc.endpoints.reconfigure(config);
    // the custom 404 page and its headers, encoded once per configuration
    let body = String.UTF8.encode(config.custom404Body);
    let headers = encodeHeaderPairs([new HeaderPair("content-type", config.custom404ContentType)]);
    this.streams = new HttpStreams(metrics, grpc, config.custom404, body, headers);
    setTickPeriod(TICK_MS);
    return true;
  }

  /** proxy_on_context_create for an HTTP request of this plugin (configured: `streams` is set). */
  newStream(contextId: u32): HttpStream {
    return this.streams!.open(contextId);
  }

  /** proxy_on_tick: idle request objects are let go, half per tick. */
  onTick(): void {
    let streams = this.streams;
    if (streams !== null) streams.shrink();
  }
}
