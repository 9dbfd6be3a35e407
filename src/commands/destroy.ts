import { existsSync, readdirSync, rmSync } from 'node:fs';
import { BoxfestError } from '../errors.js';
import { rendererFor, runJobs, type MachineJob } from '../pipeline/runner.js';
import { destroyMachine, type DestroyCtx } from '../pipeline/steps/destroy.js';
import { withTriggers } from '../pipeline/steps/triggers.js';
import type { MachineSpec } from '../config/types.js';
import { projectPaths } from '../state/paths.js';
import { readEnvironment } from '../config/index.js';
import { selectMachines } from '../plan/reconcile.js';
import { boxfestHome } from '../state/paths.js';
import { askYesNo, canAsk } from './confirm.js';
import { orphanNames, orphanSpec } from './orphans.js';
import { failIfAnyFailed, jobsSummary, type CommandOptions } from './output.js';
import { contextOf, observe, providerOf, withLock } from './project.js';

export async function destroy(
  cwd: string,
  names: string[],
  o: CommandOptions & { force: boolean },
): Promise<number> {
  const env = readEnvironment(cwd);
  const home = boxfestHome();
  // Machines left on disk that the Boxfile no longer names can be destroyed by name, and go with
  // a destroy of everything.
  const orphans = orphanNames(env);
  const selected: MachineSpec[] =
    names.length === 0
      ? [...env.machines, ...orphans.map((n) => orphanSpec(env, n))]
      : [
          ...selectMachines(
            env,
            names.filter((n) => !orphans.includes(n)),
          ),
          ...names.filter((n) => orphans.includes(n)).map((n) => orphanSpec(env, n)),
        ];
  // A machine counts when boxfest has state for it, or when its provider finds it (VirtualBox finds
  // its VMs through their ownership tags, so destroy works from a fresh checkout without .boxfest/).
  const observed = await observe(env, selected);
  const targets = selected.filter(
    (s) => existsSync(contextOf(env, s).paths.dir) || observed.get(s.name)?.actual.state !== 'not_created',
  );
  if (targets.length === 0) {
    o.note('nothing to destroy');
    if (o.json) o.print('[]');
    return 0;
  }
  if (!o.force) {
    if (!canAsk(o.json))
      throw new BoxfestError('NOT_CONFIRMED', 'destroy needs confirmation, and there is no terminal to ask', {
        hint: 'pass --force to destroy without asking',
      });
    if (
      !(await askYesNo(`Destroy ${targets.map((t) => t.name).join(', ')}? Their disks are deleted. [y/N] `))
    )
      throw new BoxfestError('NOT_CONFIRMED', 'nothing was destroyed', {
        hint: 'answer y, or pass --force to destroy without asking',
      });
  }
  return withLock(env, 'destroy', async () => {
    const jobs: MachineJob<DestroyCtx>[] = targets.map((spec) => ({
      machine: spec.name,
      ctx: { ...contextOf(env, spec), provider: providerOf(spec), home },
      steps: withTriggers(env, spec, 'destroy', [destroyMachine]),
    }));
    const results = await runJobs(jobs, { parallel: true, renderer: rendererFor(o.json) });
    removeProjectDirIfEmpty(env.root);
    if (o.json) o.print(JSON.stringify(jobsSummary(results), null, 2));
    failIfAnyFailed(results, o);
    return 0;
  });
}

/** With the last machine gone, .boxfest/ goes too: destroy leaves nothing behind. */
function removeProjectDirIfEmpty(root: string): void {
  const p = projectPaths(root);
  if (existsSync(p.machines) && readdirSync(p.machines).length > 0) return;
  rmSync(p.machines, { recursive: true, force: true });
  // Switches stopped with their last machine; the leases were released one by one.
  rmSync(p.networks, { recursive: true, force: true });
  // The lock is still ours here; the directory goes once only the lock is left in it.
  const left = existsSync(p.dir) ? readdirSync(p.dir).filter((f) => f !== 'lock') : [];
  if (left.length === 0) rmSync(p.dir, { recursive: true, force: true });
}
