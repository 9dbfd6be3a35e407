import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

// Four projects: fast, parallel unit tests; real-VM integration tests that run one file at a
// time (2 cores, TCG-only guests: more at once only slows every guest down); the VirtualBox
// tests against a real vboxwebsrv; and the libvirt tests, which exist only inside the namespaces
// of the private libvirtd that scripts/test-libvirt.sh starts for them.
const libvirt = process.env['BOXFEST_TEST_LIBVIRTD_PID'] !== undefined;

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
          exclude: ['test/integration/vbox/**', 'test/integration/libvirt/**', 'node_modules/**'],
          pool: 'forks',
          maxWorkers: 1,
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 300_000,
          globalSetup: ['test/integration/global-setup.ts'],
        },
      },
      {
        // A real vboxwebsrv 7.2 (scripts/vboxweb.sh), started once for these files.
        test: {
          name: 'integration-vbox',
          include: ['test/integration/vbox/**/*.integration.ts'],
          pool: 'forks',
          maxWorkers: 1,
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 300_000,
          globalSetup: ['test/integration/vbox/global-setup.ts'],
        },
      },
      ...(libvirt
        ? [
            {
              test: {
                name: 'integration-libvirt',
                include: ['test/integration/libvirt/**/*.integration.ts'],
                pool: 'forks' as const,
                maxWorkers: 1,
                fileParallelism: false,
                testTimeout: 180_000,
                hookTimeout: 300_000,
                globalSetup: ['test/integration/libvirt/global-setup.ts'],
              },
            },
          ]
        : []),
    ],
  },
});
