import { allocateAddresses } from '../../network/leases.js';
import { bootPart } from '../../state/applied.js';
import { readMachineState, restoreAhead, updateMachineState } from '../../state/machine-state.js';
import { need, type MachineRun } from '../machine-run.js';
import type { Step, StepOutput } from '../step.js';

export const boot: Step<MachineRun> = {
  name: 'boot',
  title: 'boot',
  skip: (ctx) => {
    if (ctx.actual.state !== 'running' || ctx.actual.ssh === undefined) return false;
    ctx.endpoint = ctx.actual.ssh;
    return 'already running';
  },
  run: async (ctx, out) => {
    // Running without a known SSH port: an `up` was killed while launching it. Start it over.
    if (ctx.actual.state === 'running') await ctx.provider.stop(ctx, { force: true, timeoutMs: 0 });
    // Not converged until this pipeline reaches its end; this boot takes the boot part of the
    // spec (cpus, memory, NICs, ports, provider settings) from the Boxfile.
    updateMachineState(ctx.env.root, ctx.spec.name, (s) => ({
      ...s,
      converged: false,
      suspended: false,
      applied: { ...s.applied, ...bootPart(ctx.spec, ctx.env.networks) },
    }));
    // `up` allocated every machine's addresses in Boxfile order already; this covers other callers.
    allocateAddresses(ctx.env, [ctx.spec]);
    await takeBootSlot(ctx, out);
    ctx.launchedAt = Date.now();
    // A restore that fails falls back to a boot, which is paced like any other.
    ctx.bootTurn = async () => {
      await takeBootSlot(ctx, out, true);
      ctx.launchedAt = Date.now();
    };
    const r = await ctx.provider.start(ctx, need(ctx.box, 'box'));
    ctx.endpoint = r.ssh;
    // Where SSH is now (a forward on this host, or the guest's own address): ssh_config, rsync-auto.
    updateMachineState(ctx.env.root, ctx.spec.name, (s) => ({
      ...s,
      sshHost: r.ssh.host,
      sshPort: r.ssh.port,
    }));
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

/**
 * Waits for this machine's turn to boot (`up` paces cold boots to the host). A first start from a
 * saved ready state is a restore, not a boot: it costs a fraction of one and is not paced.
 */
async function takeBootSlot(ctx: MachineRun, out: StepOutput, restoreFailed = false): Promise<void> {
  if (ctx.pacer === undefined || ctx.bootSlot !== undefined) return;
  const instant = readMachineState(ctx.env.root, ctx.spec.name)?.instant;
  if (!restoreFailed && restoreAhead(instant)) return;
  let told = false;
  ctx.bootSlot = await ctx.pacer.acquire(ctx.spec.name, ({ ahead, booting }) => {
    const where = `${booting} booting, ${ahead === 0 ? 'next' : `${ahead} ahead`}`;
    // Once as a line (plain output shows it), then live in the title.
    if (!told) out.line(`waiting for its turn to boot (${where})`);
    told = true;
    out.title(`waiting to boot: ${where}`);
  });
  ctx.bootWaitedMs = ctx.bootSlot.waitedMs;
  if (ctx.bootSlot.waitedMs >= 100)
    out.line(`waited ${(ctx.bootSlot.waitedMs / 1000).toFixed(1)} s for its turn to boot`);
  out.title('boot');
}
