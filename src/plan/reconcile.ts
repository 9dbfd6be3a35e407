// reconcile(desired, actual) → Plan. Pure: no I/O, so `boxfest plan` and tests can show exactly
// what `up` would do and why.
import type { Environment, MachineSpec } from '../config/types.js';
import { BoxfestError } from '../errors.js';
import type { ActualMachine } from '../providers/provider.js';
import type { AppliedSpec } from '../state/machine-state.js';

/**
 * create: not created yet (or broken: what is left is discarded first)
 * start: halted; boots, then finishes the pipeline
 * continue: running, but its last `up` did not finish (interrupted, provisioner failed)
 * none: running and converged
 */
export type UpAction = 'create' | 'start' | 'continue' | 'none';

export interface Observed {
  actual: ActualMachine;
  /** From state.json; absent when the machine was never created. */
  applied?: AppliedSpec;
  converged?: boolean;
}

export interface MachinePlan {
  machine: string;
  action: UpAction;
  reason: string;
  /** Differences between the Boxfile and what the machine was built with that `up` does not apply. */
  drift: string[];
}

export interface Plan {
  machines: MachinePlan[];
}

export function reconcile(desired: MachineSpec[], observed: ReadonlyMap<string, Observed>): Plan {
  return { machines: desired.map((spec) => planMachine(spec, observed.get(spec.name))) };
}

function planMachine(spec: MachineSpec, o: Observed | undefined): MachinePlan {
  const machine = spec.name;
  const drift = o?.applied === undefined ? [] : driftOf(spec, o.applied);
  switch (o?.actual.state ?? 'not_created') {
    case 'not_created':
      return { machine, action: 'create', reason: 'not created yet', drift: [] };
    case 'broken':
      return {
        machine,
        action: 'create',
        reason: `broken (${o?.actual.reason ?? 'unknown'}): recreate it`,
        drift: [],
      };
    case 'halted':
      // QEMU takes cpus and memory from the Boxfile at every boot: only a new box is left over.
      return { machine, action: 'start', reason: 'halted', drift: drift.filter((d) => d.startsWith('box ')) };
    case 'running':
      return o?.converged === true
        ? { machine, action: 'none', reason: 'running and up to date', drift }
        : { machine, action: 'continue', reason: 'running, but its last `up` did not finish', drift };
  }
}

/** Settings that a running or halted machine cannot take without a reload or recreate. */
export function driftOf(spec: MachineSpec, applied: AppliedSpec): string[] {
  const out: string[] = [];
  if (spec.box !== applied.box)
    out.push(`box changed from ${applied.box} to ${spec.box}: needs destroy and up`);
  if (spec.cpus !== applied.cpus)
    out.push(`cpus changed from ${applied.cpus} to ${spec.cpus}: needs reload (boxfest halt, then up)`);
  if (spec.memory !== applied.memory)
    out.push(
      `memory changed from ${applied.memory} to ${spec.memory} MiB: needs reload (boxfest halt, then up)`,
    );
  return out;
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
