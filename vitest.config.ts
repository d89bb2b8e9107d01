import { configDefaults, defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts"],
    // tests/platform/ needs Docker or Prometheus: npm run test:compose / test:prometheus.
    exclude: [...configDefaults.exclude, "tests/platform/**"],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    // Each file runs its own Envoy on its own ports; two at a time fits two cores.
    maxWorkers: 2,
  },
});
