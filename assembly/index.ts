// sitio: per-endpoint usage, response times, connection counts and custom 404
// pages for Envoy, as a proxy-wasm filter.
//
// The ABI module must stay the first export: AssemblyScript 0.17 resolves the
// exports in file order, and the contexts they reach must be compiled from here.
export * from "./abi/proxy_wasm_0_2_1";
