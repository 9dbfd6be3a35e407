// QEMU snapshots: qcow2 internal snapshots of the machine's overlay (the box image below it is
// never written). Disk-only, so they work with the NVMe test box, which QEMU 7.2 cannot savevm:
// - halted: `qemu-img snapshot -c/-a/-d` on the overlay;
// - running: QMP `blockdev-snapshot-internal-sync` / `-delete-internal-sync` on drive `disk0`,
//   with the VM paused around the save so no write is half in it (the command also has the
//   guest `sync` first). A restore always needs a halted machine: the command halts it, restores,
//   and boots it again, so the guest starts from the snapshot's disk like after a power cut.
// The command checks the names first (SNAPSHOT_EXISTS, SNAPSHOT_NOT_FOUND), for every provider.
import type { SnapshotInfo } from '../optional.js';
import type { MachineContext } from '../provider.js';
import { QEMU_IMG, runTool } from './exec.js';
import { qemuPaths } from './paths.js';
import { qmpExecute } from './qmp.js';
import { qemuRunState } from './inspect.js';

/** The `-drive id=` of the machine's disk in qemuArgs. */
const DRIVE = 'disk0';

export async function listQemuSnapshots(m: MachineContext): Promise<SnapshotInfo[]> {
  // -U: readable while the running VM holds the image lock.
  const { stdout } = await runTool(
    QEMU_IMG,
    ['info', '-U', '--output=json', qemuPaths(m.paths.dir).disk],
    `list the snapshots of ${m.spec.name}`,
  );
  const info = JSON.parse(stdout) as {
    snapshots?: { name: string; 'date-sec': number; 'vm-state-size': number }[];
  };
  return (info.snapshots ?? []).map((s) => ({
    name: s.name,
    createdAt: new Date(s['date-sec'] * 1000).toISOString(),
    vmStateSize: s['vm-state-size'],
  }));
}

export async function saveQemuSnapshot(m: MachineContext, name: string, running: boolean): Promise<void> {
  const { disk, qmp } = qemuPaths(m.paths.dir);
  if (!running) {
    await runTool(QEMU_IMG, ['snapshot', '-c', name, disk], `snapshot ${m.spec.name}`);
    return;
  }
  const wasPaused = (await qemuRunState(qmp)) === 'paused';
  if (!wasPaused) await qmpExecute(qmp, 'stop');
  try {
    await qmpExecute(qmp, 'blockdev-snapshot-internal-sync', { device: DRIVE, name }, 60_000);
  } finally {
    if (!wasPaused) await qmpExecute(qmp, 'cont');
  }
}

/** The machine must be halted. */
export async function restoreQemuSnapshot(m: MachineContext, name: string): Promise<void> {
  await runTool(
    QEMU_IMG,
    ['snapshot', '-a', name, qemuPaths(m.paths.dir).disk],
    `restore snapshot ${name} of ${m.spec.name}`,
  );
}

export async function deleteQemuSnapshot(m: MachineContext, name: string, running: boolean): Promise<void> {
  const { disk, qmp } = qemuPaths(m.paths.dir);
  if (running)
    await qmpExecute(qmp, 'blockdev-snapshot-delete-internal-sync', { device: DRIVE, name }, 60_000);
  else await runTool(QEMU_IMG, ['snapshot', '-d', name, disk], `delete snapshot ${name} of ${m.spec.name}`);
}
