// What every project command starts with: the validated Boxfile, the machines asked for, and
// their observed state.
import { readEnvironment } from '../config/index.js';
import type { Environment, MachineSpec } from '../config/types.js';
import { BoxfestError, isHostUnreachable } from '../errors.js';
import type { MachineJob } from '../pipeline/runner.js';
import { selectMachines, type Observed } from '../plan/reconcile.js';
import type { ActualMachine, MachineContext, Provider } from '../providers/provider.js';
import { providerFor } from '../providers/registry.js';
import { readMachineState } from '../state/machine-state.js';
import { boxfestHome, machinePaths } from '../state/paths.js';
import { projectPaths } from '../state/paths.js';
import { checkProjectTree } from '../state/safe-remove.js';
import { orphanSpecs } from './orphans.js';

export interface Project {
  env: Environment;
  home: string;
  selected: MachineSpec[];
}

/**
 * Loads and validates the Boxfile first: an invalid one stops every command before any VM is
 * touched. Then `.boxfest/` must be boxfest's own (no symlink out of the project anywhere in it).
 */
export function openProject(cwd: string, names: string[]): Project {
  const env = readEnvironment(cwd);
  checkProjectTree(env.root);
  return { env, home: boxfestHome(), selected: selectMachines(env, names) };
}

export function contextOf(env: Environment, spec: MachineSpec): MachineContext {
  return { env, spec, paths: machinePaths(env.root, spec.name) };
}

export function providerOf(spec: MachineSpec): Provider {
  return providerFor(spec.provider);
}

/**
 * Live state of `specs` (and, with `orphans`, of machines left on disk that the Boxfile no longer
 * names, so `reconcile` can plan their removal). With `unreachable: 'unknown'`, the machines of a
 * host that cannot be reached are `unknown` instead of failing the command.
 */
export async function observe(
  env: Environment,
  specs: MachineSpec[],
  opts: { orphans?: boolean; unreachable?: 'throw' | 'unknown' } = {},
): Promise<Map<string, Observed>> {
  const all = opts.orphans === true ? [...specs, ...orphanSpecs(env)] : specs;
  const entries = await Promise.all(
    all.map(async (spec): Promise<[string, Observed]> => {
      const actual = await providerOf(spec)
        .inspect(contextOf(env, spec))
        .catch((e: unknown): ActualMachine => {
          // A host that is down takes only its own machines out of the command.
          if (opts.unreachable !== 'unknown' || !isHostUnreachable(e)) throw e;
          return { name: spec.name, state: 'unknown', reason: e.message, unreachable: e };
        });
      const state = readMachineState(env.root, spec.name);
      // Without state.json (a fresh checkout) the provider may know what the machine was booted with.
      const fromProvider = actual.applied === undefined ? {} : { applied: actual.applied };
      return [
        spec.name,
        state === undefined
          ? { actual, ...fromProvider }
          : { actual, applied: state.applied, converged: state.converged },
      ];
    }),
  );
  return new Map(entries);
}

/** Runs `body` holding the project lock: one mutating command per project at a time. */
export async function withLock<T>(env: Environment, command: string, body: () => Promise<T>): Promise<T> {
  // Loaded here, not at start: commands that only read (status, plan) never need it.
  const { acquireLock } = await import('../state/lock.js');
  const lock = acquireLock(projectPaths(env.root).lock, command);
  try {
    return await body();
  } finally {
    lock.release();
  }
}

/**
 * The job of a machine whose host cannot be reached (`unknown`): it fails with the host's error
 * and touches nothing, neither the hypervisor nor the project's record of the machine, while the
 * command goes on with the machines of the hosts that answer.
 */
export function unreachableJob<C>(
  machine: string,
  a: ActualMachine | undefined,
  ctx: C,
): MachineJob<C> | undefined {
  const error = a?.unreachable;
  if (a?.state !== 'unknown' || error === undefined) return undefined;
  return {
    machine,
    ctx,
    steps: [
      {
        name: 'inspect',
        title: 'reach its host',
        run: () =>
          Promise.reject(
            new BoxfestError(error.code, error.message, {
              machine,
              hint: error.hint,
              details: error.details,
            }),
          ),
      },
    ],
  };
}

export function requireRunning(o: Observed | undefined, machine: string): void {
  const state = o?.actual.state ?? 'not_created';
  if (state !== 'running')
    throw new BoxfestError('MACHINE_NOT_RUNNING', `machine \`${machine}\` is ${state.replace('_', ' ')}`, {
      machine,
      hint:
        state === 'suspended' ? `continue it: boxfest resume ${machine}` : `start it: boxfest up ${machine}`,
    });
}
