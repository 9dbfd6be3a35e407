// Machines left in .boxfest/machines/ that the Boxfile no longer names. They get a stand-in spec
// (name, provider, box and shape from their state.json, the Boxfile defaults for the rest) so the
// provider can find and destroy them; they are never booted with it.
import { existsSync, readdirSync } from 'node:fs';
import { fillDefaults } from '../config/defaults.js';
import type { Environment, MachineSpec, WrittenMachine } from '../config/types.js';
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
  const a = state?.applied;
  const written: WrittenMachine = {
    box: state?.box.name ?? '',
    autostart: false,
    ...(a === undefined ? {} : { cpus: a.cpus, memory: a.memory, hostname: a.hostname }),
  };
  const provider = state?.provider ?? env.provider;
  const filled = fillDefaults(
    { provider, machines: { [name]: written } },
    { file: env.file, root: env.root },
  );
  return filled.machines[0]!;
}

export function orphanSpecs(env: Environment): MachineSpec[] {
  return orphanNames(env).map((n) => orphanSpec(env, n));
}
