import { existsSync, readdirSync } from 'node:fs';
import { BoxfestError, isHostUnreachable } from '../errors.js';
import { rendererFor, runJobs, type MachineJob } from '../pipeline/runner.js';
import { destroyMachine, type DestroyCtx } from '../pipeline/steps/destroy.js';
import { withTriggers } from '../pipeline/steps/triggers.js';
import type { Environment, MachineSpec } from '../config/types.js';
import { projectPaths } from '../state/paths.js';
import { readEnvironment } from '../config/index.js';
import { selectMachines, type Observed } from '../plan/reconcile.js';
import { boxfestHome } from '../state/paths.js';
import { checkProjectTree, removeOwnFile, removeOwnTree, realDirChain } from '../state/safe-remove.js';
import { askYesNo, canAsk } from './confirm.js';
import { orphanNames, orphanSpec, strayMachineDirs } from './orphans.js';
import { failIfAnyFailed, jobsSummary, type CommandOptions } from './output.js';
import { contextOf, providerOf, unreachableJob, withLock } from './project.js';

export async function destroy(
  cwd: string,
  names: string[],
  o: CommandOptions & { force: boolean },
): Promise<number> {
  const env = readEnvironment(cwd);
  const home = boxfestHome();
  // A symlinked or misshapen .boxfest/ stops everything before anything is read or removed.
  checkProjectTree(env.root);
  // Targets are chosen holding the lock: an `up` that was creating machines has finished by then.
  return withLock(env, 'destroy', async () => {
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
    if (names.length === 0)
      for (const s of strayMachineDirs(env))
        o.note(
          `${projectPaths(env.root).machines}/${s.name}: not a machine boxfest made (${s.why}); left alone`,
        );
    // A machine counts when boxfest has state for it, or when its provider finds it (VirtualBox finds
    // its VMs through their ownership tags, so destroy works from a fresh checkout without .boxfest/).
    const observed = await observeForDestroy(env, selected);
    const targets = selected.filter(
      (s) => existsSync(contextOf(env, s).paths.dir) || observed.get(s.name)?.actual.state !== 'not_created',
    );
    if (targets.length === 0) {
      removeProjectDirIfEmpty(env.root); // taking the lock made .boxfest/
      o.note('nothing to destroy');
      if (o.json) o.print('[]');
      return 0;
    }
    if (!o.force) {
      if (!canAsk(o.json))
        throw new BoxfestError(
          'NOT_CONFIRMED',
          'destroy needs confirmation, and there is no terminal to ask',
          {
            hint: 'pass --force to destroy without asking',
          },
        );
      if (
        !(await askYesNo(`Destroy ${targets.map((t) => t.name).join(', ')}? Their disks are deleted. [y/N] `))
      )
        throw new BoxfestError('NOT_CONFIRMED', 'nothing was destroyed', {
          hint: 'answer y, or pass --force to destroy without asking',
        });
    }
    const jobs: MachineJob<DestroyCtx>[] = targets.map((spec) => {
      const ctx = { ...contextOf(env, spec), provider: providerOf(spec), home };
      return (
        unreachableJob(spec.name, observed.get(spec.name)?.actual, ctx) ?? {
          machine: spec.name,
          ctx,
          steps: withTriggers(env, spec, 'destroy', [destroyMachine]),
        }
      );
    });
    const results = await runJobs(jobs, { parallel: true, renderer: rendererFor(o.json) });
    removeProjectDirIfEmpty(env.root);
    if (o.json) o.print(JSON.stringify(jobsSummary(results), null, 2));
    failIfAnyFailed(results, o);
    return 0;
  });
}

/**
 * Like observe(), but a machine whose state.json boxfest cannot read is still a target (shown as
 * broken): destroy is how the user gets out of that.
 */
async function observeForDestroy(env: Environment, specs: MachineSpec[]): Promise<Map<string, Observed>> {
  const entries = await Promise.all(
    specs.map(async (spec): Promise<[string, Observed]> => {
      try {
        return [spec.name, { actual: await providerOf(spec).inspect(contextOf(env, spec)) }];
      } catch (e) {
        // A host that is down: its machines are kept as they are (failed below), the others go.
        if (isHostUnreachable(e))
          return [
            spec.name,
            { actual: { name: spec.name, state: 'unknown', reason: e.message, unreachable: e } },
          ];
        if (!(e instanceof BoxfestError) || e.code !== 'STATE_CORRUPT') throw e;
        return [spec.name, { actual: { name: spec.name, state: 'broken', reason: e.message } }];
      }
    }),
  );
  return new Map(entries);
}

/** With the last machine gone, .boxfest/ goes too: destroy leaves nothing behind. */
function removeProjectDirIfEmpty(root: string): void {
  const p = projectPaths(root);
  if (!realDirChain(root, ['.boxfest'])) return;
  if (realDirChain(root, ['.boxfest', 'machines'])) {
    if (readdirSync(p.machines).length > 0) return;
    removeOwnTree(root, p.machines);
  }
  // Switches stopped with their last machine; the leases were released one by one.
  removeOwnTree(root, p.networks);
  // The lock is still ours here; the directory goes once only the lock is left in it.
  const left = readdirSync(p.dir).filter((f) => f !== 'lock');
  if (left.length === 0) {
    removeOwnFile(root, p.lock);
    removeOwnTree(root, p.dir);
  }
}
