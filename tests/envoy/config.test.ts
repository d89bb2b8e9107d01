// A bad plugin configuration in the real Envoy: the shipped envoy.yaml with
// only sitio_web's `configuration` replaced. sitio refuses it with one critical
// log line naming the key; Envoy 1.40 then refuses the whole static config
// (the listener's filter cannot be created) and exits during start-up.

import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { SHIPPED_CONFIG, startEnvoy } from "../harness/envoy.js";
import { value } from "../harness/prometheus.js";
import { httpRequest } from "../harness/traffic.js";
import { startOkUpstream } from "../harness/ok_upstream.js";
import { withPluginConfiguration } from "../harness/config_text.js";

describe("plugin configuration in Envoy", () => {
  test("the shipped config gives sitio_web a configuration the test can replace", () => {
    const shipped = readFileSync(SHIPPED_CONFIG, "utf8");
    const bad = withPluginConfiguration(shipped, "sitio_web", `{"endpoints": {"max_distinct": "ten"}}`);
    expect(bad).not.toBe(shipped);
    expect(bad).toContain(`\n                      {"endpoints": {"max_distinct": "ten"}}\n`);
  });

  test("the shipped configuration is in effect: numeric and UUID path segments are one endpoint", async () => {
    // an upstream that answers 200, so each path earns its series
    const ok = await startOkUpstream();
    const envoy = await startEnvoy({ name: "config-shipped", upstreams: { web_service: ok.port } });
    try {
      const port = envoy.port(18000);
      for (const path of ["/users/42", "/users/7?page=2", "/users/123e4567-e89b-12d3-a456-426614174000", "/users/me"]) {
        expect((await httpRequest(port, path)).status).toBe(200);
      }
      const reqs = (s: Awaited<ReturnType<typeof envoy.scrape>>, endpoint: string) =>
        value(s, "sitio_tcp_requests_total", { method: "GET", endpoint, plugin: "sitio_web" }) ?? 0;
      const s = await envoy.waitForStats((s) => reqs(s, "/users/{id}") + reqs(s, "/users/me") >= 4, "4 requests counted");
      expect(reqs(s, "/users/{id}")).toBe(3);
      expect(reqs(s, "/users/me")).toBe(1);
      expect(reqs(s, "/users/42")).toBe(0);
    } finally {
      await envoy.stop();
      await ok.stop();
    }
  });

  test("a wrong type is refused with one log line naming the key, and Envoy does not start", async () => {
    const text = withPluginConfiguration(readFileSync(SHIPPED_CONFIG, "utf8"), "sitio_web", `{"endpoints": {"max_distinct": "ten"}}`);
    const envoy = await startEnvoy({ name: "config-refused", configText: text, expectStartupFailure: true });
    const log = readFileSync(envoy.logFile, "utf8");
    const line = `sitio: plugin sitio_web: invalid configuration: "endpoints.max_distinct" must be an integer from 1 to 10000, got "ten"`;
    const critical = log.split("\n").filter((l) => l.includes("[critical]") && l.includes("sitio: plugin "));
    expect(critical).toHaveLength(1);
    expect(critical[0]).toContain(`[critical][wasm]`);
    expect(critical[0].endsWith(line)).toBe(true);
    // Envoy's own verdict: the plugin cannot be created, the static config is rejected, the process exits 1.
    expect(log).toContain("Unable to create Wasm plugin sitio_web");
    expect(log).toMatch(/\[critical\]\[main\].*error `Unable to create Wasm plugin sitio_web` initializing config/);
    expect(envoy.exitCode()).toBe(1);
  });
});
