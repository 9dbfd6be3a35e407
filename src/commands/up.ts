import { reconcile } from '../plan/reconcile.js';
import { closeSsh, newMachineRun, type MachineRun, type ProvisionMode } from '../pipeline/machine-run.js';
import { rendererFor, runJobs, type MachineJob } from '../pipeline/runner.js';
import { provisionPipeline, upPipeline } from '../pipeline/up.js';
import { failIfAnyFailed, jobsSummary, type CommandOptions } from './output.js';
import { observe, openProject, providerOf, withLock } from './project.js';
import { allocateAddresses } from '../network/leases.js';
import { checkFixedPorts } from '../network/preflight.js';

export interface UpOptions extends CommandOptions {
  parallel: boolean;
  provision: ProvisionMode;
}

export async function up(cwd: string, names: string[], o: UpOptions): Promise<number> {
  const { env, home, selected: named } = openProject(cwd, names);
  // `autostart: false` machines come up only when named.
  const selected = names.length > 0 ? named : named.filter((m) => m.autostart);
  return withLock(env, 'up', async () => {
    const observed = await observe(env, selected);
    const plan = reconcile(selected, observed);
    const booting = plan.machines.filter((m) => m.action === 'create' || m.action === 'start');
    // Before any VM starts: colliding fixed ports fail the whole command; addresses are
    // allocated in Boxfile order, so the same Boxfile always gives the same ones.
    await checkFixedPorts(
      home,
      selected.filter((s) => booting.some((b) => b.machine === s.name)),
    );
    allocateAddresses(env, selected);
    for (const m of plan.machines) for (const d of m.drift) o.note(`${m.machine}: ${d}`);
    // `--provision` on a machine that is up to date runs its provisioners, as Vagrant does.
    const provisionOnly = (action: string) => action === 'none' && o.provision === 'all';
    const jobs: MachineJob<MachineRun>[] = plan.machines
      .filter((m) => m.action !== 'none' || provisionOnly(m.action))
      .map((m) => {
        const spec = selected.find((s) => s.name === m.machine)!;
        const run = newMachineRun(
          env,
          spec,
          providerOf(spec),
          home,
          observed.get(m.machine)!.actual,
          o.provision,
        );
        if (!provisionOnly(m.action)) return { machine: m.machine, steps: upPipeline, ctx: run };
        run.endpoint = run.actual.ssh;
        return { machine: m.machine, steps: provisionPipeline, ctx: run };
      });
    for (const m of plan.machines.filter((x) => x.action === 'none' && !provisionOnly(x.action)))
      o.note(`${m.machine}: ${m.reason}, nothing to do`);
    const results = await runJobs(jobs, { parallel: o.parallel, renderer: rendererFor(o.json) });
    for (const j of jobs) closeSsh(j.ctx);
    if (o.json)
      o.print(
        JSON.stringify(
          plan.machines.map((m) => {
            const r = results.find((x) => x.machine === m.machine);
            const log = jobs.find((j) => j.machine === m.machine)?.ctx.log ?? [];
            return { ...m, ...(r ? jobsSummary([r])[0] : { ok: true, steps: [] }), output: log };
          }),
          null,
          2,
        ),
      );
    failIfAnyFailed(results, o);
    return 0;
  });
}
