// The Debian 12 cloud-init test box (test/fixtures/build-debian-box.sh), built once per run or
// reused (cached by the builder's hash), for the QEMU set's and the libvirt set's global setups.
import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import type { TestProject } from 'vitest/node';

const ROOT = resolve(import.meta.dirname, '../..');

declare module 'vitest' {
  export interface ProvidedContext {
    /** The Debian 12 cloud-init box: box.qcow2 (test/fixtures/build-debian-box.sh). */
    debianBoxDir: string;
  }
}

export function provideDebianBox(project: TestProject): void {
  const debianBoxDir = process.env['BOXFEST_TEST_DEBIAN_BOX_DIR'] ?? join(ROOT, '.cache', 'debian-box');
  const t0 = Date.now();
  // Builds only when the builder changed (it needs root and Debian's mirror then); says how long.
  execFileSync('bash', [join(ROOT, 'test/fixtures/build-debian-box.sh'), debianBoxDir], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  process.stderr.write(
    `debian test box ready in ${((Date.now() - t0) / 1000).toFixed(1)} s (${debianBoxDir})\n`,
  );
  project.provide('debianBoxDir', debianBoxDir);
}
