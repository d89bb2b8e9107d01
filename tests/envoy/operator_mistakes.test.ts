// Careless operators in the real Envoy: the shipped envoy.yaml with one
// mistake each. sitio refuses what it can see with one critical log line
// (read here from Envoy's log, exactly), and Envoy then refuses the static
// config and exits. What sitio cannot see (a bootstrap without the
// stats_tags) is shown as Envoy publishes it, and made detectable:
// tests/harness/exposition.ts (also `npm run check:exposition`) flags it.

import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { SHIPPED_CONFIG, startEnvoy } from "../harness/envoy.js";
import { withPluginConfiguration, withPluginName, withoutStatsTags } from "../harness/config_text.js";
import { checkAdminExposition } from "../harness/exposition.js";
import { startOkUpstream } from "../harness/ok_upstream.js";
import { KeepAliveConnection } from "../harness/keepalive.js";

const shipped = () => readFileSync(SHIPPED_CONFIG, "utf8");

/** Starts Envoy on `config`, expects it to exit during start-up; returns sitio's critical lines and the whole log. */
async function refused(name: string, config: string): Promise<{ sitio: string[]; log: string; exitCode: number | null }> {
  const envoy = await startEnvoy({ name, configText: config, expectStartupFailure: true });
  const log = readFileSync(envoy.logFile, "utf8");
  const sitio = log.split("\n").filter((l) => l.includes("[critical]") && l.includes("sitio: "));
  return { sitio, log, exitCode: envoy.exitCode() };
}

/** The log line with Envoy's `[…][pid][level][component] [file:line] ` prefix cut off. */
const message = (line: string) => line.replace(/^\[[^\]]*\]\[\d+\]\[\w+\]\[\w+\] \[[^\]]*\] /, "");

describe("configuration mistakes sitio refuses", () => {
  const cases = [
    {
      mistake: `a plugin name that would inject a label: name: "scr\\"ipt;status=injected"`,
      config: () => withPluginName(shipped(), "sitio_web", 'scr"ipt;status=injected'),
      plugin: 'scr"ipt;status=injected',
      root: "sitio_network",
      line: `sitio: plugin name "scr\\"ipt;status=injected" may hold only letters, digits, '_', '-' and '.' (it becomes the plugin="..." label of every series)`,
    },
    {
      mistake: `"protocol": "foo" in the HTTP filter's configuration`,
      config: () => withPluginConfiguration(shipped(), "sitio_http", `{"protocol": "foo"}`),
      plugin: "sitio_http",
      root: "sitio_http",
      line: `sitio: plugin sitio_http: invalid configuration: "protocol" applies only to the network filter (envoy.filters.network.wasm); the HTTP filter always sees HTTP`,
    },
    {
      mistake: "custom_404 on the Foo listener",
      config: () => withPluginConfiguration(shipped(), "sitio_foo", `{"protocol": "foo", "custom_404": {"body": "<h1>gone</h1>"}}`),
      plugin: "sitio_foo",
      root: "sitio_network",
      line: `sitio: plugin sitio_foo: invalid configuration: "custom_404" does not apply to protocol "foo": it has no 404 responses to replace`,
    },
  ];

  test.each(cases)("$mistake: one critical line from sitio, and Envoy does not start", async ({ mistake, config, plugin, root, line }) => {
    const text = config();
    expect(text).not.toBe(shipped());
    const { sitio, log, exitCode } = await refused("mistake", text);
    console.log(
      `${mistake}\n  sitio:  ${sitio.map(message).join("\n          ")}\n  envoy:  ${log
        .split("\n")
        .filter((l) => /\[critical\]\[main\]/.test(l))
        .map(message)
        .join("\n          ")}`,
    );
    // one line per VM that configured the plugin would be noise: Envoy stops at the first refusal
    expect(sitio).toHaveLength(1);
    expect(sitio[0]).toContain("[critical][wasm]");
    // Envoy's prefix for a module's log line: "wasm log <root_id> <vm_id>: "
    expect(message(sitio[0])).toBe(`wasm log ${root} sitio: ${line}`);
    expect(log).toMatch(
      new RegExp(`\\[critical\\]\\[main\\].*error \`Unable to create Wasm plugin ${plugin.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\` initializing config`),
    );
    expect(exitCode).toBe(1);
  });
});

describe("a sitio filter block copied into a bootstrap without the stats_tags", () => {
  const PATHS = ["/a-b", "/a_b", "/a.b", "/a/b"];
  const COLLAPSED = "sitio_tcp_requests_total_method_GET_endpoint__a_b_plugin_sitio_web";

  test(`${PATHS.join(", ")} collapse into one metric name with ${PATHS.length} # TYPE lines; the exposition check flags it, and the shipped config does not`, async () => {
    const ok = await startOkUpstream();
    const bare = await startEnvoy({ name: "no-stats-tags", configText: withoutStatsTags(shipped()), upstreams: { web_service: ok.port } });
    const tagged = await startEnvoy({ name: "stats-tags", upstreams: { web_service: ok.port } });
    try {
      for (const envoy of [bare, tagged]) {
        const conn = await KeepAliveConnection.open(envoy.port(18000));
        for (const p of PATHS) expect(await conn.get(p)).toBe(200);
        await conn.close();
      }
      await bare.waitForStats((s) => s.filter((x) => x.name === COLLAPSED).length === PATHS.length, `${PATHS.length} lines of ${COLLAPSED}`);
      const page = await (await fetch(`${bare.admin}/stats/prometheus`)).text();
      const lines = page.split("\n").filter((l) => l.startsWith(COLLAPSED) || l === `# TYPE ${COLLAPSED} counter`);
      console.log(`without stats_tags, ${PATHS.join(" ")} on :18000 publish:\n${lines.join("\n")}`);
      expect(lines).toEqual(
        Array(PATHS.length)
          .fill([`# TYPE ${COLLAPSED} counter`, `${COLLAPSED}{} 1`])
          .flat(),
      );

      const check = await checkAdminExposition(bare.admin);
      console.log(
        `exposition check without stats_tags: ${check.untaggedSitio.length} sitio lines without a plugin label; problems:\n${check.problems.slice(0, 5).join("\n")}`,
      );
      // Prometheus keeps one of the four samples of that name and loses the rest
      expect(check.problems.filter((p) => p.endsWith(`: second TYPE line for metric name "${COLLAPSED}"`))).toHaveLength(PATHS.length - 1);
      expect(check.problems.filter((p) => p.endsWith(`: duplicate series ${COLLAPSED}{}`))).toHaveLength(PATHS.length - 1);
      expect(check.untaggedSitio).toContain(`${COLLAPSED}{} 1`);
      // the same traffic through the shipped config: four series of one family, all labelled
      await tagged.waitForStats(
        (s) => PATHS.every((p) => s.some((x) => x.name === "sitio_tcp_requests_total" && x.labels.endpoint === p)),
        "the four endpoints",
      );
      const good = await checkAdminExposition(tagged.admin);
      expect(good.problems).toEqual([]);
      expect(good.untaggedSitio).toEqual([]);
    } finally {
      await bare.stop();
      await tagged.stop();
      await ok.stop();
    }
  });
});
