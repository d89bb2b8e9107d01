// Faults: configuration reloads and VM failures in the real Envoy.
//
// Envoy keeps sitio's metrics on the host side, so they outlive any VM. Here:
// - the shipped listeners served through file-based LDS: a changed plugin
//   configuration (a new root context) and a changed vm_config (a new VM)
//   keep counting from the previous values; an invalid plugin configuration
//   is refused with a clear log line and the previous one keeps serving;
// - a VM that traps (a TEST-ONLY build, tests/wasm/crash_on_size.ts, traps on
//   a downstream read of exactly 7777 bytes): with the shipped FAIL_OPEN,
//   traffic keeps flowing and the counters keep their values; with
//   FAIL_RELOAD, a new VM counts on from the previous values.

import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { ROOT, SHIPPED_CONFIG, startEnvoy, sleep, type Envoy } from "../harness/envoy.js";
import { startEnvoyWithLds, type LdsEnvoy } from "../harness/lds.js";
import { value, type Sample } from "../harness/prometheus.js";
import { KeepAliveConnection } from "../harness/keepalive.js";
import { openSocket } from "../harness/traffic.js";

const PLUGIN = "sitio_web";
const CRASH_WASM = join(ROOT, "build/test/sitio-crash-on-size.wasm");
const CRASH_SIZE = 7777;

const tcp = (s: Sample[], name: string) => value(s, `sitio_tcp_${name}`, { plugin: PLUGIN }) ?? 0;
const requests = (s: Sample[], endpoint: string) => value(s, "sitio_tcp_requests_total", { method: "GET", endpoint, plugin: PLUGIN }) ?? 0;

/** `n` GETs of `path`, one connection each (new connections see the newest listener config). */
async function getOnNewConnections(port: number, path: string, n: number): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = await KeepAliveConnection.open(port);
    statuses.push(await c.get(path));
    await c.close();
  }
  return statuses;
}

/** The sitio_web plugin's JSON settings line in the shipped envoy.yaml. */
const SHIPPED_SETTINGS = /"endpoints": \{ "max_distinct": 100, "collapse": \["numbers", "uuids"\] \}/;

/** The listeners with sitio_web's settings line replaced by `settings`. */
function withSettings(listeners: string, settings: string): string {
  if (!SHIPPED_SETTINGS.test(listeners)) throw new Error("the sitio_web settings line of envoy.yaml changed; update SHIPPED_SETTINGS");
  return listeners.replace(SHIPPED_SETTINGS, settings);
}

describe("reloads through LDS: counters continue, invalid configurations are refused", () => {
  let lds: LdsEnvoy;
  let port: number;
  beforeAll(async () => {
    lds = await startEnvoyWithLds("faults-lds");
    port = lds.envoy.port(18000);
    await lds.envoy.waitForStats((s) => (value(s, "envoy_listener_manager_total_listeners_active") ?? 0) >= 1, "LDS listeners active");
  });
  afterAll(async () => lds?.envoy.stop());

  async function reloadAndWait(edit: (l: string) => string, outcome: "success" | "rejected"): Promise<void> {
    const stat = `envoy_listener_manager_lds_update_${outcome}`;
    const before = await lds.envoyStat(stat);
    lds.update(edit);
    await lds.envoy.waitForStats((s) => s.filter((x) => x.name === stat).reduce((t, x) => t + x.value, 0) === before + 1, `LDS update ${outcome}`);
  }

  test("a changed plugin configuration (a new root context) and a changed vm_config (a new VM) count on from the previous values", async () => {
    const envoy = lds.envoy;
    expect(await getOnNewConnections(port, "/", 5)).toEqual([200, 200, 200, 200, 200]);
    let s = await envoy.waitForStats((x) => requests(x, "/") === 5 && tcp(x, "active_connections") === 0, "5 requests before any reload");

    // 1. new plugin configuration, same VM
    await reloadAndWait((l) => withSettings(l, `"endpoints": { "max_distinct": 50, "collapse": ["numbers"] }`), "success");
    await getOnNewConnections(port, "/", 5);
    s = await envoy.waitForStats(
      (x) => requests(x, "/") >= 10 && tcp(x, "active_connections") === 0 && tcp(x, "connections_total") >= 10,
      "10 requests after the plugin reload",
    );
    expect(requests(s, "/")).toBe(10);
    expect(tcp(s, "connections_total")).toBe(10);

    // 2. new vm_config: a different vm_id means a new VM (Envoy logs "Base Wasm created" for each)
    const baseVms = () => (readFileSync(envoy.logFile, "utf8").match(/Base Wasm created/g) ?? []).length;
    const vmsBefore = baseVms();
    await reloadAndWait((l) => l.replace("vm_id: sitio\n", "vm_id: sitio_reloaded\n"), "success"); // the first: sitio_web's
    await getOnNewConnections(port, "/", 5);
    s = await envoy.waitForStats(
      (x) => requests(x, "/") >= 15 && tcp(x, "active_connections") === 0 && tcp(x, "connections_total") >= 15,
      "15 requests after the VM reload",
    );
    expect(requests(s, "/")).toBe(15);
    expect(tcp(s, "connections_total")).toBe(15);
    expect(baseVms()).toBeGreaterThan(vmsBefore);
  });

  test("an invalid plugin configuration on reload is refused with a clear message; the previous configuration keeps serving", async () => {
    const envoy = lds.envoy;
    const before = await envoy.scrape();
    await reloadAndWait((l) => withSettings(l, `"endpoints": { "max_distinct": "ten" }`), "rejected");
    await envoy.waitForStats(() => /sitio: plugin sitio_web: invalid configuration: /.test(readFileSync(envoy.logFile, "utf8")), "the refusal in Envoy's log");
    const line = readFileSync(envoy.logFile, "utf8")
      .split("\n")
      .find((l) => l.includes("sitio: plugin sitio_web: invalid configuration: "));
    console.log(`refused: ${line?.replace(/^.*?(sitio: plugin)/, "$1")}`);
    expect(await getOnNewConnections(port, "/", 4)).toEqual([200, 200, 200, 200]);
    const after = await envoy.waitForStats(
      (x) => requests(x, "/") >= requests(before, "/") + 4 && tcp(x, "active_connections") === 0,
      "4 more requests on the previous configuration",
    );
    expect(requests(after, "/") - requests(before, "/")).toBe(4);
    expect((await fetch(`${envoy.admin}/ready`)).status).toBe(200);
  });
});

// One worker here: a VM fails per worker, and with one the test knows every
// later connection meets the failed (or reloaded) VM.
describe("VM failure (test-only module that traps on a 7777-byte read)", () => {
  beforeAll(() => {
    execFileSync(join(ROOT, "node_modules/.bin/asc"), ["tests/wasm/crash_on_size.ts", "--config", "tests/wasm/asconfig.json", "-o", CRASH_WASM], {
      cwd: ROOT,
      stdio: "pipe",
    });
    // the test module is sitio with the same surface, nothing more
    const exportsOf = (file: string) =>
      WebAssembly.Module.exports(new WebAssembly.Module(readFileSync(file)))
        .map((e) => e.name)
        .sort();
    expect(exportsOf(CRASH_WASM)).toEqual(exportsOf(join(ROOT, "build/sitio.wasm")));
  });

  /** The shipped config with the test module (and, optionally, another failure policy). */
  function crashConfig(policy?: string): string {
    let text = readFileSync(SHIPPED_CONFIG, "utf8").replace(/filename: build\/sitio\.wasm/g, `filename: ${CRASH_WASM}`);
    if (policy) text = text.replace(/failure_policy: FAIL_OPEN/g, `failure_policy: ${policy}`);
    return text;
  }

  /** Sends one 7777-byte read (a request with padding) and waits until Envoy has the connection closed. */
  async function crash(envoy: Envoy, port: number): Promise<void> {
    const head = "GET /crash HTTP/1.1\r\nHost: sitio.test\r\nX-Pad: ";
    const payload = head + "p".repeat(CRASH_SIZE - head.length - 4) + "\r\n\r\n";
    expect(payload.length).toBe(CRASH_SIZE);
    const sock = await openSocket(port);
    sock.on("error", () => {});
    sock.resume();
    await new Promise<void>((ok) => {
      sock.once("close", () => ok());
      sock.write(payload);
      setTimeout(() => sock.end(), 500).unref();
    });
    await envoy.waitForStats(
      () => /wasm|Wasm|VM/.test(envoy.logTail(200)) && /(unreachable|crash|failed|abort)/i.test(envoy.logTail(200)),
      "the VM failure in Envoy's log",
    );
  }

  test("FAIL_OPEN (shipped): after the VM fails, traffic keeps flowing and sitio's counters keep their values", async () => {
    const envoy = await startEnvoy({ name: "faults-fail-open", configText: crashConfig(), workers: 1 });
    try {
      const port = envoy.port(18000);
      expect(await getOnNewConnections(port, "/", 3)).toEqual([200, 200, 200]);
      const before = await envoy.waitForStats(
        (x) => requests(x, "/") === 3 && tcp(x, "active_connections") === 0 && tcp(x, "connections_total") === 3,
        "3 requests before the crash",
      );
      await crash(envoy, port);
      // traffic flows without sitio
      expect(await getOnNewConnections(port, "/", 5)).toEqual([200, 200, 200, 200, 200]);
      await sleep(300);
      const after = await envoy.settle();
      expect(requests(after, "/")).toBe(3);
      // the crashed connection was counted in the VM, to be published at the next tick, which never came
      expect(tcp(after, "connections_total")).toBe(tcp(before, "connections_total"));
      expect((await fetch(`${envoy.admin}/ready`)).status).toBe(200);
      console.log(
        `FAIL_OPEN: after the crash 5/5 requests answered 200; sitio_tcp_requests_total{GET /} stays ${requests(after, "/")}, connections_total ${tcp(after, "connections_total")}, active ${tcp(after, "active_connections")}`,
      );
    } finally {
      await envoy.stop();
    }
  });

  test("FAIL_CLOSED (not shipped): after the VM fails, new connections are refused; the counters keep their values", async () => {
    const envoy = await startEnvoy({ name: "faults-fail-closed", configText: crashConfig("FAIL_CLOSED"), workers: 1 });
    try {
      const port = envoy.port(18000);
      expect(await getOnNewConnections(port, "/", 3)).toEqual([200, 200, 200]);
      await envoy.waitForStats((x) => requests(x, "/") === 3 && tcp(x, "active_connections") === 0, "3 requests before the crash");
      await crash(envoy, port);
      const statuses = await Promise.all(
        [1, 2, 3].map(() =>
          getOnNewConnections(port, "/", 1).then(
            ([st]) => st,
            () => 0,
          ),
        ),
      );
      expect(statuses).toEqual([0, 0, 0]);
      expect(requests(await envoy.scrape(), "/")).toBe(3);
      expect((await fetch(`${envoy.admin}/ready`)).status).toBe(200);
    } finally {
      await envoy.stop();
    }
  });

  test("FAIL_RELOAD: a new VM counts on from the previous values", async () => {
    const envoy = await startEnvoy({ name: "faults-fail-reload", configText: crashConfig("FAIL_RELOAD"), workers: 1 });
    try {
      const port = envoy.port(18000);
      expect(await getOnNewConnections(port, "/", 3)).toEqual([200, 200, 200]);
      await envoy.waitForStats((x) => requests(x, "/") === 3 && tcp(x, "active_connections") === 0, "3 requests before the crash");
      await crash(envoy, port);
      // probe with new connections until a new VM counts again (the reload backs off from 1 s)
      let probes = 0;
      const statuses = new Map<number, number>();
      for (;;) {
        const [status] = await getOnNewConnections(port, "/", 1).catch(() => [0]);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        probes++;
        if (requests(await envoy.scrape(), "/") > 3) break;
        if (probes > 100) throw new Error(`no VM reload after 100 probes\n${envoy.logTail()}`);
        await sleep(100);
      }
      const counted = requests(await envoy.scrape(), "/");
      expect(await getOnNewConnections(port, "/", 4)).toEqual([200, 200, 200, 200]);
      const after = await envoy.waitForStats((x) => requests(x, "/") >= counted + 4, `${counted + 4} requests on / in all`);
      expect(requests(after, "/")).toBe(counted + 4);
      console.log(
        `FAIL_RELOAD: ${probes} probe connection(s) until the new VM counted (statuses ${JSON.stringify(Object.fromEntries(statuses))}); GET / continued 3 → ${requests(after, "/")}; active gauge ${tcp(after, "active_connections")}`,
      );
    } finally {
      await envoy.stop();
    }
  });
});
