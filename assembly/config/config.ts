// The plugin configuration: parsed once per plugin, in the root's
// proxy_on_configure, into this typed object. Streams only ever see a Config.
//
// JSON (all keys optional; unknown keys, wrong types and keys that mean
// nothing for the filter they are in are refused):
//   {
//     "protocol": "http1",                      network filter only: the decoder (codec/registry.ts)
//     "custom_404": {                           rewrite 404 responses to this page (HTTP filter, or a
//                                               network protocol that supports it)
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
//
// `custom_404` present means enabled unless "enabled": false; an enabled page
// needs a non-empty body. Errors are one line naming the key path, e.g.
//   unknown key "custom_404.bdy"
//   "endpoints.max_distinct" must be an integer from 1 to 10000, got "ten"

import { JsonKind, JsonValue, parseJson, quote } from "./json";
import { EndpointKind, PROTOCOLS, protocolNamed } from "../codec/registry";
import { mustEscape } from "../labels/label_values";
import { decimal } from "../bytes/decimal";

export const DEFAULT_MAX_ENDPOINTS = 100;
export const MAX_ENDPOINTS_LIMIT = 10000;
export const MAX_PLACEHOLDER_BYTES = 64;

/** Which filter a configuration is for: some keys mean something in only one of them. */
export enum FilterKind {
  Network,
  Http,
}

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
  constructor(
    public config: Config | null,
    public error: string,
  ) {}
}

/** Parses the plugin configuration text of a `filter` ("" or only whitespace means all defaults). Never traps. */
export function parseConfig(text: string, filter: FilterKind): ConfigResult {
  if (text.trim().length == 0) return new ConfigResult(new Config(), "");
  let json = parseJson(text);
  let value = json.value;
  if (value === null) {
    return new ConfigResult(null, "not valid JSON at byte " + decimal(json.offset) + ": " + json.error);
  }
  let reader = new ConfigReader(filter);
  let config = reader.read(value);
  if (reader.error.length == 0) reader.checkFilter(config, value);
  return reader.error.length > 0 ? new ConfigResult(null, reader.error) : new ConfigResult(config, "");
}

/** How a value is shown after "got": strings quoted, numbers as written, containers by kind. */
function shown(v: JsonValue): string {
  switch (v.kind) {
    case JsonKind.Null:
      return "null";
    case JsonKind.Bool:
      return v.bool ? "true" : "false";
    case JsonKind.Number:
      return v.str.length > 32 ? v.str.substring(0, 32) + "..." : v.str;
    case JsonKind.String:
      return quote(v.str);
    case JsonKind.Array:
      return "an array";
  }
  return "an object";
}

/**
 * A placeholder for collapsed id segments: `{`, then 1 or more bytes a label
 * holds raw (labels/label_values.ts; no `{` `}` `%`), then `}`. Client paths
 * have their `{` `}` escaped, so a collapsed segment never looks like a path
 * a client sent.
 */
function isPlaceholder(s: string): bool {
  let n = s.length;
  if (n < 3 || s.charCodeAt(0) != 123 || s.charCodeAt(n - 1) != 125) return false;
  for (let i = 1; i < n - 1; i++) {
    if (mustEscape(s.charCodeAt(i)) || s.charCodeAt(i) == 46 /* . */) return false;
  }
  return true;
}

/** Printable ASCII, space included (a header value). */
function isPrintableAscii(s: string): bool {
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x20 || c >= 0x7f) return false;
  }
  return true;
}

function protocolList(): string {
  let out = "";
  for (let i = 0; i < PROTOCOLS.length; i++) {
    if (i > 0) out += ", ";
    out += quote(unchecked(PROTOCOLS[i]).name);
  }
  return out;
}

/** Walks the JSON tree into a Config; the first problem found is kept in `error`. */
class ConfigReader {
  error: string = "";

  constructor(private filter: FilterKind) {}

  /** Keys valid JSON-wise but meaningless for this filter or protocol are refused, naming the key. */
  checkFilter(c: Config, root: JsonValue): void {
    if (this.filter == FilterKind.Http && root.get("protocol") !== null) {
      this.error = '"protocol" applies only to the network filter (envoy.filters.network.wasm); the HTTP filter always sees HTTP';
      return;
    }
    if (this.filter != FilterKind.Network) return;
    let p = protocolNamed(c.protocol);
    if (p === null) return;
    if (root.get("custom_404") !== null && !p.customPages) {
      this.error = '"custom_404" does not apply to protocol ' + quote(c.protocol) + ": it has no 404 responses to replace";
      return;
    }
    let endpoints = root.get("endpoints");
    if (endpoints === null) return;
    if (p.endpoints == EndpointKind.None) {
      this.error = '"endpoints" does not apply to protocol ' + quote(c.protocol) + ": its requests have no endpoint";
    } else if (p.endpoints == EndpointKind.ServerName && (endpoints.get("collapse") !== null || endpoints.get("placeholder") !== null)) {
      let key = endpoints.get("collapse") !== null ? "endpoints.collapse" : "endpoints.placeholder";
      this.error = quote(key) + " does not apply to protocol " + quote(c.protocol) + ": its endpoints are server names, not paths";
    }
  }

  read(root: JsonValue): Config {
    let c = new Config();
    if (root.kind != JsonKind.Object) {
      this.error = "the configuration must be a JSON object, got " + shown(root);
      return c;
    }
    for (let i = 0; i < root.keys.length && this.error.length == 0; i++) {
      let key = unchecked(root.keys[i]);
      let v = unchecked(root.items[i]);
      if (key == "protocol") this.protocol(c, v);
      else if (key == "custom_404") this.custom404(c, v);
      else if (key == "endpoints") this.endpoints(c, v);
      else this.error = "unknown key " + quote(key);
    }
    return c;
  }

  /** Records `"path" must be <expected>, got <value>`; returns false for `if (!ok) return this.wrong(...)`. */
  wrong(path: string, expected: string, v: JsonValue): bool {
    this.error = quote(path) + " must be " + expected + ", got " + shown(v);
    return false;
  }

  protocol(c: Config, v: JsonValue): bool {
    if (v.kind == JsonKind.String && protocolNamed(v.str) !== null) {
      c.protocol = v.str;
      return true;
    }
    return this.wrong("protocol", "one of " + protocolList(), v);
  }

  custom404(c: Config, v: JsonValue): bool {
    if (v.kind != JsonKind.Object) return this.wrong("custom_404", "an object", v);
    c.custom404 = true;
    for (let i = 0; i < v.keys.length; i++) {
      let key = unchecked(v.keys[i]);
      let m = unchecked(v.items[i]);
      if (key == "enabled") {
        if (m.kind != JsonKind.Bool) return this.wrong("custom_404.enabled", "true or false", m);
        c.custom404 = m.bool;
      } else if (key == "body") {
        if (m.kind != JsonKind.String) return this.wrong("custom_404.body", "a string", m);
        c.custom404Body = m.str;
      } else if (key == "content_type") {
        if (m.kind != JsonKind.String || m.str.length == 0 || !isPrintableAscii(m.str)) {
          return this.wrong("custom_404.content_type", "a non-empty string of printable ASCII", m);
        }
        c.custom404ContentType = m.str;
      } else {
        this.error = "unknown key " + quote("custom_404." + key);
        return false;
      }
    }
    if (c.custom404 && c.custom404Body.length == 0) {
      this.error = '"custom_404.body" must be a non-empty string when custom_404 is enabled';
      return false;
    }
    return true;
  }

  endpoints(c: Config, v: JsonValue): bool {
    if (v.kind != JsonKind.Object) return this.wrong("endpoints", "an object", v);
    for (let i = 0; i < v.keys.length; i++) {
      let key = unchecked(v.keys[i]);
      let m = unchecked(v.items[i]);
      if (key == "max_distinct") {
        if (m.kind != JsonKind.Number || !m.isInteger || m.integer < 1 || m.integer > <i64>MAX_ENDPOINTS_LIMIT) {
          return this.wrong("endpoints.max_distinct", "an integer from 1 to " + decimal(MAX_ENDPOINTS_LIMIT), m);
        }
        c.maxEndpoints = <i32>m.integer;
      } else if (key == "collapse") {
        if (!this.collapse(c, m)) return false;
      } else if (key == "placeholder") {
        if (m.kind != JsonKind.String || m.str.length > MAX_PLACEHOLDER_BYTES || !isPlaceholder(m.str)) {
          return this.wrong(
            "endpoints.placeholder",
            '"{", 1 to ' + decimal(MAX_PLACEHOLDER_BYTES - 2) + ' characters of printable ASCII other than space . ; % " \\ { }, then "}"',
            m,
          );
        }
        c.placeholder = m.str;
      } else {
        this.error = "unknown key " + quote("endpoints." + key);
        return false;
      }
    }
    return true;
  }

  collapse(c: Config, v: JsonValue): bool {
    if (v.kind != JsonKind.Array) return this.wrong("endpoints.collapse", 'an array of "numbers", "uuids"', v);
    for (let i = 0; i < v.items.length; i++) {
      let item = unchecked(v.items[i]);
      if (item.kind == JsonKind.String && item.str == "numbers") c.collapseNumbers = true;
      else if (item.kind == JsonKind.String && item.str == "uuids") c.collapseUuids = true;
      else return this.wrong("endpoints.collapse[" + decimal(i) + "]", '"numbers" or "uuids"', item);
    }
    return true;
  }
}
