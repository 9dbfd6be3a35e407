// The QEMU command line of a machine, as a pure function of its spec (unit-tested).
import { createHash } from 'node:crypto';
import type { DiskInterface } from '../../boxes/store.js';
import type { MachineSpec } from '../../config/types.js';
import type { MachinePaths } from '../../state/paths.js';
import type { Accel } from './accel.js';

export interface LaunchInput {
  project: string;
  spec: MachineSpec;
  paths: MachinePaths;
  diskInterface: DiskInterface;
  accel: Accel;
  sshPort: number;
  /** QEMU user networking with restrict=on: the guest reaches nothing but the host's forwards. */
  restrictNat: boolean;
}

/** A stable, locally administered MAC per project and machine (QEMU's 52:54:00 prefix). */
export function macFor(project: string, machine: string, nic: number): string {
  const h = createHash('sha256').update(`${project}\0${machine}\0${nic}`).digest();
  return ['52', '54', '00', ...[h[0], h[1], h[2]].map((b) => (b ?? 0).toString(16).padStart(2, '0'))].join(
    ':',
  );
}

/** QEMU option values use `,` as a separator; a literal comma is written twice. */
const optValue = (s: string) => s.replaceAll(',', ',,');

export function qemuArgs(i: LaunchInput): string[] {
  const { spec, paths } = i;
  const nat = [
    'user',
    'id=nat0',
    ...(i.restrictNat ? ['restrict=on'] : []),
    `hostfwd=tcp:127.0.0.1:${i.sshPort}-:${spec.sshGuestPort}`,
  ].join(',');
  const diskDevice =
    i.diskInterface === 'nvme' ? 'nvme,drive=disk0,serial=boxfest0' : 'virtio-blk-pci,drive=disk0';
  return [
    '-name',
    optValue(`boxfest-${spec.name}`),
    '-accel',
    i.accel,
    ...(i.accel === 'kvm' ? ['-cpu', 'host'] : []),
    '-m',
    String(spec.memory),
    '-smp',
    String(spec.cpus),
    '-nodefaults',
    '-no-user-config',
    '-display',
    'none',
    // A chardev, not `-serial file:PATH`: that legacy form takes the rest verbatim, so a path
    // with a comma could not be written there at all.
    '-chardev',
    `file,id=serial0,path=${optValue(paths.serialLog)}`,
    '-serial',
    'chardev:serial0',
    '-drive',
    `if=none,id=disk0,file=${optValue(paths.disk)},format=qcow2,discard=unmap`,
    '-device',
    diskDevice,
    '-netdev',
    nat,
    '-device',
    `virtio-net-pci,netdev=nat0,mac=${macFor(i.project, spec.name, 0)}`,
    '-device',
    'virtio-rng-pci',
    '-qmp',
    `unix:${optValue(paths.qmp)},server=on,wait=off`,
    '-pidfile',
    paths.pid,
    '-daemonize',
    // The Boxfile's `qemu.extra_args`, last so they can add devices; passed as separate argv words.
    ...spec.qemu.extraArgs,
  ];
}
