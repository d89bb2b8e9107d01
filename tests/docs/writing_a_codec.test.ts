// docs/writing-a-codec.md, checked by doing what it says: its decoder file and
// its registry entry go into a copy of assembly/ (build/test/codec-example/,
// never committed), the module is compiled, and the page's configuration and
// session run through the project's proxy-wasm host must give exactly the
// series the page shows. Nothing else of assembly/ is changed, which is the
// page's claim: a protocol is one decoder file and one entry in registry.ts.
// The build is reused while assembly/ and the page are unchanged.

import { beforeAll, describe, expect, test } from "vitest";
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../harness/envoy.js";
import { markedBlock, readDoc } from "../harness/docs.js";
import { MetricType, ProxyWasmHost } from "../harness/proxy_wasm_host.js";

const PAGE = "docs/writing-a-codec.md";
const DIR = join(ROOT, "build/test/codec-example");
const WASM = join(DIR, "sitio.wasm");
const PLUGIN = "sitio_rpc";

const page = readDoc(PAGE);
const decoderPath = /^<!-- docs-test: file (assembly\/codec\/[\w]+\.ts) -->$/m.exec(page)?.[1];

function newest(dir: string): number {
  return Math.max(...readdirSync(dir, { withFileTypes: true }).map((e) => (e.isDirectory() ? newest(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs)));
}

/** The page's registry block applied to registry.ts: imports after the last import, entries at the end of PROTOCOLS. */
function register(registry: string, block: string): string {
  const lines = block.split("\n").filter((l) => l.trim() !== "");
  const imports = lines.filter((l) => l.startsWith("import "));
  const entries = lines.filter((l) => l.trim().startsWith("new Protocol("));
  expect(imports.length + entries.length, "the registry block holds only imports and PROTOCOLS entries").toBe(lines.length);
  expect(entries.length, "one entry in PROTOCOLS").toBe(1);
  const lastImport = registry.lastIndexOf("\nimport ");
  const afterImport = registry.indexOf("\n", lastImport + 1);
  let out = `${registry.slice(0, afterImport + 1)}${imports.join("\n")}\n${registry.slice(afterImport + 1)}`;
  const list = out.indexOf("export const PROTOCOLS");
  const end = out.indexOf("\n];", list);
  expect(list >= 0 && end > list, "registry.ts has its PROTOCOLS list").toBe(true);
  out = `${out.slice(0, end)}\n${entries.join("\n")}${out.slice(end)}`;
  return out;
}

/** Builds the module with the page's codec unless the build is newer than assembly/ and the page. */
function build(): void {
  if (existsSync(WASM) && statSync(WASM).mtimeMs >= Math.max(newest(join(ROOT, "assembly")), statSync(join(ROOT, PAGE)).mtimeMs)) return;
  const tmp = `${DIR}.${process.pid}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  cpSync(join(ROOT, "assembly"), join(tmp, "assembly"), { recursive: true });
  expect(decoderPath, `${PAGE} marks its decoder file`).toBeDefined();
  expect(existsSync(join(ROOT, decoderPath!)), `${decoderPath} is the page's, not the tree's`).toBe(false);
  writeFileSync(join(tmp, decoderPath!), `${markedBlock(page, `file ${decoderPath}`)}\n`);
  const registry = join(tmp, "assembly/codec/registry.ts");
  writeFileSync(registry, register(readFileSync(registry, "utf8"), markedBlock(page, "registry")));
  // the shipped build's options (runtime, abort), as a debug build: bounds checks on
  const options = JSON.parse(readFileSync(join(ROOT, "asconfig.json"), "utf8")).options;
  writeFileSync(join(tmp, "asconfig.json"), JSON.stringify({ options: { ...options, debug: true } }));
  execFileSync(join(ROOT, "node_modules/.bin/asc"), [join(tmp, "assembly/index.ts"), "--config", join(tmp, "asconfig.json"), "-o", join(tmp, "sitio.wasm")], {
    cwd: ROOT,
    stdio: "pipe",
  });
  rmSync(DIR, { recursive: true, force: true });
  renameSync(tmp, DIR);
}

/** `name;k=v;…` (the host's stat name) as `name{k="v",…}` (the page's, as Envoy prints it). */
function prometheusName(name: string, suffix = ""): string {
  const [family, ...pairs] = name.split(";");
  return `${family}${suffix}{${pairs.map((p) => p.replace(/^([^=]*)=(.*)$/, '$1="$2"')).join(",")}}`;
}

/** The page's session: `client:` and `server:` lines, with `\n` written as in C. */
function session(): { client: string; server: string } {
  const lines = markedBlock(page, "session").split("\n");
  const side = (who: string) =>
    lines
      .find((l) => l.startsWith(`${who}: `))!
      .slice(who.length + 2)
      .replaceAll("\\n", "\n");
  return { client: side("client"), server: side("server") };
}

beforeAll(build, 120_000);

describe(PAGE, () => {
  test("its session gives exactly the series it shows", () => {
    const host = new ProxyWasmHost({ wasm: WASM });
    const root = host.createRoot("sitio_network", PLUGIN, markedBlock(page, "configuration"));
    const { client, server } = session();
    const c = host.connect(root);
    c.downstream(client);
    expect(c.upstream(server).toString(), "the upstream's bytes pass untouched").toBe(server);
    c.close();
    host.flush();
    expect(host.traps).toBe(0);

    const shown = markedBlock(page, "series")
      .split("\n")
      .filter((l) => l.trim() !== "");
    const families = new Set(shown.map((l) => l.replace(/(_count)?\{.*$/, "")));
    const got: string[] = [];
    for (const m of host.metrics.values()) {
      const family = m.name.split(";")[0];
      if (!families.has(family)) continue;
      if (m.type === MetricType.Histogram) got.push(`${prometheusName(m.name, "_count")} ${m.samples.length}`);
      else if (m.value !== 0) got.push(`${prometheusName(m.name)} ${m.value}`);
    }
    expect(got.sort()).toEqual([...shown].sort());
  });

  test("the refusal it quotes for custom_404 on the new protocol", () => {
    const quoted = /^sitio: plugin sitio_rpc: invalid configuration: "custom_404" .*$/m.exec(page)?.[0];
    expect(quoted).toBeDefined();
    const host = new ProxyWasmHost({ wasm: WASM });
    expect(host.tryCreateRoot("sitio_network", PLUGIN, `{"protocol": "rpc", "custom_404": {"body": "x"}}`)).toBeNull();
    expect(host.logs.map((l) => l.message)).toEqual([quoted]);
  });

  test("its registry block goes where the page says, whatever else registry.ts lists", () => {
    const registry =
      'import { Decoder } from "./decoder";\nimport { A } from "./a";\n\nexport const PROTOCOLS: Protocol[] = [\n  new Protocol("a", true, f),\n];\n';
    expect(register(registry, 'import { RpcDecoder } from "./rpc";\n  new Protocol("rpc", false, g),')).toBe(
      'import { Decoder } from "./decoder";\nimport { A } from "./a";\nimport { RpcDecoder } from "./rpc";\n\nexport const PROTOCOLS: Protocol[] = [\n  new Protocol("a", true, f),\n  new Protocol("rpc", false, g),\n];\n',
    );
  });
});
