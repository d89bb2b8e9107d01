// docker-compose.yml, running (started by scripts/test_compose.sh): the container
// Envoy on the host network answers on the shipped fixed ports, and sitio inside
// it counts exactly the traffic sent. The container is fresh, so counts are absolute.

import { beforeAll, describe, expect, test } from "vitest";
import { Agent } from "node:http";
import { readFileSync } from "node:fs";
import { SHIPPED_CONFIG } from "../harness/envoy.js";
import { scrape, value, type Sample } from "../harness/prometheus.js";
import { pollStats, waitReady } from "../harness/stats_poll.js";
import { countResponses, httpRequest, rawExchange } from "../harness/traffic.js";

const ADMIN = "http://127.0.0.1:8001";
const WEB = 18000;
const shipped = readFileSync(SHIPPED_CONFIG, "utf8");

const web = (s: Sample[], name: string, labels: Record<string, string> = {}) => value(s, name, { ...labels, plugin: "sitio_web" }) ?? 0;

beforeAll(async () => {
  await waitReady(ADMIN);
});

describe("docker-compose up", () => {
  test("the Envoy on :8001 is the container's (started with --base-id 18000)", async () => {
    const info = (await (await fetch(`${ADMIN}/server_info`)).json()) as { version: string; command_line_options: { base_id: string | number } };
    expect(Number(info.command_line_options.base_id)).toBe(18000);
    expect(info.version).toContain("1.40.0");
  });

  test(":18000 → sitio_web: 3 × GET / and 2 × GET /missing on one keep-alive connection, then one raw request", async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    for (let i = 0; i < 3; i++) {
      const r = await httpRequest(WEB, "/", { agent });
      expect([r.status, r.body]).toEqual([200, "example body\n"]);
    }
    for (let i = 0; i < 2; i++) expect((await httpRequest(WEB, "/missing", { agent })).status).toBe(404);
    agent.destroy();
    await pollStats(ADMIN, (s) => web(s, "sitio_tcp_connections_total") === 1 && web(s, "sitio_tcp_active_connections") === 0, "the keep-alive connection closed");

    const before = await scrape(ADMIN);
    const sent = "GET /raw?x=1 HTTP/1.1\r\nHost: compose.test\r\nConnection: close\r\n\r\n";
    const ex = await rawExchange(WEB, [sent]);
    expect(countResponses(ex.received)).toBe(1);
    const after = await pollStats(ADMIN, (s) => web(s, "sitio_tcp_connections_total") === 2 && web(s, "sitio_tcp_active_connections") === 0, "the raw connection closed");

    expect(web(after, "sitio_tcp_requests_total", { method: "GET", endpoint: "/" })).toBe(3);
    expect(web(after, "sitio_tcp_requests_total", { method: "GET", endpoint: "/missing" })).toBe(2);
    expect(web(after, "sitio_tcp_requests_total", { method: "GET", endpoint: "/raw" })).toBe(1);
    expect(web(after, "sitio_tcp_rx_bytes_total") - web(before, "sitio_tcp_rx_bytes_total")).toBe(sent.length);
    expect(web(after, "sitio_tcp_tx_bytes_total") - web(before, "sitio_tcp_tx_bytes_total")).toBe(ex.received.length);
    expect(web(after, "sitio_tcp_unparsed_bytes_total")).toBe(0);
  });
});
