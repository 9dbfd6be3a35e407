// Builds (or reuses) the tiny test box once per run and checks the host can run real guests.
// A missing prerequisite fails the run with what to install: a silently skipped suite proves nothing.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { TestProject } from 'vitest/node';

const ROOT = resolve(import.meta.dirname, '../..');

declare module 'vitest' {
  export interface ProvidedContext {
    boxDir: string;
  }
}

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
  if (!existsSync(join(ROOT, 'dist', 'cli.js')))
    throw new Error('dist/ is missing: run `npm run build` first');
  const boxDir = process.env['BOXFEST_TEST_BOX_DIR'] ?? join(ROOT, '.cache', 'tiny-box');
  execFileSync('bash', [join(ROOT, 'test/fixtures/build-tiny-box.sh'), boxDir], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  project.provide('boxDir', boxDir);
}
