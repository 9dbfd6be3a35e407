// Starts one real vboxwebsrv 7.2 for the VirtualBox tests with the project's own script
// (scripts/vboxweb.sh: a Debian sid chroot, reused when present) and stops it afterwards.
// A missing prerequisite fails the run with what to do; only BOXFEST_SKIP_VBOX=1 skips, loudly.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { TestProject } from 'vitest/node';

const ROOT = resolve(import.meta.dirname, '../../..');
const SCRIPT = join(ROOT, 'scripts/vboxweb.sh');

declare module 'vitest' {
  export interface ProvidedContext {
    vboxUrl: string;
    /** Bind-mounted at the same path in the server's chroot: media paths under it are valid there. */
    vboxShare: string;
    vboxSkipped: boolean;
    /** PID of the vboxwebsrv the setup started (or found, started by this script) and proved its own. */
    vboxPid: number;
  }
}

export default function setup(project: TestProject): (() => void) | undefined {
  if (process.env['BOXFEST_SKIP_VBOX'] === '1') {
    process.stderr.write('\n*** BOXFEST_SKIP_VBOX=1: the VirtualBox integration tests are SKIPPED ***\n\n');
    project.provide('vboxSkipped', true);
    project.provide('vboxUrl', '');
    project.provide('vboxShare', '');
    project.provide('boxDir', '');
    project.provide('vboxPid', 0);
    return undefined;
  }
  if (!existsSync(join(ROOT, 'dist', 'cli.js')))
    throw new Error('dist/ is missing: run `npm run build` first');
  const boxDir = process.env['BOXFEST_TEST_BOX_DIR'] ?? join(ROOT, '.cache', 'tiny-box');
  execFileSync('bash', [join(ROOT, 'test/fixtures/build-tiny-box.sh'), boxDir], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  let out: string;
  try {
    out = execFileSync('bash', [SCRIPT, 'setup'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  } catch {
    throw new Error(
      'could not start the real vboxwebsrv (see the messages above): the VirtualBox tests need root and the ' +
        'Debian mirror (`bash scripts/vboxweb.sh setup`); set BOXFEST_SKIP_VBOX=1 to skip them knowingly',
    );
  }
  const vars = Object.fromEntries(
    out
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  const url = vars['BOXFEST_VBOX_URL'];
  const share = vars['BOXFEST_VBOXWEB_SHARE'];
  const pid = Number(vars['BOXFEST_VBOXWEB_PID']);
  if (url === undefined || share === undefined || !(pid > 0))
    throw new Error(`scripts/vboxweb.sh setup printed no URL or PID:\n${out}`);
  process.env['BOXFEST_VBOX_URL'] = url;
  // The one URL the tests' boxfest may inherit (daemon-env.ts drops any other).
  process.env['BOXFEST_TEST_VBOX_URL'] = url;
  project.provide('vboxSkipped', false);
  project.provide('vboxUrl', url);
  project.provide('vboxShare', share);
  project.provide('boxDir', boxDir);
  project.provide('vboxPid', pid);
  // Stop only a server this run started (vboxwebsrv first; VBoxSVC then exits by itself).
  return vars['BOXFEST_VBOXWEB_STARTED'] === '1'
    ? () => void execFileSync('bash', [SCRIPT, 'stop'], { stdio: 'inherit' })
    : undefined;
}
