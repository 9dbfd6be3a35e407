// The libvirt tests run inside the network and mount namespaces of a private libvirtd that
// scripts/test-libvirt.sh started for this run (and stops by PID afterwards). Before any test,
// this proves it (own-daemon.ts): the PID is that daemon of that directory, this process shares
// its namespaces, and neither qemu:///system nor a URI planted in the environment
// (LIBVIRT_DEFAULT_URI) leads to any other daemon. Builds (or reuses) the tiny test boxes and the
// Debian cloud-init box.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { TestProject } from 'vitest/node';
import { provideDebianBox } from '../debian-box.js';
import { provideTinyBoxes } from '../tiny-boxes.js';
import { proveOwnDaemon } from './own-daemon.js';

const ROOT = resolve(import.meta.dirname, '../../..');

declare module 'vitest' {
  export interface ProvidedContext {
    libvirtdPid: number;
    libvirtdDir: string;
  }
}

export default function setup(project: TestProject): void {
  const { pid, dir } = proveOwnDaemon();
  if (!existsSync(join(ROOT, 'dist', 'cli.js')))
    throw new Error('dist/ is missing: run `npm run build` first');
  provideTinyBoxes(project);
  provideDebianBox(project);
  project.provide('libvirtdPid', pid);
  project.provide('libvirtdDir', dir);
}
