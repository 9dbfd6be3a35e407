import type { Environment, MachineSpec } from '../config/types.js';
import { closeSsh, newMachineRun, type MachineRun } from '../pipeline/machine-run.js';
import { rendererFor, runJobs, type JobResult, type MachineJob } from '../pipeline/runner.js';
import type { Step } from '../pipeline/step.js';
import { waitSsh } from '../pipeline/steps/wait-ssh.js';
import { syncAll } from '../pipeline/steps/sync-folders.js';
import { rsyncFolders } from '../sync/shares.js';
import { finishJobs, type CommandOptions } from './output.js';
import { observe, openProject, providerOf, requireRunning, withLock } from './project.js';

/** Like the `up` pipeline's sync-folders, but also keeps rsync's summary lines for --json. */
const syncNow: Step<MachineRun> = {
  name: 'sync-folders',
  title: 'sync folders',
  skip: (ctx) =>
    rsyncFolders(ctx.spec).length === 0 ? 'no rsync folders (live shares need no copy)' : false,
  run: async (ctx, out) => {
    await syncAll(ctx, (l) => {
      ctx.log.push(l);
      out.line(l);
    });
    out.title(`synced ${rsyncFolders(ctx.spec).length} folder(s)`);
  },
};

/** `rsync` on a running machine: connect, then sync every enabled folder. */
export const rsyncPipeline: Step<MachineRun>[] = [waitSsh, syncNow];

/** Syncs the enabled folders of `specs` (all running) now; the caller holds the lock. */
export async function syncMachines(
  env: Environment,
  home: string,
  specs: MachineSpec[],
  json: boolean,
): Promise<{ jobs: MachineJob<MachineRun>[]; results: JobResult[] }> {
  const observed = await observe(env, specs);
  for (const s of specs) requireRunning(observed.get(s.name), s.name);
  const jobs: MachineJob<MachineRun>[] = specs.map((spec) => {
    const run = newMachineRun(env, spec, providerOf(spec), home, observed.get(spec.name)!.actual, 'none');
    run.endpoint = observed.get(spec.name)!.actual.ssh;
    return { machine: spec.name, steps: rsyncPipeline, ctx: run };
  });
  const results = await runJobs(jobs, { parallel: true, renderer: rendererFor(json) });
  for (const j of jobs) closeSsh(j.ctx);
  return { jobs, results };
}

/** `boxfest rsync [MACHINE...]`: syncs the enabled synced folders of running machines now. */
export async function rsyncNow(cwd: string, names: string[], o: CommandOptions): Promise<number> {
  const { env, home, selected } = openProject(cwd, names);
  return withLock(env, 'rsync', async () => {
    const { jobs, results } = await syncMachines(env, home, selected, o.json);
    finishJobs(jobs, results, o);
    return 0;
  });
}
