import type { Provisioner } from '../../config/types.js';
import { provisionerDigest } from '../../state/applied.js';
import { runAnsibleLocal, runAnsiblePlaybook } from '../../provision/ansible.js';
import { runFileProvisioner } from '../../provision/file.js';
import { runShellProvisioner } from '../../provision/shell.js';
import { FLUSH_TO_DISK } from '../../guest/durable.js';
import { execChecked } from '../../ssh/client.js';
import { readMachineState, updateMachineState, type MachineState } from '../../state/machine-state.js';
import { need, type MachineRun, type ProvisionMode } from '../machine-run.js';
import type { Step } from '../step.js';

/**
 * Which provisioners run: named ones only (`--with`, whatever their `run`), else never `never`
 * ones, and `once` ones in `auto` mode only until they succeeded on this machine — or again when
 * the Boxfile changed them since (their digest differs from the applied spec's).
 */
export function provisionersToRun(
  all: Provisioner[],
  mode: ProvisionMode,
  state: MachineState,
  only?: readonly string[],
): Provisioner[] {
  if (mode === 'none') return [];
  if (only !== undefined && only.length > 0) return all.filter((p) => only.includes(p.name));
  const runnable = all.filter((p) => p.run !== 'never');
  if (mode === 'all') return runnable;
  const applied = new Map((state.applied.provisioners ?? []).map((p) => [p.name, p.digest]));
  const changed = (p: Provisioner) => applied.has(p.name) && applied.get(p.name) !== provisionerDigest(p);
  return runnable.filter((p) => p.run === 'always' || !state.provisioned.includes(p.name) || changed(p));
}

/** An `ansible` provisioner run once for the whole environment after every machine is up, not in this step. */
export const forEnvironment = (p: Provisioner): boolean => p.kind === 'ansible' && p.scope === 'environment';

export const provision: Step<MachineRun> = {
  name: 'provision',
  title: 'provision',
  interruptible: true,
  skip: (ctx) => {
    if (ctx.provision === 'none') return 'provisioning disabled';
    const state = readMachineState(ctx.env.root, ctx.spec.name);
    if (state === undefined) return false;
    const todo = provisionersToRun(ctx.spec.provision, ctx.provision, state, ctx.provisionWith);
    if (todo.length > 0 && todo.every(forEnvironment))
      return 'ansible runs for the environment after every machine is up';
    if (todo.length === 0) return ctx.spec.provision.length === 0 ? 'no provisioners' : 'already provisioned';
    return false;
  },
  run: async (ctx, out) => {
    const state = need(readMachineState(ctx.env.root, ctx.spec.name), 'machine state');
    const todo = provisionersToRun(ctx.spec.provision, ctx.provision, state, ctx.provisionWith).filter(
      (p) => !forEnvironment(p),
    );
    for (const p of todo) {
      out.title(`provision: ${p.name}`);
      const onLine = (line: string) => {
        ctx.log.push(line);
        out.line(line);
      };
      const ssh = need(ctx.ssh, 'ssh').client;
      if (p.kind === 'shell') await runShellProvisioner(ssh, ctx.spec.name, state.sshUser, p, onLine);
      else if (p.kind === 'file') await runFileProvisioner(ssh, ctx.spec.name, p, onLine);
      else if (p.where === 'guest') await runAnsibleLocal(ssh, ctx.spec.name, state.sshUser, p, onLine);
      else await runAnsiblePlaybook(ctx.env, p, `machine-${ctx.spec.name}`, [ctx.spec.name], onLine);
      if (p.run === 'once') {
        // A `once` provisioner never runs again: its effects must outlive a crash first.
        await execChecked(ssh, FLUSH_TO_DISK, "flushing the provisioner's writes to disk", ctx.spec.name);
        updateMachineState(ctx.env.root, ctx.spec.name, (s) =>
          s.provisioned.includes(p.name) ? s : { ...s, provisioned: [...s.provisioned, p.name] },
        );
      }
    }
    out.title(`provisioned (${todo.map((p) => p.name).join(', ')})`);
  },
};
