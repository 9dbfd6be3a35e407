// Before any VM of an `up` starts: every fixed forwarded port of a machine about to boot must be
// free, so a collision fails the whole command up front instead of one machine halfway.
import type { MachineSpec } from '../config/types.js';
import { BoxfestError } from '../errors.js';
import { portHolders, portInUse, portIsFree } from './ports.js';

/** `booting`: the machines of `project` this `up` will boot (a reload's own ports do not count). */
export async function checkFixedPorts(
  home: string,
  project: string,
  booting: readonly MachineSpec[],
): Promise<void> {
  const problems: BoxfestError[] = [];
  const holders = portHolders(home);
  const ownPort = (machine: string, port: number) =>
    holders.some((h) => h.project === project && h.machine === machine && h.port === port);
  for (const m of booting)
    for (const p of m.forwardedPorts)
      if (!p.autoCorrect && !ownPort(m.name, p.host) && !(await portIsFree(p.host, p.hostIp, p.protocol)))
        problems.push(portInUse(home, m.name, p));
  if (problems.length === 0) return;
  const first = problems[0]!;
  throw new BoxfestError(
    'PORT_IN_USE',
    problems.length === 1 ? first.message : `${problems.length} forwarded host ports are already in use`,
    {
      ...(problems.length === 1 ? { machine: first.machine } : {}),
      details:
        problems.length === 1 ? undefined : problems.map((p) => `${p.machine}: ${p.message}`).join('\n'),
      hint: `${first.hint ?? ''}; no machine was started`,
    },
  );
}
