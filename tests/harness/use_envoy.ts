// useEnvoy(): the one way an Envoy test file gets its Envoy. Starts the real
// Envoy on the shipped envoy.yaml before the file's tests (beforeAll) and stops
// it after them (afterAll); the returned handle forwards to that Envoy.
//
//   const envoy = useEnvoy({ name: "network" });
//   test("...", async () => { await httpRequest(envoy.port(18000), "/"); ... });
//
// `okUpstream: true` points the web_service cluster at an upstream that
// answers every request 200 (harness/ok_upstream.ts), for tests of counting
// whose paths must all earn their series.

import { afterAll, beforeAll } from "vitest";
import { startEnvoy, type Envoy, type StartOptions } from "./envoy.js";
import { startOkUpstream, type OkUpstream } from "./ok_upstream.js";

export interface UseEnvoyOptions extends StartOptions {
  okUpstream?: boolean;
}

/** Options, or a function computing them in beforeAll (e.g. after a scripted upstream has its port). */
export type EnvoyOptions = UseEnvoyOptions | (() => UseEnvoyOptions | Promise<UseEnvoyOptions>);

export function useEnvoy(options: EnvoyOptions): Envoy {
  let started: Envoy | undefined;
  let ok: OkUpstream | undefined;
  beforeAll(async () => {
    const opts = typeof options === "function" ? await options() : options;
    if (opts.okUpstream) {
      ok = await startOkUpstream();
      opts.upstreams = { ...opts.upstreams, web_service: ok.port };
    }
    started = await startEnvoy(opts);
  });
  afterAll(async () => {
    await started?.stop();
    await ok?.stop();
  });
  return new Proxy({} as Envoy, {
    get(_, key) {
      if (!started) throw new Error(`Envoy is not running (useEnvoy starts it in beforeAll); reading ${String(key)}`);
      const v = (started as unknown as Record<string | symbol, unknown>)[key];
      return typeof v === "function" ? v.bind(started) : v;
    },
  });
}
