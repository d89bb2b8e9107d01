import { defineConfig } from "vitest/config";

// The platform tests (tests/platform/): run by `npm run test:compose` and
// `npm run test:prometheus`, which first provide Docker or Prometheus; not part of `npm test`.
export default defineConfig({
  test: {
    include: ["tests/platform/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    maxWorkers: 1,
  },
});
