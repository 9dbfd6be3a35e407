// `suspend` and `resume`: pause running machines in place and continue them, through the
// provider's optional Suspender capability.
import type { MachineSpec } from '../config/types.js';
import { suspenderOf } from '../providers/optional.js';
import type { MachineContext, MachineStatus, Provider } from '../providers/provider.js';
import { rendererFor, runJobs, type MachineJob } from '../pipeline/runner.js';
import { failIfAnyFailed, jobsSummary, type CommandOptions } from './output.js';
import { contextOf, observe, openProject, providerOf, withLock } from './project.js';

interface Ctx extends MachineContext {
  provider: Provider;
}

export function suspend(cwd: string, names: string[], o: CommandOptions): Promise<number> {
  return change(cwd, names, o, 'suspend', 'running', 'suspended', (c) => suspenderOf(c.provider).suspend(c));
}

export function resume(cwd: string, names: string[], o: CommandOptions): Promise<number> {
  return change(cwd, names, o, 'resume', 'suspended', 'running', (c) => suspenderOf(c.provider).resume(c));
}

async function change(
  cwd: string,
  names: string[],
  o: CommandOptions,
  verb: 'suspend' | 'resume',
  from: MachineStatus,
  to: MachineStatus,
  act: (c: Ctx) => Promise<void>,
): Promise<number> {
  const { env, selected } = openProject(cwd, names);
  // Asking for the capability before anything else: a provider without it fails at once.
  for (const s of selected) suspenderOf(providerOf(s));
  return withLock(env, verb, async () => {
    const observed = await observe(env, selected);
    const targets: MachineSpec[] = [];
    for (const s of selected) {
      const state = observed.get(s.name)?.actual.state ?? 'not_created';
      if (state === from) targets.push(s);
      else
        o.note(
          `${s.name}: ${state === to ? `already ${to}` : `${state.replace('_', ' ')}, nothing to ${verb}`}`,
        );
    }
    const jobs: MachineJob<Ctx>[] = targets.map((spec) => ({
      machine: spec.name,
      ctx: { ...contextOf(env, spec), provider: providerOf(spec) },
      steps: [{ name: verb, title: verb, run: act }],
    }));
    const results = await runJobs(jobs, { parallel: true, renderer: rendererFor(o.json) });
    if (o.json) o.print(JSON.stringify(jobsSummary(results), null, 2));
    failIfAnyFailed(results, o);
    return 0;
  });
}
