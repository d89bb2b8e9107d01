import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    // Each file runs its own Envoy on its own ports; two at a time fits two cores.
    maxWorkers: 2,
  },
});
