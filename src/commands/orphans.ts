// Machines left in .boxfest/machines/ that the Boxfile no longer names. They get a stand-in spec
// (name, provider, box and shape from their state.json, the Boxfile defaults for the rest) so the
// provider can find and destroy them; they are never booted with it. An orphan is a real
// directory (never a link) whose name could be a machine's, holding a regular state.json of the
// right shape: nothing else in there is taken for one, so nothing else is ever destroyed as one.
import { readdirSync } from 'node:fs';
import { fillDefaults } from '../config/defaults.js';
import { DNS_LABEL } from '../config/names.js';
import type { Environment, MachineSpec, WrittenMachine } from '../config/types.js';
import { BoxfestError } from '../errors.js';
import { readMachineState, type MachineState } from '../state/machine-state.js';
import { projectPaths } from '../state/paths.js';

export function orphanNames(env: Environment): string[] {
  return machineDirs(env)
    .filter((n) => stateOf(env, n) !== undefined)
    .sort();
}

/**
 * Directories under machines/ that the Boxfile does not name and that are not machines boxfest
 * can recognise (no state.json, or one it did not write): left alone, and worth a note.
 */
export interface StrayDir {
  name: string;
  why: string;
  /** It has a state.json, which boxfest cannot read. */
  corrupt: boolean;
}

export function strayMachineDirs(env: Environment): StrayDir[] {
  return machineDirs(env).flatMap((name): StrayDir[] => {
    try {
      return readMachineState(env.root, name) === undefined
        ? [{ name, why: 'it has no state.json', corrupt: false }]
        : [];
    } catch (e) {
      if (!(e instanceof BoxfestError)) throw e;
      return [{ name, why: e.message, corrupt: true }];
    }
  });
}

/** Real directories under machines/ with a machine-like name the Boxfile does not name. */
function machineDirs(env: Environment): string[] {
  const named = new Set(env.machines.map((m) => m.name));
  let entries;
  try {
    entries = readdirSync(projectPaths(env.root).machines, { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  return entries
    .filter((d) => d.isDirectory() && !named.has(d.name) && DNS_LABEL.test(d.name))
    .map((d) => d.name);
}

function stateOf(env: Environment, name: string): MachineState | undefined {
  try {
    return readMachineState(env.root, name);
  } catch (e) {
    if (e instanceof BoxfestError) return undefined;
    throw e;
  }
}

export function orphanSpec(env: Environment, name: string): MachineSpec {
  const state = stateOf(env, name);
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
