// The global downstream connection limit of the shipped envoy.yaml
// (overload_manager, envoy.resource_monitors.global_downstream_max_connections):
// Envoy no longer warns at start-up, and past the limit (lowered here) a
// connection is accepted and closed at once, with no byte, counted by
// Envoy's downstream_global_cx_overflow and never seen by sitio.

import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { SHIPPED_CONFIG, startEnvoy } from "../harness/envoy.js";
import { globalConnectionLimit, withGlobalConnectionLimit } from "../harness/config_text.js";
import { startOkUpstream } from "../harness/ok_upstream.js";
import { series, type Sample } from "../harness/prometheus.js";
import { countResponses, rawExchange } from "../harness/traffic.js";
import { KeepAliveConnection } from "../harness/keepalive.js";

const WARNING = "There is no configured limit to the number of allowed active downstream connections";

describe("the shipped limit", () => {
  test("Envoy starts without the no-limit warning", async () => {
    const shipped = readFileSync(SHIPPED_CONFIG, "utf8");
    expect(globalConnectionLimit(shipped)).toBe(10_000);
    const envoy = await startEnvoy({ name: "cx-limit-shipped" });
    try {
      const log = readFileSync(envoy.logFile, "utf8");
      expect(log).toContain("starting main dispatch loop");
      expect(log).not.toContain(WARNING);
    } finally {
      await envoy.stop();
    }
    // the same config without the overload_manager warns (so the check above can fail)
    const bare = await startEnvoy({ name: "cx-limit-none", configText: shipped.replace(/^overload_manager:\n(?: .*\n|\n)*?(?=\S)/m, "") });
    try {
      expect(readFileSync(bare.logFile, "utf8")).toContain(WARNING);
    } finally {
      await bare.stop();
    }
  });
});

describe("past a lowered limit", () => {
  const LIMIT = 3;

  test(`with ${LIMIT} connections open, more are accepted and closed at once, counted by downstream_global_cx_overflow, unseen by sitio; a slot freed is usable again`, async () => {
    // web_service outside Envoy, so that each client connection is the only downstream connection it costs
    const ok = await startOkUpstream();
    const text = withGlobalConnectionLimit(readFileSync(SHIPPED_CONFIG, "utf8"), LIMIT);
    const envoy = await startEnvoy({ name: "cx-limit", configText: text, upstreams: { web_service: ok.port } });
    const port = envoy.port(18000);
    const overflow = (s: Sample[]) => series(s, "envoy_listener_downstream_global_cx_overflow", { envoy_listener_address: `0.0.0.0_${port}` })[0]?.value ?? 0;
    const sitio = (s: Sample[], name: string) => series(s, `sitio_tcp_${name}`, { plugin: "sitio_web" })[0]?.value ?? 0;
    const held: KeepAliveConnection[] = [];
    try {
      for (let i = 0; i < LIMIT; i++) {
        const c = await KeepAliveConnection.open(port);
        expect(await c.get("/")).toBe(200);
        held.push(c);
      }
      // two more: the TCP connect succeeds, then Envoy closes it without a byte
      for (let i = 0; i < 2; i++) {
        const ex = await rawExchange(port, ["GET / HTTP/1.1\r\nHost: sitio.test\r\n\r\n"], { idleMs: 1000 });
        expect(ex.closedByPeer).toBe(true);
        expect(ex.received.length).toBe(0);
      }
      const s = await envoy.waitForStats(
        (x) => overflow(x) === 2 && sitio(x, "connections_total") === LIMIT,
        "2 overflows counted, 3 connections seen by sitio",
      );
      expect(sitio(s, "active_connections")).toBe(LIMIT);
      // the resource monitor counts each refusal as a failed allocation too (its pressure gauge stays 0)
      expect(series(s, "envoy_overload_envoy_resource_monitors_global_downstream_max_connections_failed_updates")[0]?.value).toBe(2);
      console.log(
        `past the limit of ${LIMIT}: ${series(s, "envoy_listener_downstream_global_cx_overflow", { envoy_listener_address: `0.0.0.0_${port}` })[0].line}`,
      );

      // one closes: the next connection is served
      await held.pop()!.close();
      await envoy.waitForStats((x) => sitio(x, "active_connections") === LIMIT - 1, "one connection closed");
      const ex = await rawExchange(port, ["GET / HTTP/1.1\r\nHost: sitio.test\r\n\r\n"], { until: (b) => countResponses(b) === 1 });
      expect(ex.received.toString("latin1")).toMatch(/^HTTP\/1\.1 200 /);
      // the admin listener is not limited
      expect((await fetch(`${envoy.admin}/ready`)).status).toBe(200);
      expect(overflow(await envoy.scrape())).toBe(2);
    } finally {
      for (const c of held) await c.close();
      await envoy.stop();
      await ok.stop();
    }
  });
});
