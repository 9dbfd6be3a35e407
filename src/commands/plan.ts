import { reconcile, type Plan } from '../plan/reconcile.js';
import type { CommandOptions } from './output.js';
import { observe, openProject } from './project.js';

/**
 * What `up` would do and why, without doing it. `--json` prints the Plan itself (its shape is
 * documented in docs/plan-json.md and pinned by a snapshot test).
 */
export async function plan(cwd: string, names: string[], o: CommandOptions): Promise<number> {
  const { env, selected } = openProject(cwd, names);
  const p = reconcile(
    selected,
    await observe(env, selected, { orphans: names.length === 0, unreachable: 'unknown' }),
    env.networks,
  );
  if (o.json) o.print(JSON.stringify(p, null, 2));
  else for (const line of planText(p)) o.print(line);
  return 0;
}

const MARK = { in_place: '~', reload: '!', recreate: '!!' } as const;

export function planText(p: Plan): string[] {
  if (p.machines.length === 0) return ['no machines'];
  const width = Math.max(...p.machines.map((m) => m.machine.length));
  return p.machines.flatMap((m) => [
    `${m.machine.padEnd(width)}  ${m.action.padEnd(8)}  ${m.reason}`,
    ...m.changes.map(
      (c) => `${' '.repeat(width)}  ${MARK[c.class].padStart(2)} ${c.message} (${c.class.replace('_', ' ')})`,
    ),
  ]);
}
