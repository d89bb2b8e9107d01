// The shipped envoy/envoy.yaml on its own: Envoy accepts it, and its stats_tags
// match the label keys the filter encodes into stat names (assembly/metrics/metric_table.ts).

import { describe, expect, test } from "vitest";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { ROOT, SHIPPED_CONFIG, envoyBinary, ensureTlsCert } from "../harness/envoy.js";

describe("shipped envoy.yaml", () => {
  test("Envoy validates it as shipped (with the built wasm and the certificate made at set-up)", () => {
    ensureTlsCert();
    const out = execFileSync(envoyBinary(), ["--mode", "validate", "-c", SHIPPED_CONFIG, "--log-level", "error"], { cwd: ROOT, encoding: "utf8" });
    expect(out).toContain("OK");
  });

  test("one stats_tags regex per label key the metric table declares, and every family uses only those", () => {
    const yaml = readFileSync(SHIPPED_CONFIG, "utf8");
    const tags = [...yaml.matchAll(/tag_name: (\w+), regex: "\(;(\w+)=\(\[\^;\]\*\)\)"/g)].map((m) => {
      expect(m[1]).toBe(m[2]);
      return m[1];
    });
    const table = readFileSync(join(ROOT, "assembly/metrics/metric_table.ts"), "utf8");
    const constants = new Map([...table.matchAll(/^const (\w+) = "(\w+)";$/gm)].map((m) => [m[1], m[2]]));
    const declared = /LABEL_KEYS: string\[\] = \[([^\]]*)\]/.exec(table)![1].match(/\w+/g)!;
    const keys = declared.map((c) => constants.get(c));
    expect(new Set(tags)).toEqual(new Set(keys));
    const families = [...table.matchAll(/new MetricFamily\("(\w+)", MetricType\.\w+, \[([^\]]*)\]\)/g)];
    expect(families.length).toBeGreaterThan(10);
    for (const [, name, list] of families) {
      for (const key of list.match(/\w+/g)!) expect(declared, `${name} uses ${key}`).toContain(key);
    }
  });

  test("the local_reply_config page for Envoy's own 404s is sitio_http's custom_404 page, and it spares the 404s sitio sends", () => {
    // biome-ignore lint/suspicious/noExplicitAny: parsed YAML, read field by field
    type Any = any;
    const config = parse(readFileSync(SHIPPED_CONFIG, "utf8")) as Any;
    const listener = config.static_resources.listeners.find((l: Any) => l.name === "web_http");
    const hcm = listener.filter_chains[0].filters.find((f: Any) => f.name === "envoy.filters.network.http_connection_manager").typed_config;
    const sitio = hcm.http_filters.find((f: Any) => f.typed_config?.config?.root_id === "sitio_http").typed_config.config;
    const page = JSON.parse(sitio.configuration.value).custom_404;
    const mappers = hcm.local_reply_config.mappers;
    expect(mappers).toHaveLength(1);
    expect(mappers[0].body.inline_string).toBe(page.body);
    expect(mappers[0].body_format_override).toEqual({ text_format_source: { inline_string: "%LOCAL_REPLY_BODY%" }, content_type: page.content_type });
    // the details sitio's own page carries (assembly/http/stream.ts) are the ones the mapper leaves alone
    const details = /const CUSTOM_404_DETAILS = String\.UTF8\.encode\("([^"]+)"\)/.exec(readFileSync(join(ROOT, "assembly/http/stream.ts"), "utf8"))![1];
    // …and so are gRPC requests (Envoy would put the page in their grpc-message; tests/envoy/grpc.test.ts)
    expect(mappers[0].filter.extension_filter.typed_config.expression).toBe(
      `response.code == 404 && response.code_details != '${details}' && !('content-type' in request.headers && request.headers['content-type'].startsWith('application/grpc'))`,
    );
  });
});
