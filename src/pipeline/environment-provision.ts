// Provisioners that run once for the whole environment after every machine's pipeline ended
// (`ansible` with `scope: environment`, the default), like Vagrant's pattern of one Ansible run
// for all machines: the playbook reaches every machine at once and may use one's facts on another.
import { basename } from 'node:path';
import type { AnsibleProvisioner, Environment, MachineSpec } from '../config/types.js';
import type { BoxfestError } from '../errors.js';
import { runAnsiblePlaybook } from '../provision/ansible.js';
import { provisionerDigest } from '../state/applied.js';
import { readMachineState, updateMachineState } from '../state/machine-state.js';
import type { ProvisionMode } from './machine-run.js';
import type { JobResult } from './runner.js';
import { asBoxfestError } from './runner.js';
import { forEnvironment, provisionersToRun } from './steps/provision.js';

/** One environment-wide provisioner, and the machines it runs for (those that declare it and are due). */
export interface EnvironmentRun {
  provisioner: AnsibleProvisioner;
  machines: string[];
}

export interface EnvironmentRunResult extends EnvironmentRun {
  ok: boolean;
  output: string[];
  error?: BoxfestError;
}

/**
 * What runs after the machines' pipelines: each environment-wide provisioner due on a machine
 * whose pipeline ended well (a failed machine is left out, and its failure is reported already).
 * A provisioner in `defaults` is declared on every machine: it runs once, for all of them.
 * Pure but for reading the machines' state.
 */
export function environmentRuns(
  env: Environment,
  selected: readonly MachineSpec[],
  results: readonly JobResult[],
  mode: ProvisionMode,
  only?: readonly string[],
): EnvironmentRun[] {
  const runs = new Map<string, EnvironmentRun>();
  for (const spec of selected) {
    if (results.some((r) => r.machine === spec.name && !r.ok)) continue;
    const state = readMachineState(env.root, spec.name);
    if (state === undefined) continue;
    for (const p of provisionersToRun(spec.provision, mode, state, only)) {
      if (!forEnvironment(p) || p.kind !== 'ansible') continue;
      const key = `${p.name}\0${provisionerDigest(p)}`;
      const run = runs.get(key) ?? { provisioner: p, machines: [] };
      run.machines.push(spec.name);
      runs.set(key, run);
    }
  }
  return [...runs.values()];
}

/** Runs them one after another; a failure is attributed to every machine it ran for. */
export async function runEnvironmentProvisioners(
  env: Environment,
  runs: readonly EnvironmentRun[],
  onLine: (provisioner: string, line: string) => void,
): Promise<EnvironmentRunResult[]> {
  const done: EnvironmentRunResult[] = [];
  for (const run of runs) {
    const p = run.provisioner;
    const output: string[] = [];
    onLine(p.name, `ansible-playbook ${basename(p.playbook)} for ${run.machines.join(', ')}`);
    try {
      await runAnsiblePlaybook(env, p, 'environment', run.machines, (line) => {
        output.push(line);
        onLine(p.name, line);
      });
      if (p.run === 'once')
        for (const m of run.machines)
          updateMachineState(env.root, m, (s) =>
            s.provisioned.includes(p.name) ? s : { ...s, provisioned: [...s.provisioned, p.name] },
          );
      done.push({ ...run, ok: true, output });
    } catch (e) {
      done.push({ ...run, ok: false, output, error: asBoxfestError(e).withContext({ step: 'provision' }) });
    }
  }
  return done;
}

/**
 * The machines' results with each failed environment-wide run added to the machines it ran
 * for, so `--json` and the error report show it under them (step `provision: NAME`).
 */
export function withEnvironmentResults(
  results: readonly JobResult[],
  env: readonly EnvironmentRunResult[],
): JobResult[] {
  const out = [...results];
  for (const r of env) {
    if (r.ok || r.error === undefined) continue;
    for (const m of r.machines) {
      const i = out.findIndex((x) => x.machine === m);
      const failed: JobResult = {
        ...(i < 0 ? { machine: m, ran: [] } : out[i]!),
        ok: false,
        failedStep: `provision: ${r.provisioner.name}`,
        error: r.error.withContext({ machine: m }),
      };
      if (i < 0) out.push(failed);
      else if (out[i]!.ok) out[i] = failed;
    }
  }
  return out;
}
