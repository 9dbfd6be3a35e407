// The two-hosts tests run in the laptop's network namespace of scripts/in-two-hosts.sh, which
// started two private libvirtds ("hosts" A and B, each with its sshd on the LAN) for this run and
// stops them by PID afterwards. Before any test: this process must not reach either daemon's
// socket or guests except through SSH (it is outside both, like a laptop). Builds (or reuses) the
// tiny test boxes.
import { existsSync, readlinkSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { TestProject } from 'vitest/node';
import { provideTinyBoxes } from '../tiny-boxes.js';

const ROOT = resolve(import.meta.dirname, '../../..');

export default function setup(project: TestProject): void {
  for (const v of ['A', 'B'])
    for (const k of ['URI', 'DIR', 'ADDRESS'])
      if (process.env[`BOXFEST_TEST_HOST_${v}_${k}`] === undefined)
        throw new Error(
          `BOXFEST_TEST_HOST_${v}_${k} is unset: run these tests with scripts/test-two-hosts.sh`,
        );
  // This process is in the laptop's network namespace, not a host's.
  const laptop = process.env['BOXFEST_TEST_LAPTOP_NETNS'] ?? '';
  const ours = readlinkSync('/proc/self/ns/net');
  if (`net:[${statSync(laptop).ino}]` !== ours)
    throw new Error(`not in the laptop's network namespace ${laptop} (in ${ours})`);
  if (!existsSync(join(ROOT, 'dist', 'cli.js')))
    throw new Error('dist/ is missing: run `npm run build` first');
  provideTinyBoxes(project);
}
