import { BoxfestError } from '../errors.js';
import { closeSsh, newMachineRun, type MachineRun } from '../pipeline/machine-run.js';
import { rendererFor, runJobs, type MachineJob } from '../pipeline/runner.js';
import { withTriggers } from '../pipeline/steps/triggers.js';
import { provisionPipeline } from '../pipeline/up.js';
import {
  environmentRuns,
  runEnvironmentProvisioners,
  withEnvironmentResults,
} from '../pipeline/environment-provision.js';
import { environmentOutput, finishJobs, type CommandOptions } from './output.js';
import { observe, openProject, providerOf, requireRunning, withLock } from './project.js';

/** Runs every provisioner (`once` ones too) on running machines, like `vagrant provision`. */
export async function provision(
  cwd: string,
  names: string[],
  o: CommandOptions & { with: string[] },
): Promise<number> {
  const { env, home, selected } = openProject(cwd, names);
  return withLock(env, 'provision', async () => {
    const observed = await observe(env, selected);
    for (const s of selected) requireRunning(observed.get(s.name), s.name);
    for (const name of o.with)
      if (!selected.some((s) => s.provision.some((p) => p.name === name)))
        throw new BoxfestError(
          'UNKNOWN_PROVISIONER',
          `no provisioner named \`${name}\` on ${selected.map((s) => s.name).join(', ')}`,
          {
            hint: 'names come from `name:` in the Boxfile, or `shell-N` / `file-N` by position',
          },
        );
    const jobs: MachineJob<MachineRun>[] = selected.map((spec) => {
      const run = newMachineRun(env, spec, providerOf(spec), home, observed.get(spec.name)!.actual, 'all');
      run.endpoint = observed.get(spec.name)!.actual.ssh;
      run.provisionWith = o.with;
      return { machine: spec.name, steps: withTriggers(env, spec, 'provision', provisionPipeline), ctx: run };
    });
    const ran = await runJobs(jobs, { parallel: true, renderer: rendererFor(o.json) });
    for (const j of jobs) closeSsh(j.ctx);
    const envRuns = await runEnvironmentProvisioners(
      env,
      environmentRuns(env, selected, ran, 'all', o.with),
      environmentOutput(o),
    );
    finishJobs(jobs, withEnvironmentResults(ran, envRuns), o, envRuns);
    return 0;
  });
}
