// The codecs sitio ships, by the `protocol` name used in the plugin configuration.
// A new protocol is one new codec file plus one line in each function below.

import { Codec } from "./codec";
import { FooCodec } from "./foo";
import { Http1Codec } from "./http1";
import { Config } from "../config";
import { TcpMetrics } from "../network/tcp_metrics";

/** Protocol names accepted in the configuration. */
export const PROTOCOLS: string[] = ["http1", "foo"];

/** A new codec instance for one connection. */
export function newCodec(config: Config, metrics: TcpMetrics): Codec {
  if (config.protocol == "foo") return new FooCodec(config, metrics);
  return new Http1Codec(config, metrics);
}
