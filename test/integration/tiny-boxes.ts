// The tiny test box in its two kernel flavours, built (or found cached by the builder's hash) by
// both integration global setups: Debian's cloud kernel (fastest boot, no 9p) for nearly every
// test, and its generic kernel (9p as well as virtiofs) for the live shared folders scenario.
import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import type { TestProject } from 'vitest/node';

const ROOT = resolve(import.meta.dirname, '../..');

declare module 'vitest' {
  export interface ProvidedContext {
    /** The tiny box on Debian's cloud kernel: box.qcow2 and insecure_key. */
    boxDir: string;
    /** The same box on Debian's generic kernel (BOX_KERNEL=generic), which has 9p. */
    genericBoxDir: string;
  }
}

export function provideTinyBoxes(project: TestProject): void {
  const build = (dir: string, kernel: string) =>
    execFileSync('bash', [join(ROOT, 'test/fixtures/build-tiny-box.sh'), dir], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, BOX_KERNEL: kernel },
    });
  const boxDir = process.env['BOXFEST_TEST_BOX_DIR'] ?? join(ROOT, '.cache', 'tiny-box');
  const genericBoxDir =
    process.env['BOXFEST_TEST_GENERIC_BOX_DIR'] ?? join(ROOT, '.cache', 'tiny-box-generic');
  build(boxDir, 'cloud');
  build(genericBoxDir, 'generic');
  project.provide('boxDir', boxDir);
  project.provide('genericBoxDir', genericBoxDir);
}
