import { reconcile } from '../plan/reconcile.js';
import type { CommandOptions } from './output.js';
import { observe, openProject } from './project.js';

/** What `up` would do and why, without doing it. */
export async function plan(cwd: string, names: string[], o: CommandOptions): Promise<number> {
  const { env, selected } = openProject(cwd, names);
  const p = reconcile(selected, await observe(env, selected));
  if (o.json) {
    o.print(JSON.stringify(p, null, 2));
    return 0;
  }
  const width = Math.max(...p.machines.map((m) => m.machine.length));
  for (const m of p.machines) {
    o.print(`${m.machine.padEnd(width)}  ${m.action.padEnd(8)}  ${m.reason}`);
    for (const d of m.drift) o.print(`${' '.repeat(width)}  drift: ${d}`);
  }
  return 0;
}
