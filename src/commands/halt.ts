import { rendererFor, runJobs, type MachineJob } from '../pipeline/runner.js';
import type { MachineContext, Provider } from '../providers/provider.js';
import { readMachineState, updateMachineState } from '../state/machine-state.js';
import { failIfAnyFailed, jobsSummary, type CommandOptions } from './output.js';
import { contextOf, observe, openProject, providerOf, unreachableJob, withLock } from './project.js';

import { HALT_TIMEOUT_S } from '../pipeline/steps/reload-halt.js';
import { withTriggers } from '../pipeline/steps/triggers.js';

interface HaltCtx {
  m: MachineContext;
  provider: Provider;
  force: boolean;
}

export async function halt(
  cwd: string,
  names: string[],
  o: CommandOptions & { force: boolean },
): Promise<number> {
  const { env, selected } = openProject(cwd, names);
  return withLock(env, 'halt', async () => {
    // A host that is down fails only its machines; the others halt.
    const observed = await observe(env, selected, { unreachable: 'unknown' });
    const down = selected.flatMap((spec) => {
      const job = unreachableJob<HaltCtx>(spec.name, observed.get(spec.name)?.actual, {
        m: contextOf(env, spec),
        provider: providerOf(spec),
        force: o.force,
      });
      return job === undefined ? [] : [job];
    });
    const jobs: MachineJob<HaltCtx>[] = selected
      // A suspended machine is continued and shut down; one whose process died has its leftovers cleared.
      .filter((s) => {
        const a = observed.get(s.name)?.actual;
        return a?.state === 'running' || a?.state === 'suspended' || a?.broken === 'process-gone';
      })
      .map((spec) => ({
        machine: spec.name,
        ctx: { m: contextOf(env, spec), provider: providerOf(spec), force: o.force },
        steps: withTriggers<HaltCtx>(env, spec, 'halt', [
          {
            name: 'halt',
            title: o.force ? 'power off' : 'ACPI shutdown',
            run: async (c: HaltCtx) => {
              await c.provider.stop(c.m, { force: c.force, timeoutMs: HALT_TIMEOUT_S * 1000 });
              if (readMachineState(env.root, spec.name) !== undefined)
                updateMachineState(env.root, spec.name, (s) => ({ ...s, converged: false }));
            },
          },
        ]),
      }));
    for (const s of selected)
      if (![...jobs, ...down].some((j) => j.machine === s.name)) o.note(`${s.name}: not running`);
    const results = await runJobs([...jobs, ...down], { parallel: true, renderer: rendererFor(o.json) });
    if (o.json) o.print(JSON.stringify(jobsSummary(results), null, 2));
    failIfAnyFailed(results, o);
    return 0;
  });
}
