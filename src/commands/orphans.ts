// Machines left in .boxfest/machines/ that the Boxfile no longer names. They get a stand-in spec
// (name, provider and box from their state.json, defaults for the rest) so the provider can find
// and destroy them; they are never booted with it.
import { existsSync, readdirSync } from 'node:fs';
import type { Environment, MachineSpec } from '../config/types.js';
import { readMachineState } from '../state/machine-state.js';
import { projectPaths } from '../state/paths.js';

export function orphanNames(env: Environment): string[] {
  const dir = projectPaths(env.root).machines;
  if (!existsSync(dir)) return [];
  const named = new Set(env.machines.map((m) => m.name));
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && !named.has(d.name))
    .map((d) => d.name)
    .sort();
}

export function orphanSpec(env: Environment, name: string): MachineSpec {
  const state = readMachineState(env.root, name);
  return {
    name,
    provider: state?.provider ?? env.provider,
    box: state?.box.name ?? '',
    cpus: state?.applied.cpus ?? 1,
    memory: state?.applied.memory ?? 512,
    hostname: state?.applied.hostname ?? name,
    bootTimeout: 300,
    ssh: {},
    syncedFolders: [],
    provision: [],
    disks: [],
    cloudInit: {},
    networks: [],
    forwardedPorts: [],
    sshGuestPort: 22,
    autostart: false,
    primary: false,
    instant: false,
    qemu: { accel: 'auto', restrictNetwork: false, extraArgs: [] },
    virtualbox: { gui: false, linkedClone: true },
  };
}

export function orphanSpecs(env: Environment): MachineSpec[] {
  return orphanNames(env).map((n) => orphanSpec(env, n));
}
