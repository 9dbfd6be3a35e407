// A QEMU machine's state from its files plus a probe: the pidfile (checked against the process's
// command line), the disk, and — for a machine recorded as suspended — QMP `query-status`.
import { existsSync } from 'node:fs';
import type { MachineState } from '../../state/machine-state.js';
import { pidFileProcess } from '../../state/process.js';
import type { ActualMachine, MachineContext } from '../provider.js';
import { qemuPaths, type QemuPaths } from './paths.js';
import { qmpExecute } from './qmp.js';
import { cutOffNetworks, optValue } from './switch.js';

/** What the command line of the QEMU running `disk` holds: the path in an option string, commas doubled. */
export const diskMark = (disk: string) => `file=${optValue(disk)},`;

/** The machine's running QEMU: the process its pidfile names, when that one's command line names its disk. */
export function machineQemuPid(q: Pick<QemuPaths, 'pid' | 'disk'>): number | undefined {
  return pidFileProcess(q.pid, diskMark(q.disk));
}

/** QEMU's run state over QMP: `running`, `paused`, ... ; undefined when QMP does not answer. */
export async function qemuRunState(qmp: string, timeoutMs = 1_000): Promise<string | undefined> {
  try {
    const r = (await qmpExecute(qmp, 'query-status', undefined, timeoutMs)) as { status?: string };
    return r.status;
  } catch {
    return undefined;
  }
}

export async function inspectQemu(
  m: MachineContext,
  state: MachineState,
  pid: number | undefined,
): Promise<ActualMachine> {
  const name = m.spec.name;
  const q = qemuPaths(m.paths.dir);
  const accel = state.accel === undefined ? {} : { accel: state.accel };
  if (pid !== undefined) {
    const ssh = state.sshPort === undefined ? {} : { ssh: { host: '127.0.0.1', port: state.sshPort } };
    const lost = cutOffNetworks(m.env.root, pid);
    const cutOff = lost.length === 0 ? {} : { cutOff: lost };
    // Only a machine boxfest suspended is probed, so `status` of running machines stays file-only;
    // the probe makes sure a flag left by an interrupted `resume` is not believed.
    if (state.suspended === true && (await qemuRunState(q.qmp)) === 'paused')
      return { name, state: 'suspended', ...accel, ...ssh, ...cutOff };
    return { name, state: 'running', ...accel, ...ssh, ...cutOff };
  }
  if (!existsSync(q.disk))
    return { name, state: 'broken', broken: 'disk-missing', reason: `its disk ${q.disk} is missing` };
  // QEMU removes its pidfile when it exits on its own (guest power-off, quit); one left behind
  // means the process was killed or crashed.
  if (existsSync(q.pid))
    return {
      name,
      state: 'broken',
      broken: 'process-gone',
      reason: 'its QEMU process is gone but its pidfile is left (killed or crashed)',
      ...accel,
    };
  return { name, state: 'halted', ...accel };
}
