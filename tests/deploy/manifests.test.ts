// The mesh manifests in deploy/ (docs/mesh.md): each is valid against the published CRD of its
// kind (vendored in tests/fixtures/crds/, checked by harness/crd_schema.ts the way the API
// server checks on `kubectl apply`), carries exactly the settings of the matching sitio block
// of envoy/envoy.yaml, and names the image `npm run image` builds. The EnvoyFilter's Envoy
// config, which its CRD leaves unchecked, is run through `envoy --mode validate`.

import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { parse, stringify } from "yaml";
import { ROOT, SHIPPED_CONFIG, WASM, envoyBinary } from "../harness/envoy.js";
import { loadCrd, loadYamlDocuments, validateResource } from "../harness/crd_schema.js";

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML, read field by field
type Obj = Record<string, any>;

const CRDS = [
  "istio/wasmplugins.extensions.istio.io.yaml",
  "istio/envoyfilters.networking.istio.io.yaml",
  "envoy-gateway/gateway.envoyproxy.io_envoyextensionpolicies.yaml",
].map((f) => loadCrd(join(ROOT, "tests/fixtures/crds", f)));
const WASM_PLUGIN = join(ROOT, "deploy/istio/wasmplugin-http.yaml");
const ENVOY_FILTER = join(ROOT, "deploy/istio/envoyfilter-network.yaml");
const EXTENSION_POLICY = join(ROOT, "deploy/envoy-gateway/envoyextensionpolicy.yaml");
const one = (file: string): Obj => {
  const docs = loadYamlDocuments(file);
  expect(docs.length, file).toBe(1);
  return docs[0];
};
const copy = <T>(x: T): T => structuredClone(x);

/** The sitio blocks of the shipped envoy.yaml: plugin name → its PluginConfig (configuration parsed). */
function shippedBlocks(): Map<string, Obj> {
  const blocks = new Map<string, Obj>();
  const visit = (n: unknown): void => {
    if (Array.isArray(n)) {
      n.forEach(visit);
      return;
    }
    if (n && typeof n === "object") {
      const o = n as Obj;
      if (typeof o.name === "string" && /^envoy\.filters\.(network|http)\.wasm$/.test(o.name)) {
        const config = o.typed_config.config as Obj;
        blocks.set(config.name, { ...config, settings: JSON.parse(config.configuration.value) });
      }
      Object.values(o).forEach(visit);
    }
  };
  visit(parse(readFileSync(SHIPPED_CONFIG, "utf8")));
  return blocks;
}
const SHIPPED = shippedBlocks();

describe("deploy/: every manifest is valid against its project's published CRD", () => {
  const manifests = readdirSync(join(ROOT, "deploy"), { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".yaml"))
    .sort();

  test("deploy/ holds the three manifests (and no other, so each one is checked below)", () => {
    expect(manifests).toEqual(["envoy-gateway/envoyextensionpolicy.yaml", "istio/envoyfilter-network.yaml", "istio/wasmplugin-http.yaml"]);
  });

  test.each(manifests)("%s", (file) => {
    for (const doc of loadYamlDocuments(join(ROOT, "deploy", file))) {
      const { errors, rulesEvaluated } = validateResource(doc, CRDS);
      expect(errors).toEqual([]);
      // The CRDs carry CEL rules at the top of spec; they were reached and held.
      expect(rulesEvaluated.length, `${file}: CEL rules evaluated`).toBeGreaterThan(0);
    }
  });
});

describe("the validator refuses what the API server refuses", () => {
  const plugin = one(WASM_PLUGIN);
  const policy = one(EXTENSION_POLICY);
  const filter = one(ENVOY_FILTER);
  const errorsOf = (doc: Obj) => validateResource(doc, CRDS).errors;

  test("an unknown field (a typo) in spec", () => {
    const bad = copy(plugin);
    bad.spec.pluginConfg = bad.spec.pluginConfig;
    expect(errorsOf(bad)).toEqual(['spec: unknown field "pluginConfg"']);
  });

  test("a value outside an enum, and a wrong type", () => {
    const bad = copy(plugin);
    bad.spec.failStrategy = "FAIL_SOMETIMES";
    bad.spec.priority = "high";
    expect(errorsOf(bad)).toEqual([
      "spec.failStrategy: must be equal to one of the allowed values: FAIL_CLOSE, FAIL_OPEN, FAIL_RELOAD",
      "spec.priority: must be integer",
    ]);
  });

  test("a CEL rule: a WasmPlugin url with a scheme Istio cannot fetch", () => {
    const bad = copy(plugin);
    bad.spec.url = "ftp://registry.example.com/sitio.wasm";
    expect(errorsOf(bad)).toEqual(["spec.url: url must have schema one of [http, https, file, oci]"]);
  });

  test("a CEL rule: an EnvoyExtensionPolicy wasm code of type Image without image", () => {
    const bad = copy(policy);
    delete bad.spec.wasm[0].code.image;
    expect(errorsOf(bad)).toEqual(["spec.wasm[0].code: If type is Image, image field needs to be set."]);
  });

  test("a CEL rule: an EnvoyExtensionPolicy with no target", () => {
    const bad = copy(policy);
    delete bad.spec.targetRefs;
    expect(errorsOf(bad)).toEqual(["spec: either targetRef or targetRefs must be used"]);
  });

  test("the wrong apiVersion, and a name that is no DNS subdomain", () => {
    const bad = copy(filter);
    bad.apiVersion = "networking.istio.io/v1beta7";
    expect(errorsOf(bad)).toEqual(["EnvoyFilter: version v1beta7 is not served (served: v1alpha3)"]);
    const badName = copy(filter);
    badName.metadata.name = "Sitio_Network";
    expect(errorsOf(badName)).toEqual(['metadata.name: "Sitio_Network" is not a DNS-1123 subdomain']);
  });
});

describe("the manifests carry the settings of envoy/envoy.yaml's sitio blocks", () => {
  const http = SHIPPED.get("sitio_http")!;
  const web = SHIPPED.get("sitio_web")!;

  test("envoy.yaml has the blocks the manifests mirror (sitio_http, sitio_web; the Foo and TLS ones are examples of the same network block)", () => {
    expect([...SHIPPED.keys()].sort()).toEqual(["sitio_foo", "sitio_http", "sitio_tls", "sitio_web"]);
  });

  test("Istio WasmPlugin ↔ sitio_http", () => {
    const { spec } = one(WASM_PLUGIN);
    expect(spec.type).toBe("HTTP");
    expect(spec.pluginName).toBe(http.root_id);
    expect(spec.pluginConfig).toEqual(http.settings);
    expect(spec.failStrategy).toBe(http.failure_policy);
  });

  test("Istio EnvoyFilter ↔ sitio_web (the extension config, and the filter that refers to it)", () => {
    const { spec } = one(ENVOY_FILTER);
    const [ext, insert] = spec.configPatches;
    expect(ext.applyTo).toBe("EXTENSION_CONFIG");
    const config = ext.patch.value.typed_config.config;
    expect(ext.patch.value.typed_config["@type"]).toBe("type.googleapis.com/envoy.extensions.filters.network.wasm.v3.Wasm");
    expect({ name: config.name, root_id: config.root_id, failure_policy: config.failure_policy }).toEqual({
      name: web.name,
      root_id: web.root_id,
      failure_policy: web.failure_policy,
    });
    expect(JSON.parse(config.configuration.value)).toEqual(web.settings);
    expect({ vm_id: config.vm_config.vm_id, runtime: config.vm_config.runtime }).toEqual({ vm_id: web.vm_config.vm_id, runtime: web.vm_config.runtime });
    expect(insert).toMatchObject({ applyTo: "NETWORK_FILTER", patch: { operation: "INSERT_BEFORE", value: { name: ext.patch.value.name } } });
    expect(insert.patch.value.config_discovery.type_urls).toEqual([ext.patch.value.typed_config["@type"]]);
  });

  test("Envoy Gateway EnvoyExtensionPolicy ↔ sitio_http", () => {
    const [wasm] = one(EXTENSION_POLICY).spec.wasm;
    expect(wasm.name).toBe(http.name);
    expect(wasm.rootID).toBe(http.root_id);
    expect(wasm.config).toEqual(http.settings);
    expect(wasm.failOpen).toBe(http.failure_policy === "FAIL_OPEN");
  });

  test("all three name one image: sitio:<package.json version>, the tag `npm run image` builds", () => {
    const version = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version;
    const refs = [
      one(WASM_PLUGIN).spec.url.replace(/^oci:\/\//, ""),
      one(ENVOY_FILTER).spec.configPatches[0].patch.value.typed_config.config.vm_config.code.remote.http_uri.uri.replace(/^oci:\/\//, ""),
      one(EXTENSION_POLICY).spec.wasm[0].code.image.url,
    ];
    expect(new Set(refs).size, refs.join(" ")).toBe(1);
    expect(refs[0]).toMatch(new RegExp(`/sitio:${version.replaceAll(".", "\\.")}$`));
    expect(readFileSync(join(ROOT, "scripts/image.sh"), "utf8")).toMatch(/IMAGE=\$\{SITIO_IMAGE:-sitio:\$version\}/);
  });
});

describe("the EnvoyFilter's Envoy config is valid for Envoy 1.40", () => {
  test("its network filter, swapped in for the shipped sitio_web filter (code local, as the Istio agent hands it to Envoy), passes envoy --mode validate", () => {
    const { spec } = one(ENVOY_FILTER);
    const typed = copy(spec.configPatches[0].patch.value.typed_config);
    expect(typed.config.vm_config.code.remote.http_uri.uri).toMatch(/^oci:\/\//);
    typed.config.vm_config.code = { local: { filename: WASM } };
    const bootstrap = parse(readFileSync(SHIPPED_CONFIG, "utf8"));
    const listener = bootstrap.static_resources.listeners.find((l: Obj) => l.name === "web_tcp");
    const filters = listener.filter_chains[0].filters;
    expect(filters[0].typed_config.config.name).toBe("sitio_web");
    filters[0] = { name: "envoy.filters.network.wasm", typed_config: typed };
    const dir = join(ROOT, ".test-logs");
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `envoyfilter-validate-${process.pid}.yaml`);
    writeFileSync(file, stringify(bootstrap));
    const run = spawnSync(envoyBinary(), ["--mode", "validate", "-c", file, "--use-dynamic-base-id", "-l", "warning"], { encoding: "utf8" });
    expect(`${run.stdout}${run.stderr}`).toContain("configuration '" + file + "' OK");
    expect(run.status).toBe(0);
    // …and the inserted filter is a wasm filter with a typo it would refuse (the check can fail):
    typed.config.vm_confg = typed.config.vm_config;
    filters[0] = { name: "envoy.filters.network.wasm", typed_config: typed };
    writeFileSync(file, stringify(bootstrap));
    const bad = spawnSync(envoyBinary(), ["--mode", "validate", "-c", file, "--use-dynamic-base-id", "-l", "warning"], { encoding: "utf8" });
    expect(bad.status).not.toBe(0);
    expect(`${bad.stdout}${bad.stderr}`).toContain("vm_confg");
  });
});
