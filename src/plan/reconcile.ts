// reconcile(desired, actual) → Plan. Pure: no I/O, so `boxfest plan` and tests can show exactly
// what `up` would do and why.
import type { Environment, MachineSpec, Network } from '../config/types.js';
import { BoxfestError } from '../errors.js';
import type { ActualMachine, MachineStatus } from '../providers/provider.js';
import type { AppliedSpec } from '../state/applied.js';
import { changesOf, type Change } from './drift.js';

export type { Change, ChangeClass } from './drift.js';

/**
 * create: not created yet (or broken beyond repair: what is left is discarded first)
 * start: halted (or its process died); boots with the Boxfile's settings, then finishes the pipeline
 * resume: suspended; continues the paused VM, then finishes the pipeline
 * continue: running, but its last `up` did not finish (interrupted, provisioner failed)
 * apply: running and converged, with changes `up` applies in place (folders, provisioners, hostname)
 * reload: a change needs a new VM process: halt, then boot (`up --reload` or `boxfest reload`)
 * recreate: a change needs a new disk: destroy, then create (`up --recreate`)
 * none: running and up to date
 * remove: on disk but no longer in the Boxfile (`up --prune` or `destroy NAME`; never silently)
 */
/** `unreachable`: its host cannot be reached, so nothing can be done to it now. */
export type UpAction =
  | 'create'
  | 'start'
  | 'resume'
  | 'continue'
  | 'apply'
  | 'reload'
  | 'recreate'
  | 'none'
  | 'remove'
  | 'unreachable';

/** Actions `up` takes only when asked (`--reload`, `--recreate`, `--prune`) or confirmed on a terminal. */
export const NEEDS_CONSENT: readonly UpAction[] = ['reload', 'recreate', 'remove'];

export interface Observed {
  actual: ActualMachine;
  /** From state.json; absent when the machine was never created. */
  applied?: AppliedSpec;
  converged?: boolean;
}

export interface MachinePlan {
  machine: string;
  /** The observed state. */
  state: MachineStatus;
  action: UpAction;
  reason: string;
  /** Differences between the Boxfile and what the machine was built, booted and converged with. */
  changes: Change[];
}

/** `boxfest plan --json` prints this object; `version` changes only when its shape does. */
export interface Plan {
  version: 1;
  machines: MachinePlan[];
}

/**
 * One plan per desired machine, in order; then a `remove` plan for every observed machine the
 * Boxfile no longer has (by name). `networks`: the Environment's network definitions.
 */
export function reconcile(
  desired: MachineSpec[],
  observed: ReadonlyMap<string, Observed>,
  networks: readonly Network[],
): Plan {
  const names = new Set(desired.map((s) => s.name));
  const removed = [...observed.entries()]
    .filter(([name, o]) => !names.has(name) && o.actual.state !== 'not_created')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([machine, o]): MachinePlan => ({
      machine,
      state: o.actual.state,
      action: 'remove',
      reason: 'no longer in the Boxfile',
      changes: [],
    }));
  return {
    version: 1,
    machines: [...desired.map((s) => planMachine(s, observed.get(s.name), networks)), ...removed],
  };
}

function planMachine(spec: MachineSpec, o: Observed | undefined, networks: readonly Network[]): MachinePlan {
  const machine = spec.name;
  const state = o?.actual.state ?? 'not_created';
  const changes =
    o?.applied === undefined || state === 'not_created' ? [] : changesOf(spec, o.applied, networks);
  const has = (c: string) => changes.some((x) => x.class === c);
  const plan = (action: UpAction, reason: string): MachinePlan => ({
    machine,
    state,
    action,
    reason,
    changes,
  });
  const recreate = () =>
    plan(
      'recreate',
      `${changes
        .filter((c) => c.class === 'recreate')
        .map((c) => c.field)
        .join(', ')} changed: needs a new disk (destroy, then create)`,
    );
  const reload = () =>
    plan(
      'reload',
      `${changes
        .filter((c) => c.class === 'reload')
        .map((c) => c.field)
        .join(', ')} changed: needs a reboot with the new settings (halt, then up)`,
    );
  const lost = o?.actual.cutOff ?? [];
  const cutOff =
    lost.length === 0
      ? undefined
      : plan(
          'reload',
          `the switch of network ${lost.join(', ')} died under it (killed or crashed): its NIC there is cut off until a reboot (halt, then up)`,
        );
  switch (state) {
    case 'unknown':
      return { ...plan('unreachable', o?.actual.reason ?? 'its host cannot be reached'), changes: [] };
    case 'not_created':
      return plan('create', 'not created yet');
    case 'broken':
      if (o?.actual.broken === 'process-gone')
        return has('recreate')
          ? recreate()
          : plan('start', `broken (${o.actual.reason ?? 'its process is gone'}): boot it again`);
      // Nothing usable is left: changes against it do not matter.
      return { ...plan('create', `broken (${o?.actual.reason ?? 'unknown'}): recreate it`), changes: [] };
    case 'halted':
      // A boot takes cpus, memory, NICs and ports from the Boxfile: only a new disk is left over.
      return has('recreate') ? recreate() : plan('start', 'halted');
    case 'suspended':
      if (has('recreate')) return recreate();
      if (cutOff !== undefined) return cutOff;
      return has('reload') ? reload() : plan('resume', 'suspended');
    case 'running':
      if (has('recreate')) return recreate();
      if (cutOff !== undefined) return cutOff;
      if (has('reload')) return reload();
      if (o?.converged !== true) return plan('continue', 'running, but its last `up` did not finish');
      return has('in_place')
        ? plan('apply', 'running; the Boxfile changed in ways `up` applies in place')
        : plan('none', 'running and up to date');
  }
}

/** Machines the Boxfile names, filtered by the names given on the command line. */
export function selectMachines(env: Environment, names: string[]): MachineSpec[] {
  if (names.length === 0) return env.machines;
  return names.map((n) => {
    const m = env.machines.find((x) => x.name === n);
    if (m === undefined)
      throw new BoxfestError('UNKNOWN_MACHINE', `no machine named \`${n}\` in ${env.file}`, {
        hint: `machines in this Boxfile: ${env.machines.map((x) => x.name).join(', ')}`,
      });
    return m;
  });
}
