// dependency-cruiser: the import rules `npm run lint` checks (`depcruise assembly tests scripts`).
//
// assembly/ is layered: each folder imports only from the folders listed for it, all of them
// lower in this order, so no import cycle can form between folders. index.ts (the proxy-wasm
// entry points) is the top and may import anything; nothing imports it.
const LAYERS = {
  bytes: [], // bytes, ASCII, decimal numbers, word lists: nothing of sitio's
  abi: ["bytes"], // the proxy-wasm host calls, the module's memory, context objects kept for reuse
  codec: ["bytes"], // protocol decoders: pure, no host calls, unit-tested on byte tables in Node
  labels: ["bytes", "abi", "codec"], // label values, endpoint normalisation, the endpoint table
  config: ["bytes", "abi", "codec", "labels"], // the plugin configuration, its JSON parser
  metrics: ["bytes", "abi", "codec", "labels", "config"], // metric families and series
  network: ["bytes", "abi", "codec", "labels", "config", "metrics"], // the L4 filter
  http: ["bytes", "abi", "codec", "labels", "config", "metrics"], // the L7 filter
};

const folders = Object.keys(LAYERS);

const layerRules = folders.map((folder) => ({
  name: `layer-${folder}`,
  comment: `assembly/${folder}/ imports only from ${
    LAYERS[folder].length ? LAYERS[folder].map((f) => `assembly/${f}/`).join(", ") : "itself"
  } (layering in .dependency-cruiser.cjs)`,
  severity: "error",
  from: { path: `^assembly/${folder}/` },
  to: { path: "^assembly/", pathNot: `^assembly/(${[folder, ...LAYERS[folder]].join("|")})/` },
}));

module.exports = {
  forbidden: [
    ...layerRules,
    {
      name: "layer-unknown",
      comment: "a module of assembly/ outside the folders of LAYERS: give its folder a place in the layering (.dependency-cruiser.cjs)",
      severity: "error",
      from: { path: "^assembly/", pathNot: `^assembly/(index\\.ts$|(${folders.join("|")})/)` },
      to: {},
    },
    {
      name: "no-circular",
      comment: "an import cycle: modules that import each other, directly or through others",
      severity: "error",
      from: {},
      to: { circular: true },
    },
    {
      name: "tests-not-scripts",
      comment: "tests import from tests/harness/, never from scripts/ (scripts may import the harness)",
      severity: "error",
      from: { path: "^tests/" },
      to: { path: "^scripts/" },
    },
    {
      name: "assembly-self-contained",
      comment: "the filter imports nothing from tests/ or scripts/",
      severity: "error",
      from: { path: "^assembly/" },
      to: { path: "^(tests|scripts)/" },
    },
    {
      name: "not-to-unresolvable",
      comment: "an import that resolves to no file (rt/* is AssemblyScript's own runtime, known to the compiler only)",
      severity: "error",
      from: {},
      to: { couldNotResolve: true, pathNot: "^rt/" },
    },
  ],
  options: {
    exclude: { path: "^tests/fixtures/" },
    doNotFollow: { path: "node_modules" },
    // Type-only imports count: the layering is about what a module needs, not what it emits.
    tsPreCompilationDeps: true,
    // The project's typescript (7, native) has no JavaScript API; swc parses the TypeScript and
    // AssemblyScript sources instead.
    parser: "swc",
  },
};
