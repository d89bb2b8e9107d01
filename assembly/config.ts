// The plugin configuration: parsed once per plugin, in the root's
// proxy_on_configure, into this typed object. Streams only ever see a Config.
//
// JSON (all keys optional; unknown keys and wrong types are refused):
//   {
//     "protocol": "http1",                      network filter only: the codec ("http1")
//     "custom_404": {                           rewrite upstream 404 responses to this page
//       "enabled": true,
//       "body": "<h1>Not here</h1>",
//       "content_type": "text/html; charset=utf-8"
//     },
//     "endpoints": {
//       "max_distinct": 100,                    endpoint labels before the rest become "other"
//       "collapse": ["numbers", "uuids"],       path segments replaced by the placeholder
//       "placeholder": "{id}"
//     }
//   }

export const DEFAULT_MAX_ENDPOINTS = 100;

export class Config {
  protocol: string = "http1";
  /** Rewrite upstream (and, at L7, local) 404 responses to the page below. */
  custom404: bool = false;
  custom404Body: string = "";
  custom404ContentType: string = "text/html; charset=utf-8";
  maxEndpoints: i32 = DEFAULT_MAX_ENDPOINTS;
  collapseNumbers: bool = false;
  collapseUuids: bool = false;
  placeholder: string = "{id}";
}

/** The outcome of parsing: a Config, or one line saying what is wrong. */
export class ConfigResult {
  constructor(public config: Config | null, public error: string) {}
}

/** Parses the plugin configuration text ("" means all defaults). */
export function parseConfig(text: string): ConfigResult {
  if (text.trim().length == 0) return new ConfigResult(new Config(), "");
  return new ConfigResult(null, "configuration is not supported yet");
}
