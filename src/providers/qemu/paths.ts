// The QEMU provider's own files, named once: per machine (in the machine's directory), per private
// network (its VDE switch, in the network's directory) and per saved ready state of a box.
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { boxPaths, homePaths, networkPaths } from '../../state/paths.js';

/** Unix socket paths are limited to 108 bytes; long project paths get a short one in tmpdir. */
const MAX_SOCKET_PATH = 100;

/** `wanted` when short enough for a unix socket (with `room` bytes to spare), else a short stable one in tmpdir. */
function socketPath(wanted: string, suffix: string, room = 0): string {
  return Buffer.byteLength(wanted) + room <= MAX_SOCKET_PATH
    ? wanted
    : join(tmpdir(), `boxfest-${createHash('sha256').update(wanted).digest('hex').slice(0, 16)}.${suffix}`);
}

/** A machine's QEMU files, in its directory (`machinePaths(...).dir`). */
export const qemuPaths = (machineDir: string) => ({
  /** Copy-on-write overlay on the box image (or on a saved state's golden disk). */
  disk: join(machineDir, 'disk.qcow2'),
  pid: join(machineDir, 'qemu.pid'),
  qmp: socketPath(join(machineDir, 'qmp.sock'), 'qmp'),
  serialLog: join(machineDir, 'serial.log'),
  /** The exact QEMU command line of the last boot, for debugging. */
  cmd: join(machineDir, 'qemu.cmd'),
  /** The virtiofsd of live share N (`boxfestN`): its vhost-user socket, pidfile and log. */
  virtiofsd: (n: number) => ({
    socket: socketPath(join(machineDir, `virtiofs-${n}.sock`), `virtiofs-${n}`),
    pid: join(machineDir, `virtiofs-${n}.pid`),
    log: join(machineDir, `virtiofs-${n}.log`),
  }),
  /** Extra data disks (`disks:`), one `NAME.qcow2` each (dataDiskFile in data-disks.ts). */
  dataDisks: join(machineDir, 'disks'),
});

export type QemuPaths = ReturnType<typeof qemuPaths>;

/** The VDE switch of a private network: pidfile, control directory (holds sockets), management socket. */
export const switchPaths = (root: string, network: string) => {
  const dir = networkPaths(root, network).dir;
  return {
    dir,
    pid: join(dir, 'switch.pid'),
    // vde_switch puts `ctl` and one socket per port (`.NNNNN-NNNNN`) inside this directory.
    ctl: socketPath(join(dir, 'switch.ctl'), 'vde', 16),
    mgmt: socketPath(join(dir, 'switch.mgmt'), 'mgmt'),
  };
};

export type SwitchPaths = ReturnType<typeof switchPaths>;

/** Saved ready states of a box (`instant: true`), one directory per hardware shape. */
export const statesDir = (home: string, box: string, version: string) =>
  boxPaths(home, box, version, 'qemu').states;

/** One saved ready state of a box: the golden disk it was saved with, the VM state, what it fits. */
export const instantStatePaths = (home: string, box: string, version: string, key: string) => {
  const dir = join(statesDir(home, box, version), key);
  const work = join(dir, 'work');
  return {
    dir,
    /** Overlay on the box image, booted once and never written again: the saved RAM expects it. */
    disk: join(dir, 'golden.qcow2'),
    /** QEMU's migration stream of the paused VM: its devices (and, in states saved before `ram`, its RAM). */
    vmState: join(dir, 'vm.state'),
    /**
     * The golden VM's RAM as a file (its memory backend, shared): every restore maps it
     * copy-on-write, so the clones share its pages in the page cache and load no RAM.
     */
    ram: join(dir, 'ram'),
    /** Written last: a state without it is incomplete and ignored. */
    meta: join(dir, 'meta.json'),
    /** Instead of a state: why none can be made for this box and shape, decided once. */
    unrestorable: join(dir, 'unrestorable.json'),
    /** The golden VM's runtime files while it is being saved. */
    work,
    pid: join(work, 'qemu.pid'),
    qmp: socketPath(join(work, 'qmp.sock'), 'qmp'),
    serialLog: join(work, 'serial.log'),
    lock: join(homePaths(home).locks, `instant-${key}.lock`),
  };
};
