// Shared by the unit tests outside config/: hand-built specs and environments, and temp dirs
// that are removed after each test.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import type { Environment, MachineSpec } from '../../src/config/types.js';

/** A resolved machine as the config loader would produce it, with `over` applied. */
export function spec(name: string, over: Partial<MachineSpec> = {}): MachineSpec {
  return {
    name,
    provider: 'qemu',
    box: 'debian-12',
    cpus: 2,
    memory: 1024,
    hostname: name,
    bootTimeout: 300,
    ssh: {},
    syncedFolders: [],
    provision: [],
    disks: [],
    cloudInit: {},
    networks: [],
    forwardedPorts: [],
    sshGuestPort: 22,
    autostart: true,
    primary: false,
    instant: false,
    qemu: { accel: 'auto', restrictNetwork: false, extraArgs: [] },
    virtualbox: { gui: false, linkedClone: true },
    ...over,
  };
}

export function environment(machines: MachineSpec[], root = '/proj'): Environment {
  return { file: join(root, 'Boxfile.yaml'), root, name: 'proj', provider: 'qemu', networks: [], machines };
}

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** A fresh temp dir, removed after the current test. */
export function tempDir(prefix = 'boxfest-unit-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
