// Builds (or reuses) the test boxes once per run -- the tiny busybox box (seconds) and the Debian 12
// cloud-init box (~2.5 min cold, built from Debian packages; cached by the builder's hash) -- and
// checks the host can run real guests.
// A missing prerequisite fails the run with what to install: a silently skipped suite proves nothing.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { TestProject } from 'vitest/node';
import { provideDebianBox } from './debian-box.js';
import { provideTinyBoxes } from './tiny-boxes.js';

const ROOT = resolve(import.meta.dirname, '../..');

export default function setup(project: TestProject): void {
  for (const tool of ['qemu-system-x86_64', 'qemu-img', 'rsync', 'ssh']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      throw new Error(
        `${tool} is not installed: run \`bash scripts/install-deps.sh\` (as root) before the integration tests`,
      );
    }
  }
  if (!existsSync(join(ROOT, 'dist', 'bundle', 'cli.js')))
    throw new Error('dist/ is missing: run `npm run build` first');
  provideTinyBoxes(project);
  provideDebianBox(project);
}
