// docker-compose.yml's wiring, read as a file (npm run test:compose runs the default services
// for real and `docker-compose --profile grafana config -q` on the whole file). The `grafana`
// profile cannot run here (no Grafana image or binary on this machine), so it is checked by
// construction: Grafana's provisioning files point at the profile's Prometheus and at the
// path where the compose file mounts envoy/sitio-dashboard.json, and that Prometheus scrapes
// the admin port of envoy/envoy.yaml.

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { parse } from "yaml";
import { ROOT } from "../harness/envoy.js";

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML, read field by field
type Obj = Record<string, any>;

const compose = parse(readFileSync(join(ROOT, "docker-compose.yml"), "utf8")) as Obj;
const services = compose.services as Record<string, Obj>;
const yamlFile = (rel: string) => parse(readFileSync(join(ROOT, rel), "utf8")) as Obj;

/** A service's bind mounts: container path → { host path (repository-relative), read-only }. */
function binds(service: string): Map<string, { host: string; ro: boolean }> {
  const out = new Map<string, { host: string; ro: boolean }>();
  for (const v of services[service].volumes ?? []) {
    const [host, container, mode] = String(v).split(":");
    if (host.startsWith("./")) out.set(container, { host: host.slice(2), ro: mode === "ro" });
  }
  return out;
}
/** The value of a `--flag=value` in a service's command. */
const flag = (service: string, name: string) => (services[service].command as string[]).find((a) => a.startsWith(`--${name}=`))?.split("=")[1];

describe("docker-compose.yml", () => {
  test("every service on the host network, no Docker networks, no published ports", () => {
    for (const [name, s] of Object.entries(services)) {
      expect(s.network_mode, name).toBe("host");
      expect(s.networks, name).toBeUndefined();
      expect(s.ports, name).toBeUndefined();
    }
    expect(compose.networks).toBeUndefined();
  });

  test("every bind-mounted path exists in the repository", () => {
    for (const name of Object.keys(services))
      for (const { host } of binds(name).values()) expect(existsSync(join(ROOT, host)), `${name}: ./${host}`).toBe(true);
  });

  test("the build service writes only to volumes: every bind mount read-only; Envoy, the Foo server and the gRPC server wait for it to succeed", () => {
    for (const [container, { ro }] of binds("build")) expect(ro, container).toBe(true);
    expect(services.build.command).toEqual(["node", "scripts/prepare.mjs"]);
    for (const name of ["envoy", "foo", "grpc"]) expect(services[name].depends_on, name).toEqual({ build: { condition: "service_completed_successfully" } });
    // Envoy reads build/ from the build service's volume, beside envoy/ (envoy.yaml says build/sitio.wasm).
    const wasmVolume = (services.build.volumes as string[]).find((v) => v.endsWith(":/srv/sitio/build"))!.split(":")[0];
    expect(services.envoy.volumes).toContain(`${wasmVolume}:${services.envoy.working_dir}/build:ro`);
    expect(binds("envoy").get(`${services.envoy.working_dir}/envoy`)?.host).toBe("envoy");
  });

  test("the default services use the images the compose test has stand-ins for; the grafana profile's are the only others", () => {
    const byProfile = Object.entries(services).map(([name, s]) => [name, s.profiles ?? [], s.image]);
    // biome-ignore-start lint/suspicious/noTemplateCurlyInString: docker-compose's own ${VAR:-default}, as docker-compose.yml writes it
    expect(byProfile).toEqual([
      ["build", [], "${NODE_IMAGE:-node:20-slim}"],
      ["envoy", [], "${ENVOY_IMAGE:-envoyproxy/envoy:v1.40.0}"],
      ["foo", [], "${NODE_IMAGE:-node:20-slim}"],
      ["grpc", [], "${NODE_IMAGE:-node:20-slim}"],
      ["prometheus", ["grafana"], expect.stringMatching(/^\$\{PROMETHEUS_IMAGE:-prom\/prometheus:v\d+\.\d+\.\d+\}$/)],
      ["grafana", ["grafana"], expect.stringMatching(/^\$\{GRAFANA_IMAGE:-grafana\/grafana:\d+\.\d+\.\d+\}$/)],
    ]);
    // biome-ignore-end lint/suspicious/noTemplateCurlyInString: end of the compose expressions
  });

  test("the gRPC server container listens where envoy.yaml's grpc_service cluster points, and has the proto its server loads", () => {
    const cluster = /- name: grpc_service\n[\s\S]*?socket_address: \{ address: [^,]+, port_value: (\d+) \}/.exec(
      readFileSync(join(ROOT, "envoy/envoy.yaml"), "utf8"),
    )![1];
    const command = services.grpc.command as string[];
    expect(command.slice(0, 4)).toEqual(["node", "--import", "tsx", "scripts/grpc_server.ts"]);
    expect(command[command.indexOf("--port") + 1]).toBe(cluster);
    // tests/harness/grpc_server.ts reads ../../envoy/grpc/example.proto
    expect(binds("grpc").get(`${services.grpc.working_dir}/envoy/grpc`)).toEqual({ host: "envoy/grpc", ro: true });
    expect(binds("grpc").get(`${services.grpc.working_dir}/tests/harness`)).toEqual({ host: "tests/harness", ro: true });
  });
});

describe("the grafana profile, by construction", () => {
  test("Prometheus runs envoy/prometheus.yml, which scrapes the admin port of envoy/envoy.yaml", () => {
    const config = flag("prometheus", "config.file")!;
    expect(binds("prometheus").get(config)).toEqual({ host: "envoy/prometheus.yml", ro: true });
    const scrape = yamlFile("envoy/prometheus.yml").scrape_configs[0];
    expect(scrape.metrics_path).toBe("/stats/prometheus");
    const admin = /admin:\s*\n\s*address:\s*\n\s*socket_address: \{ address: [^,]+, port_value: (\d+) \}/.exec(
      readFileSync(join(ROOT, "envoy/envoy.yaml"), "utf8"),
    )![1];
    expect(scrape.static_configs[0].targets).toEqual([`127.0.0.1:${admin}`]);
  });

  test("Grafana's data source is that Prometheus, the default one, which the dashboard's datasource variable picks", () => {
    const mounted = binds("grafana");
    expect(mounted.get("/etc/grafana/provisioning/datasources")).toEqual({ host: "envoy/grafana/provisioning/datasources", ro: true });
    const ds = yamlFile("envoy/grafana/provisioning/datasources/sitio.yaml");
    expect(ds.apiVersion).toBe(1);
    expect(ds.datasources).toHaveLength(1);
    const [source] = ds.datasources;
    expect(source).toMatchObject({ type: "prometheus", access: "proxy", isDefault: true });
    expect(source.url).toBe(`http://127.0.0.1${flag("prometheus", "web.listen-address")}`);
    expect(services.grafana.depends_on).toEqual(["prometheus"]);

    const dashboard = JSON.parse(readFileSync(join(ROOT, "envoy/sitio-dashboard.json"), "utf8"));
    const variable = dashboard.templating.list.find((v: Obj) => v.type === "datasource");
    expect(variable).toMatchObject({ name: "datasource", query: source.type });
    expect(dashboard.__inputs).toBeUndefined(); // an exported dashboard's ${DS_...} inputs are not filled in by provisioning
    const uids = new Set<string>();
    const visit = (n: unknown): void => {
      if (Array.isArray(n)) {
        n.forEach(visit);
        return;
      }
      if (n && typeof n === "object") {
        const o = n as Obj;
        if (o.datasource && typeof o.datasource === "object") uids.add(o.datasource.uid);
        Object.values(o).forEach(visit);
      }
    };
    visit(dashboard.panels);
    expect([...uids]).toEqual([`\${${variable.name}}`]);
  });

  test("Grafana's dashboard provider reads the folder where the compose file mounts envoy/sitio-dashboard.json", () => {
    const mounted = binds("grafana");
    expect(mounted.get("/etc/grafana/provisioning/dashboards")).toEqual({ host: "envoy/grafana/provisioning/dashboards", ro: true });
    const providers = yamlFile("envoy/grafana/provisioning/dashboards/sitio.yaml");
    expect(providers.apiVersion).toBe(1);
    const [provider] = providers.providers;
    expect(provider.type).toBe("file");
    const dashboards = [...mounted].filter(([container]) => container.startsWith(provider.options.path + "/"));
    expect(dashboards).toEqual([[`${provider.options.path}/sitio-dashboard.json`, { host: "envoy/sitio-dashboard.json", ro: true }]]);
  });
});
