// The QEMU command line of a machine, as a pure function of its spec (unit-tested).
import type { DiskInterface } from '../../boxes/store.js';
import type { MachineSpec } from '../../config/types.js';
import { macFor, type Nic } from '../../network/nics.js';
import type { PortMapping } from '../../state/machine-state.js';
import type { QemuPaths } from './paths.js';
import type { Accel } from './accel.js';
import { optValue, vdeNetdev } from './switch.js';
import { dataDiskSerial } from './data-disks.js';

export { macFor };

/**
 * A NIC plus how QEMU reaches its network: the VDE switch of a private one, the helper of a
 * bridged one; `detached` (a saved state's golden VM) is plugged into nothing but an isolated NAT.
 */
export type LaunchNic =
  | (Nic & { kind: 'private'; switchCtl: string })
  | (Nic & { kind: 'bridged'; helper: string })
  | { index: number; kind: 'detached'; mac: string };

/** What of a machine's spec and files its command line is made of. */
export type LaunchSpec = Pick<MachineSpec, 'name' | 'memory' | 'cpus' | 'sshGuestPort'> & {
  qemu: Pick<MachineSpec['qemu'], 'extraArgs'>;
};
export type LaunchFiles = Pick<QemuPaths, 'disk' | 'pid' | 'qmp' | 'serialLog'>;

export interface LaunchInput {
  project: string;
  spec: LaunchSpec;
  paths: LaunchFiles;
  diskInterface: DiskInterface;
  accel: Accel;
  sshPort: number;
  /** QEMU user networking with restrict=on: the guest reaches nothing but the host's forwards. */
  restrictNat: boolean;
  /** `forwarded_ports`, with the host ports chosen for this boot. */
  forwards?: readonly PortMapping[];
  /** NICs 1..n, one per `networks:` attachment. */
  nics?: readonly LaunchNic[];
  /** MAC of NIC 0 (the NAT); default: the stable one of the project and machine. */
  natMac?: string;
  /** Wait paused for a saved state (`-incoming defer`, `-S`) instead of booting. */
  incoming?: boolean;
  /**
   * The guest's RAM in a file: shared (`share=on`: the guest's writes reach the file) for the
   * VM whose state is saved; private (copy-on-write) for a restore from it.
   */
  ramFile?: { path: string; share: boolean };
  /** Live shared folders: virtiofs (with its virtiofsd's socket) and 9p. */
  shares?: readonly LaunchShare[];
  /** Extra data disks, in order after the system disk (virtio, serial `boxfest-NAME`). */
  dataDisks?: readonly { name: string; file: string }[];
  /** cloud-init NoCloud seed image, attached read-only last. */
  seed?: string;
  /** A first boot's identity (guest/offered-identity.ts): fw_cfg items `opt/io.boxfest/NAME`. */
  identity?: readonly { name: string; file: string }[];
}

export type LaunchShare = { tag: string } & (
  { type: 'virtiofs'; socket: string } | { type: '9p'; src: string }
);

/**
 * The guest's RAM when it is not QEMU's anonymous default: a shared memfd that virtiofsd can map
 * (live virtiofs shares), or a saved state's RAM file. Never both: a saved state is refused for
 * machines with live shares (instant.ts `cannotRestore`).
 */
function memoryArgs(i: LaunchInput): string[] {
  const size = `size=${i.spec.memory}M`;
  const virtiofs = (i.shares ?? []).some((s) => s.type === 'virtiofs');
  if (virtiofs && i.ramFile !== undefined) throw new Error('internal: a RAM file and virtiofs shares');
  const backend = virtiofs
    ? `memory-backend-memfd,id=mem0,${size},share=on`
    : i.ramFile === undefined
      ? undefined
      : `memory-backend-file,id=mem0,${size},mem-path=${optValue(i.ramFile.path)},share=${i.ramFile.share ? 'on' : 'off'}`;
  return backend === undefined ? [] : ['-object', backend, '-machine', 'memory-backend=mem0'];
}

/**
 * The devices of live shares. virtiofs: a vhost-user-fs device on the virtiofsd's socket (the
 * guest's RAM is a shared memfd, memoryArgs). 9p: `-virtfs` with
 * security_model=mapped-xattr: the guest's owners and modes live in the host files' `user.virtfs.*`
 * xattrs, so a guest `chown` works without QEMU running as root and without touching the host
 * files' real owners (passthrough would chown them on the host; none would fail the guest's chown).
 */
function shareArgs(shares: readonly LaunchShare[]): string[] {
  return [
    ...shares.flatMap((s, i) =>
      s.type === 'virtiofs'
        ? [
            '-chardev',
            `socket,id=fs${i},path=${optValue(s.socket)}`,
            '-device',
            `vhost-user-fs-pci,chardev=fs${i},tag=${s.tag}`,
          ]
        : [
            '-virtfs',
            `local,id=fs${i},path=${optValue(s.src)},mount_tag=${s.tag},security_model=mapped-xattr`,
          ],
    ),
  ];
}

/** A virtio disk: data disks by name (stable /dev/disk/by-id/virtio-SERIAL), the seed read-only. */
function extraDiskArgs(
  id: string,
  file: string,
  format: 'qcow2' | 'raw',
  serial: string,
  readOnly: boolean,
): string[] {
  return [
    '-drive',
    `if=none,id=${id},file=${optValue(file)},format=${format}${readOnly ? ',readonly=on' : ',discard=unmap'}`,
    '-device',
    `virtio-blk-pci,drive=${id},serial=${optValue(serial)}`,
  ];
}

function nicArgs(n: LaunchNic): string[] {
  const id = `net${n.index}`;
  const netdev =
    n.kind === 'private'
      ? vdeNetdev(id, n.switchCtl)
      : n.kind === 'bridged'
        ? `tap,id=${id},br=${optValue(n.bridge)},helper=${optValue(n.helper)}`
        : `user,id=${id},restrict=on`;
  return ['-netdev', netdev, '-device', `virtio-net-pci,netdev=${id},mac=${n.mac}`];
}

/** QEMU wants items from outside under `opt/`, named by a reversed domain. */
export const FW_CFG_PREFIX = 'opt/io.boxfest/';

export function qemuArgs(i: LaunchInput): string[] {
  const { spec, paths } = i;
  const nat = [
    'user',
    'id=nat0',
    ...(i.restrictNat ? ['restrict=on'] : []),
    `hostfwd=tcp:127.0.0.1:${i.sshPort}-:${spec.sshGuestPort}`,
    ...(i.forwards ?? []).map((f) => `hostfwd=${f.protocol}:${f.hostIp}:${f.host}-:${f.guest}`),
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
    ...(i.dataDisks ?? []).flatMap((d, k) =>
      extraDiskArgs(`data${k}`, d.file, 'qcow2', dataDiskSerial(d.name), false),
    ),
    ...(i.seed === undefined ? [] : extraDiskArgs('seed0', i.seed, 'raw', 'boxfest-cidata', true)),
    ...(i.identity ?? []).flatMap((f) => [
      '-fw_cfg',
      `name=${FW_CFG_PREFIX}${f.name},file=${optValue(f.file)}`,
    ]),
    '-netdev',
    nat,
    '-device',
    `virtio-net-pci,netdev=nat0,mac=${i.natMac ?? macFor(i.project, spec.name, 0)}`,
    ...(i.nics ?? []).flatMap(nicArgs),
    '-device',
    'virtio-rng-pci',
    ...memoryArgs(i),
    ...shareArgs(i.shares ?? []),
    '-qmp',
    `unix:${optValue(paths.qmp)},server=on,wait=off`,
    '-pidfile',
    paths.pid,
    '-daemonize',
    ...(i.incoming === true ? ['-S', '-incoming', 'defer'] : []),
    // The Boxfile's `qemu.extra_args`, last so they can add devices; passed as separate argv words.
    ...spec.qemu.extraArgs,
  ];
}
