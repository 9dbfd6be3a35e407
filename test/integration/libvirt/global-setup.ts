// The libvirt tests run inside the network and mount namespaces of a private libvirtd that
// scripts/test-libvirt.sh started for this run (and stops by PID afterwards). Before any test,
// this proves it: the PID is that daemon of that directory (scripts/libvirtd.sh prove), and this
// process shares its namespaces, so qemu:///system can only be that daemon. Builds (or reuses)
// the tiny test box.
import { execFileSync } from 'node:child_process';
import { existsSync, readlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { TestProject } from 'vitest/node';

const ROOT = resolve(import.meta.dirname, '../../..');

declare module 'vitest' {
  export interface ProvidedContext {
    libvirtdPid: number;
    libvirtdDir: string;
  }
}

export default function setup(project: TestProject): void {
  const pid = Number(process.env['BOXFEST_TEST_LIBVIRTD_PID']);
  const dir = process.env['BOXFEST_TEST_LIBVIRTD_DIR'] ?? '';
  if (!Number.isInteger(pid) || pid <= 0 || dir === '')
    throw new Error(
      'the libvirt tests run through `bash scripts/test-libvirt.sh`, which starts their daemon',
    );
  const proven = execFileSync('bash', [join(ROOT, 'scripts/libvirtd.sh'), 'prove', dir], {
    encoding: 'utf8',
  }).trim();
  if (Number(proven) !== pid)
    throw new Error(`pid ${pid} is not the libvirtd of ${dir} (proven: ${proven || 'none'})`);
  for (const ns of ['net', 'mnt'])
    if (readlinkSync(`/proc/self/ns/${ns}`) !== readlinkSync(`/proc/${pid}/ns/${ns}`))
      throw new Error(
        `not inside the ${ns} namespace of libvirtd ${pid}: run through scripts/test-libvirt.sh`,
      );
  if (!existsSync(join(ROOT, 'dist', 'cli.js')))
    throw new Error('dist/ is missing: run `npm run build` first');
  const boxDir = process.env['BOXFEST_TEST_BOX_DIR'] ?? join(ROOT, '.cache', 'tiny-box');
  execFileSync('bash', [join(ROOT, 'test/fixtures/build-tiny-box.sh'), boxDir], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  project.provide('boxDir', boxDir);
  project.provide('libvirtdPid', pid);
  project.provide('libvirtdDir', dir);
}
