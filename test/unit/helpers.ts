// Shared by the unit tests outside config/: hand-built specs and environments, and temp dirs
// that are removed after each test.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import type { AnsibleProvisioner, Environment, MachineSpec } from '../../src/config/types.js';
import type { MachineState } from '../../src/state/machine-state.js';

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
    triggers: [],
    sshForwardAgent: false,
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
    libvirt: { uri: 'qemu:///system', uriFrom: 'default', pool: 'default', managementNetwork: 'boxfest' },
    ...over,
  };
}

export function environment(machines: MachineSpec[], root = '/proj'): Environment {
  return { file: join(root, 'Boxfile.yaml'), root, name: 'proj', provider: 'qemu', networks: [], machines };
}

/** A machine's state.json after a finished `up` of a 256 MiB machine `web`, with `over` applied. */
export function machineState(over: Partial<MachineState> = {}): MachineState {
  return {
    provider: 'qemu',
    project: '/proj',
    createdAt: '2026-01-01T00:00:00.000Z',
    box: { name: 'tiny', version: '0', image: '/b' },
    applied: { box: 'tiny', cpus: 1, memory: 256, hostname: 'web' },
    sshUser: 'root',
    keyReplaced: true,
    converged: true,
    provisioned: [],
    ...over,
  };
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

/** An `ansible` provisioner of site.yml, run once for the environment, with `over` applied. */
export function ansibleProvisioner(
  name = 'site',
  over: Partial<AnsibleProvisioner> = {},
): AnsibleProvisioner {
  return {
    kind: 'ansible',
    name,
    run: 'once',
    where: 'host',
    playbook: '/proj/site.yml',
    extraVars: {},
    groups: {},
    limit: [],
    tags: [],
    skipTags: [],
    scope: 'environment',
    ...over,
  };
}
