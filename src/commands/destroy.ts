import { existsSync, readdirSync, rmSync } from 'node:fs';
import { createInterface } from 'node:readline/promises';
import { BoxfestError } from '../errors.js';
import { rendererFor, runJobs, type MachineJob } from '../pipeline/runner.js';
import type { MachineContext, Provider } from '../providers/provider.js';
import { forgetBoxUser } from '../boxes/store.js';
import { readMachineState, removeMachineDir } from '../state/machine-state.js';
import { projectPaths } from '../state/paths.js';
import { failIfAnyFailed, jobsSummary, type CommandOptions } from './output.js';
import { contextOf, observe, openProject, providerOf, withLock } from './project.js';

interface DestroyCtx {
  m: MachineContext;
  provider: Provider;
}

export async function destroy(
  cwd: string,
  names: string[],
  o: CommandOptions & { force: boolean },
): Promise<number> {
  const { env, home, selected } = openProject(cwd, names);
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
  if (
    !o.force &&
    !(await confirm(`Destroy ${targets.map((t) => t.name).join(', ')}? Their disks are deleted. [y/N] `))
  )
    throw new BoxfestError('NOT_CONFIRMED', 'nothing was destroyed', {
      hint: 'answer y, or pass --force to destroy without asking',
    });
  return withLock(env, 'destroy', async () => {
    const jobs: MachineJob<DestroyCtx>[] = targets.map((spec) => ({
      machine: spec.name,
      ctx: { m: contextOf(env, spec), provider: providerOf(spec) },
      steps: [
        {
          name: 'destroy',
          title: 'destroy',
          run: async (c: DestroyCtx) => {
            const boxName = readMachineState(env.root, spec.name)?.box.name;
            await c.provider.destroy(c.m);
            if (boxName !== undefined) forgetBoxUser(home, boxName, c.m.paths.disk);
            removeMachineDir(env.root, spec.name);
          },
        },
      ],
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
  // The lock is still ours here; the directory goes once only the lock is left in it.
  const left = existsSync(p.dir) ? readdirSync(p.dir).filter((f) => f !== 'lock') : [];
  if (left.length === 0) rmSync(p.dir, { recursive: true, force: true });
}

async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY)
    throw new BoxfestError('NOT_CONFIRMED', 'destroy needs confirmation, and there is no terminal to ask', {
      hint: 'pass --force to destroy without asking',
    });
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}
