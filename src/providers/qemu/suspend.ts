// QEMU suspend = pause in place (QMP `stop`/`cont`): the process stays, the guest's RAM and
// processes are kept. Not savevm/migrate to a file: QEMU 7.2 cannot migrate a VM with an NVMe
// disk ("non-migratable device nvme"), which the test box uses. The price: a suspended machine
// still holds its memory, and does not survive a host reboot (it then shows as broken, and
// `up` boots it again).
import { BoxfestError } from '../../errors.js';
import { updateMachineState } from '../../state/machine-state.js';
import type { MachineContext } from '../provider.js';
import { qemuPaths } from './paths.js';
import { qmpExecute } from './qmp.js';

function notRunning(m: MachineContext, verb: string): BoxfestError {
  return new BoxfestError(
    'MACHINE_NOT_RUNNING',
    `machine \`${m.spec.name}\` is not running: cannot ${verb} it`,
    {
      machine: m.spec.name,
      hint: `start it first: boxfest up ${m.spec.name}`,
    },
  );
}

export async function suspendQemu(m: MachineContext, pid: number | undefined): Promise<void> {
  if (pid === undefined) throw notRunning(m, 'suspend');
  // The flag first: a crash between the two leaves a running VM with the flag, which inspect
  // checks with QMP and reports as running.
  updateMachineState(m.env.root, m.spec.name, (s) => ({ ...s, suspended: true }));
  await qmpExecute(qemuPaths(m.paths.dir).qmp, 'stop');
}

export async function resumeQemu(m: MachineContext, pid: number | undefined): Promise<void> {
  if (pid === undefined) throw notRunning(m, 'resume');
  await qmpExecute(qemuPaths(m.paths.dir).qmp, 'cont');
  updateMachineState(m.env.root, m.spec.name, (s) => ({ ...s, suspended: false }));
}
