// The codecs sitio ships, by the `protocol` name used in the plugin configuration.
// A new protocol is one new codec file plus one line in each function below.

import { Codec } from "./codec";
import { Http1Codec } from "./http1";
import { Config } from "../config";
import { TcpMetrics } from "../network/tcp_metrics";

/** Protocol names accepted in the configuration. */
export const PROTOCOLS: string[] = ["http1"];

/** A new codec instance for one connection. */
export function newCodec(config: Config, metrics: TcpMetrics): Codec {
  return new Http1Codec(config, metrics);
}
