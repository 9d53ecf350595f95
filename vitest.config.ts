import { defineConfig } from 'vitest/config';

// One run for the whole tree: unit tests (pure) and integration tests (real Postgres and Redis,
// each test file on its own database cloned from a migrated template, and its own queue prefix).
export default defineConfig({
  test: {
    include: ['{apps,packages,seeds,bench}/**/*.test.ts'],
    exclude: ['**/node_modules/**'],
    globalSetup: ['packages/testing/src/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default', './packages/testing/src/summary-reporter.ts'],
  },
});
