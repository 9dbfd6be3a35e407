import { allocateAddresses } from '../../network/leases.js';
import { readMachineState, updateMachineState } from '../../state/machine-state.js';
import { need, type MachineRun } from '../machine-run.js';
import type { Step } from '../step.js';

export const boot: Step<MachineRun> = {
  name: 'boot',
  title: 'boot',
  skip: (ctx) => {
    if (ctx.actual.state !== 'running') return false;
    if (ctx.actual.ssh !== undefined) ctx.endpoint = ctx.actual.ssh;
    return 'already running';
  },
  run: async (ctx, out) => {
    // Not converged until this pipeline reaches its end; this boot takes cpus/memory from the Boxfile.
    updateMachineState(ctx.env.root, ctx.spec.name, (s) => ({
      ...s,
      converged: false,
      applied: { ...s.applied, cpus: ctx.spec.cpus, memory: ctx.spec.memory, hostname: ctx.spec.hostname },
    }));
    // `up` allocated every machine's addresses in Boxfile order already; this covers other callers.
    allocateAddresses(ctx.env, [ctx.spec]);
    const r = await ctx.provider.start(ctx, need(ctx.box, 'box'));
    ctx.endpoint = r.ssh;
    if (r.note !== undefined) out.line(r.note);
    for (const p of readMachineState(ctx.env.root, ctx.spec.name)?.ports ?? [])
      if (p.host !== p.requested)
        out.line(
          `host port ${p.requested} is taken: guest port ${p.guest} is forwarded from ${p.hostIp}:${p.host} instead`,
        );
    out.title(`booted (${ctx.provider.name}, ${r.accel}), ssh ${r.ssh.host}:${r.ssh.port}`);
  },
  rollback: (ctx) => ctx.provider.stop(ctx, { force: true, timeoutMs: 0 }),
};
