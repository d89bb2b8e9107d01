// useEnvoy(): the one way an Envoy test file gets its Envoy. Starts the real
// Envoy on the shipped envoy.yaml before the file's tests (beforeAll) and stops
// it after them (afterAll); the returned handle forwards to that Envoy.
//
//   const envoy = useEnvoy({ name: "network" });
//   test("...", async () => { await httpRequest(envoy.port(18000), "/"); ... });

import { afterAll, beforeAll } from "vitest";
import { startEnvoy, type Envoy, type StartOptions } from "./envoy.js";

/** Options, or a function computing them in beforeAll (e.g. after a scripted upstream has its port). */
export type EnvoyOptions = StartOptions | (() => StartOptions | Promise<StartOptions>);

export function useEnvoy(options: EnvoyOptions): Envoy {
  let started: Envoy | undefined;
  beforeAll(async () => {
    started = await startEnvoy(typeof options === "function" ? await options() : options);
  });
  afterAll(async () => started?.stop());
  return new Proxy({} as Envoy, {
    get(_, key) {
      if (!started) throw new Error(`Envoy is not running (useEnvoy starts it in beforeAll); reading ${String(key)}`);
      const v = (started as unknown as Record<string | symbol, unknown>)[key];
      return typeof v === "function" ? v.bind(started) : v;
    },
  });
}
