// sitio fetched over HTTP by the real Envoy: `vm_config.code.remote: { http_uri, sha256 }`,
// as a control plane serves it to a fleet (Envoy Gateway does exactly this; Istio's agent
// turns its fetch into a local file first). The config is the shipped envoy.yaml with each
// sitio block's `local:` replaced by the `remote:` block docs/mesh.md ships
// (harness/remote_wasm.ts), and a cluster for a test HTTP server that serves build/sitio.wasm.
//
// What Envoy 1.40 does, asserted here:
// - right sha256: it fetches once per sitio block before the listeners start, and sitio counts;
// - wrong sha256 at start-up: each fetch "succeeds", the bytes are judged invalid, the fetch is
//   retried (retry_policy), then "Retry limit exceeded"; Envoy still starts, and with the
//   shipped FAIL_OPEN the listeners pass traffic without sitio (no sitio series at all);
// - wrong sha256 in an LDS update: the update is accepted (not rejected); while the new filter
//   chains warm (the retries), the old ones keep serving and counting; then the new chains take
//   over WITHOUT sitio: new connections pass uncounted. Only a later update with the right
//   sha256 brings sitio back (counting on from the previous values).

import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { SHIPPED_CONFIG, WASM, startEnvoy, type Envoy } from "../harness/envoy.js";
import { startEnvoyWithLds, type LdsEnvoy } from "../harness/lds.js";
import { KeepAliveConnection } from "../harness/keepalive.js";
import { value, type Sample } from "../harness/prometheus.js";
import { localCodeBlocks, sha256Hex, startWasmServer, withRemoteCode, withServerCluster, type WasmServer } from "../harness/remote_wasm.js";

const SHIPPED = readFileSync(SHIPPED_CONFIG, "utf8");
const BLOCKS = localCodeBlocks(SHIPPED);
const RIGHT = sha256Hex(readFileSync(WASM));
/** A well-formed sha256 that is not sitio's: of other bytes. */
const WRONG = sha256Hex(Buffer.from("not sitio.wasm"));
// config:debug shows the fetcher's own verdict ("data is invalid"); the harness default is wasm:debug only.
const LOG_ARGS = ["--component-log-level", "wasm:debug,config:debug"];

const webRequests = (s: Sample[]) => value(s, "sitio_tcp_requests_total", { method: "GET", endpoint: "/", plugin: "sitio_web" }) ?? 0;
const stat = (s: Sample[], name: string) => s.filter((x) => x.name === name).reduce((t, x) => t + x.value, 0);

/** One GET of "/" on a new connection (a new connection gets the listener's newest filter chain). */
async function getOnNewConnection(port: number, path = "/"): Promise<number> {
  const c = await KeepAliveConnection.open(port);
  try {
    return await c.get(path);
  } finally {
    await c.close();
  }
}

/** Lines of Envoy's log containing `text`, with the timestamp and thread cut off. */
function logLines(envoy: Envoy, text: string): string[] {
  return readFileSync(envoy.logFile, "utf8")
    .split("\n")
    .filter((l) => l.includes(text))
    .map((l) => l.replace(/^\[[^\]]*\]\[\d+\]/, ""));
}

function remoteConfig(server: WasmServer, sha256: string): string {
  return withServerCluster(withRemoteCode(SHIPPED, { uri: server.uri, sha256 }), server.port);
}

let server: WasmServer;
beforeAll(async () => {
  server = await startWasmServer(WASM);
});
afterAll(async () => server?.close());

describe("remote fetch at start-up", () => {
  test(`the right sha256: one fetch per sitio block (${BLOCKS}) before the listeners start, then sitio counts at L4 and L7`, async () => {
    expect(BLOCKS).toBeGreaterThanOrEqual(2);
    const from = server.fetches.length;
    const envoy = await startEnvoy({ name: "remote-right", configText: remoteConfig(server, RIGHT), ports: { [server.port]: server.port }, logArgs: LOG_ARGS });
    try {
      expect(server.fetches.slice(from)).toEqual(Array(BLOCKS).fill("/sitio.wasm"));
      expect(readFileSync(envoy.configFile, "utf8")).not.toMatch(/filename: \S*sitio\.wasm/);
      for (let i = 0; i < 3; i++) expect(await getOnNewConnection(envoy.port(18000))).toBe(200);
      expect(await getOnNewConnection(envoy.port(18080), "/api/x")).toBe(404);
      // (a path answered 404 counts under other: no evidence lets it in)
      const s = await envoy.waitForStats(
        (x) =>
          webRequests(x) === 3 &&
          (value(x, "sitio_tcp_connections_total", { plugin: "sitio_web" }) ?? 0) === 3 &&
          (value(x, "sitio_http_requests_total", { plugin: "sitio_http", endpoint: "other", status: "404", method: "GET" }) ?? 0) === 1,
        "3 L4 and 1 L7 request counted",
      );
      expect(value(s, "sitio_tcp_connections_total", { plugin: "sitio_web" })).toBe(3);
      expect(value(s, "sitio_http_custom_404_total", { plugin: "sitio_http" })).toBe(1);
      // The Foo plugin is configured too: its series exist.
      expect(value(s, "sitio_tcp_connections_total", { plugin: "sitio_foo" })).toBe(0);
      expect(stat(s, "envoy_wasm_remote_load_fetch_successes")).toBe(BLOCKS);
      expect(stat(s, "envoy_wasm_remote_load_fetch_failures")).toBe(0);
      expect(logLines(envoy, "data is invalid")).toEqual([]);
    } finally {
      await envoy.stop();
    }
  });

  test("a wrong sha256: every fetch is judged invalid and retried, Envoy starts anyway, and the listeners pass traffic without sitio (FAIL_OPEN)", async () => {
    const from = server.fetches.length;
    const envoy = await startEnvoy({ name: "remote-wrong", configText: remoteConfig(server, WRONG), ports: { [server.port]: server.port }, logArgs: LOG_ARGS });
    try {
      // Ready means the init manager gave up on the fetches: retry_policy num_retries 3 → 4 tries per block.
      expect(server.fetches.length - from).toBe(BLOCKS * 4);
      const invalid = logLines(envoy, "data is invalid");
      expect(invalid.length).toBe(BLOCKS * 4);
      expect(invalid[0]).toBe(`[debug][config] [source/common/config/remote_data_fetcher.cc:58] fetch remote data [uri = ${server.uri}]: data is invalid`);
      expect(logLines(envoy, "Retry limit exceeded")).toEqual(
        Array(BLOCKS).fill(
          "[warning][config] [./source/extensions/common/wasm/remote_async_datasource.h:52] Retry limit exceeded for fetching data from remote data source.",
        ),
      );
      for (const plugin of ["sitio_web", "sitio_foo", "sitio_http"])
        expect(logLines(envoy, `Plugin ${plugin} failed to load`).length, plugin).toBeGreaterThan(0);
      console.log(
        `wrong sha256 at start-up, Envoy's lines:\n  ${invalid[0]}\n  ${logLines(envoy, "Retry limit exceeded")[0]}\n  ${logLines(envoy, "Plugin sitio_web failed to load").at(-1)}`,
      );

      expect((await fetch(`${envoy.admin}/ready`)).status).toBe(200);
      for (let i = 0; i < 3; i++) expect(await getOnNewConnection(envoy.port(18000))).toBe(200);
      // No custom page either: the L7 404 is Envoy's own.
      expect(await getOnNewConnection(envoy.port(18080), "/nothing")).toBe(404);
      const s = await envoy.scrape();
      expect(s.filter((x) => x.name.startsWith("sitio_")).map((x) => x.line)).toEqual([]);
      expect(stat(s, "envoy_wasm_remote_load_fetch_failures")).toBe(BLOCKS);
      expect(stat(s, "envoy_wasm_remote_load_fetch_successes")).toBe(0);
    } finally {
      await envoy.stop();
    }
  });
});

describe("remote fetch through LDS", () => {
  let lds: LdsEnvoy;
  let port: number;
  beforeAll(async () => {
    lds = await startEnvoyWithLds("remote-lds", {
      edit: (l) => withRemoteCode(l, { uri: server.uri, sha256: RIGHT }),
      bootstrap: (b) => withServerCluster(b, server.port),
      ports: { [server.port]: server.port },
    });
    port = lds.envoy.port(18000);
  });
  afterAll(async () => lds?.envoy.stop());

  test("an update with a wrong sha256 is accepted; the old filter counts while the new chains warm, then new connections pass without sitio; the right sha256 brings it back", async () => {
    const envoy = lds.envoy;
    for (let i = 0; i < 2; i++) expect(await getOnNewConnection(port)).toBe(200);
    let s = await envoy.waitForStats((x) => webRequests(x) === 2, "2 requests before the update");
    const success = stat(s, "envoy_listener_manager_lds_update_success");
    const logBefore = logLines(envoy, "Retry limit exceeded").length;

    lds.update((l) => withRemoteCode(l, { uri: server.uri, sha256: WRONG }));
    s = await envoy.waitForStats((x) => stat(x, "envoy_listener_manager_lds_update_success") === success + 1, "the LDS update accepted");
    expect(stat(s, "envoy_listener_manager_lds_update_rejected")).toBe(0);
    // While the fetches are retried, the listeners with the new chains are warming and the old chains serve.
    // (4 tries with back-off take seconds: the warming is still on when the update is seen.)
    expect(stat(s, "envoy_listener_manager_total_listeners_warming")).toBe(BLOCKS);
    expect(await getOnNewConnection(port)).toBe(200);
    s = await envoy.waitForStats((x) => webRequests(x) === 3, "a request during warming counted by the old chain");
    expect(stat(s, "envoy_listener_manager_total_listeners_warming")).toBe(BLOCKS);
    s = await envoy.waitForStats(
      (x) => stat(x, "envoy_listener_manager_total_listeners_warming") === 0 && stat(x, "envoy_wasm_remote_load_fetch_failures") === BLOCKS,
      "the fetches given up, warming over",
      30_000,
    );
    expect(logLines(envoy, "Retry limit exceeded").length - logBefore).toBe(BLOCKS);
    expect(stat(s, "envoy_listener_manager_listener_in_place_updated")).toBe(BLOCKS);

    for (let i = 0; i < 3; i++) expect(await getOnNewConnection(port)).toBe(200);
    await new Promise((ok) => setTimeout(ok, 300));
    s = await envoy.scrape();
    expect(webRequests(s)).toBe(3);
    console.log(
      `LDS update with a wrong sha256: accepted (lds_update_success ${success} → ${success + 1}, rejected 0); ${BLOCKS} listeners warming while the fetches were retried, a request then counted by the old chain; afterwards 3/3 new connections answered 200, uncounted`,
    );

    lds.update((l) => withRemoteCode(l, { uri: server.uri, sha256: RIGHT }));
    await envoy.waitForStats(
      (x) => stat(x, "envoy_listener_manager_lds_update_success") === success + 2 && stat(x, "envoy_listener_manager_total_listeners_warming") === 0,
      "the update with the right sha256 active",
    );
    for (let i = 0; i < 4; i++) expect(await getOnNewConnection(port)).toBe(200);
    s = await envoy.waitForStats((x) => webRequests(x) === 3 + 4, "counting again, from the previous value");
    expect(webRequests(s)).toBe(3 + 4);
  });
});

describe("the remote block docs/mesh.md ships", () => {
  test("is the one this test runs", async () => {
    const { remoteBlock } = await import("../harness/remote_wasm.js");
    const doc = readFileSync(new URL("../../docs/mesh.md", import.meta.url), "utf8");
    const example = remoteBlock({ uri: "http://wasm.internal:8080/sitio.wasm", sha256: "<sha256 of sitio.wasm: sha256sum build/sitio.wasm>" }, "  ");
    expect(doc).toContain("code:\n  " + example + "\n");
  });
});
