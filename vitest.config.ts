import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';
import { HeaviestFirst } from './test/heaviest-first.js';

// Four projects: fast, parallel unit tests; real-VM integration tests, two files at a time
// (BOXFEST_TEST_WORKERS; measured on 2 cores under TCG: the guests leave 45% of the CPU idle while
// they wait for SSH; two at a time, heaviest first (test/heaviest-first.ts), took the integration
// run from about 1600 s to 820 s); the VirtualBox tests against a real vboxwebsrv; and
// the libvirt tests, which exist only inside the namespaces of the private libvirtd that
// scripts/test-libvirt.sh starts for them.
const libvirt = process.env['BOXFEST_TEST_LIBVIRTD_PID'] !== undefined;
// Two remote libvirt hosts and a laptop between them (scripts/in-two-hosts.sh).
const twoHosts = process.env['BOXFEST_TEST_HOST_A_URI'] !== undefined;
const INTEGRATION_WORKERS = Number(process.env['BOXFEST_TEST_WORKERS'] ?? 2);

export default defineConfig({
  test: {
    sequence: { sequencer: HeaviestFirst },
    projects: [
      {
        test: {
          name: 'unit',
          // Groups run one after another; projects with different worker counts need their own.
          sequence: { groupOrder: 0 },
          include: ['test/unit/**/*.test.ts'],
          // Never the user's ~/.boxfest (the config loader caches valid Boxfiles there).
          env: { BOXFEST_HOME: join(tmpdir(), 'boxfest-unit-home') },
        },
      },
      {
        test: {
          name: 'integration',
          sequence: { groupOrder: 1 },
          include: ['test/integration/**/*.integration.ts'],
          exclude: [
            'test/integration/vbox/**',
            'test/integration/libvirt/**',
            'test/integration/two-hosts/**',
            'node_modules/**',
          ],
          pool: 'forks',
          maxWorkers: INTEGRATION_WORKERS,
          fileParallelism: INTEGRATION_WORKERS > 1,
          testTimeout: 180_000,
          hookTimeout: 300_000,
          globalSetup: ['test/integration/global-setup.ts'],
        },
      },
      {
        // A real vboxwebsrv 7.2 (scripts/vboxweb.sh), started once for these files.
        test: {
          name: 'integration-vbox',
          sequence: { groupOrder: 2 },
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
                sequence: { groupOrder: 3 },
                include: ['test/integration/libvirt/**/*.integration.ts'],
                pool: 'forks' as const,
                // Two files at a time as well: projects on one daemon are kept apart by their
                // tags and names, and a box's volume is uploaded once between them.
                maxWorkers: INTEGRATION_WORKERS,
                fileParallelism: INTEGRATION_WORKERS > 1,
                testTimeout: 180_000,
                hookTimeout: 300_000,
                globalSetup: ['test/integration/libvirt/global-setup.ts'],
              },
            },
          ]
        : []),
      ...(twoHosts
        ? [
            {
              test: {
                name: 'integration-two-hosts',
                sequence: { groupOrder: 4 },
                include: ['test/integration/two-hosts/**/*.integration.ts'],
                pool: 'forks' as const,
                maxWorkers: 1,
                fileParallelism: false,
                testTimeout: 180_000,
                hookTimeout: 300_000,
                globalSetup: ['test/integration/two-hosts/global-setup.ts'],
              },
            },
          ]
        : []),
    ],
  },
});
