import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

// Two projects: fast, parallel unit tests and real-VM integration tests that run one file at a
// time (2 cores, TCG-only guests: more at once only slows every guest down).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          // Never the user's ~/.boxfest (the config loader caches valid Boxfiles there).
          env: { BOXFEST_HOME: join(tmpdir(), 'boxfest-unit-home') },
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.integration.ts'],
          pool: 'forks',
          maxWorkers: 1,
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 300_000,
          globalSetup: ['test/integration/global-setup.ts'],
        },
      },
    ],
  },
});
