// Every on-disk name boxfest uses, named once (like Lima's filenames.go). Nothing else in the
// code base joins path segments for boxfest's own files.
import { createHash } from 'node:crypto';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';

/** Per-user home: box store, caches, locks. `BOXFEST_HOME` relocates all of it. */
export function boxfestHome(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env['BOXFEST_HOME'];
  return fromEnv !== undefined && fromEnv !== '' ? fromEnv : join(homedir(), '.boxfest');
}

export const homePaths = (home: string) => ({
  boxes: join(home, 'boxes'),
  /** Host facts that are slow to probe (KVM usability), keyed by QEMU version. */
  hostFacts: join(home, 'host-facts.json'),
  locks: join(home, 'locks'),
  /** Empty files named by the hash of (schema, Boxfile document) pairs that passed validation. */
  validBoxfiles: join(home, 'cache', 'valid-boxfiles'),
  /** Host ports boxfest machines forward, with the QEMU process holding each (see network/ports.ts). */
  ports: join(home, 'ports.json'),
  /** Held while a boxfest process chooses host ports and starts the VM that binds them. */
  portsLock: join(home, 'locks', 'ports.lock'),
  /** The global index: one file per project that has had machines, read by `global-status`. */
  projects: join(home, 'projects'),
  /** The VirtualBox web service's WSDL, trimmed to what boxfest uses, per API version. */
  vboxWsdl: join(home, 'cache', 'virtualbox-wsdl'),
});

export const validBoxfileMark = (home: string, key: string) => join(homePaths(home).validBoxfiles, key);

/** The index entry of one project, named by a hash of its root so each project has exactly one. */
export const projectIndexEntry = (home: string, root: string) =>
  join(homePaths(home).projects, `${createHash('sha256').update(root).digest('hex').slice(0, 16)}.json`);

/** Layout of the trimmed-WSDL cache: <api>-<operations key>/{vboxweb.wsdl, vboxwebService.wsdl, signatures.json}. */
export const vboxWsdlPaths = (home: string) => {
  const dir = homePaths(home).vboxWsdl;
  return {
    dir,
    /** Server URL → the API version it last reported, so the right cached WSDL loads first. */
    index: join(dir, 'servers.json'),
    version: (api: string, operationsKey: string) => join(dir, `${api}-${operationsKey}`),
  };
};

/** Store layout of one box: boxes/<name>/<version>/<provider>/ (room for versions and providers). */
export const boxPaths = (home: string, name: string, version: string, provider: string) => {
  const dir = join(home, 'boxes', name, version, provider);
  return {
    dir,
    metadata: join(dir, 'metadata.json'),
    image: join(dir, 'box.qcow2'),
    insecureKey: join(dir, 'insecure_key'),
    /** One file per machine disk backed by this box, so `box remove` can refuse while one exists. */
    users: join(dir, 'users'),
    /** Saved ready states (`instant: true`), one directory per hardware shape. */
    states: join(dir, 'states'),
  };
};

/** One saved ready state of a box: the golden disk it was saved with, the VM state, what it fits. */
export const instantStatePaths = (home: string, box: string, version: string, key: string) => {
  const dir = join(home, 'boxes', box, version, 'qemu', 'states', key);
  const work = join(dir, 'work');
  return {
    dir,
    /** Overlay on the box image, booted once and never written again: the saved RAM expects it. */
    disk: join(dir, 'golden.qcow2'),
    /** QEMU's migration stream of the paused VM. */
    vmState: join(dir, 'vm.state'),
    /** Written last: a state without it is incomplete and ignored. */
    meta: join(dir, 'meta.json'),
    /** The golden VM's runtime files while it is being saved. */
    work,
    pid: join(work, 'qemu.pid'),
    qmp: socketPath(join(work, 'qmp.sock'), 'qmp'),
    serialLog: join(work, 'serial.log'),
    lock: join(home, 'locks', `instant-${key}.lock`),
  };
};

export const PROJECT_DIR = '.boxfest';

export const projectPaths = (root: string) => {
  const dir = join(root, PROJECT_DIR);
  return {
    dir,
    machines: join(dir, 'machines'),
    /** One directory per private network: its virtual switch and its address allocations. */
    networks: join(dir, 'networks'),
    /** Held by the one mutating command running in this project. */
    lock: join(dir, 'lock'),
  };
};

/** Unix socket paths are limited to 108 bytes; long project paths get a short one in tmpdir. */
const MAX_SOCKET_PATH = 100;

/** `wanted` when short enough for a unix socket (with `room` bytes to spare), else a short stable one in tmpdir. */
function socketPath(wanted: string, suffix: string, room = 0): string {
  return Buffer.byteLength(wanted) + room <= MAX_SOCKET_PATH
    ? wanted
    : join(tmpdir(), `boxfest-${createHash('sha256').update(wanted).digest('hex').slice(0, 16)}.${suffix}`);
}

export const networkPaths = (root: string, network: string) => {
  const dir = join(root, PROJECT_DIR, 'networks', network);
  return {
    dir,
    /** Addresses boxfest allocated on this network (`dhcp: true`): machine → IPv4. */
    leases: join(dir, 'leases.json'),
    /** The VDE switch (QEMU provider): pidfile, control directory (holds sockets), management socket. */
    switchPid: join(dir, 'switch.pid'),
    // vde_switch puts `ctl` and one socket per port (`.NNNNN-NNNNN`) inside this directory.
    switchCtl: socketPath(join(dir, 'switch.ctl'), 'vde', 16),
    switchMgmt: socketPath(join(dir, 'switch.mgmt'), 'mgmt'),
  };
};

export type NetworkPaths = ReturnType<typeof networkPaths>;

export const machinePaths = (root: string, machine: string) => {
  const dir = join(root, PROJECT_DIR, 'machines', machine);
  const qmp = socketPath(join(dir, 'qmp.sock'), 'qmp');
  return {
    dir,
    /** Applied spec and progress; written atomically. */
    state: join(dir, 'state.json'),
    /** Copy-on-write overlay on the box image. */
    disk: join(dir, 'disk.qcow2'),
    pid: join(dir, 'qemu.pid'),
    qmp,
    serialLog: join(dir, 'serial.log'),
    /** The exact QEMU command line of the last boot, for debugging. */
    qemuCmd: join(dir, 'qemu.cmd'),
    privateKey: join(dir, 'id_ed25519'),
    publicKey: join(dir, 'id_ed25519.pub'),
    knownHosts: join(dir, 'known_hosts'),
    sshConfig: join(dir, 'ssh_config'),
    /** cloud-init boxes: the NoCloud seed (ISO 9660, label cidata), rewritten before each boot. */
    seed: join(dir, 'cidata.iso'),
    /** QEMU: extra data disks (`disks:`), one `NAME.qcow2` each (see providers/qemu/data-disks.ts). */
    dataDisks: join(dir, 'disks'),
  };
};

export type MachinePaths = ReturnType<typeof machinePaths>;
