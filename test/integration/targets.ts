// The providers the shared scenarios (test/integration/scenarios/) run against, and what differs
// between them: how a Boxfile selects the provider, how the test box is added, where the VM's
// process is, what a private network runs on, what a machine leaves on the hypervisor. Everything
// a scenario asserts beyond that is the same for every provider.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectName } from '../../src/config/defaults.js';
import { machineQemuPid, qemuRunState } from '../../src/providers/qemu/inspect.js';
import { runningSwitches } from '../../src/providers/qemu/switch.js';
import { forwarderPid } from '../../src/providers/libvirt/forwards.js';
import {
  domainName,
  isPrivateNetworkOf,
  overlayVolumeName,
  boxVolumeName,
  seedVolumeName,
  SEED_VOLUME_SUFFIX,
} from '../../src/providers/libvirt/names.js';
import { machinePaths } from '../../src/state/paths.js';
import { cmdlineOf, isAlive, readPidFile } from '../../src/state/process.js';
import type { TestProject } from './harness.js';

export interface Target {
  name: 'qemu' | 'libvirt';
  /** The Boxfile text for this provider: `provider:` added after `version: 1`. */
  boxfile(text: string): string;
  /** Adds the tiny test box as `name` with the disk interface this provider boots it from. */
  addBox(p: TestProject, name?: string, extra?: string[]): Promise<void>;
  /** The running VM process of a machine (QEMU's own, or the one libvirtd started), if any. */
  vmPid(p: TestProject, machine: string): number | undefined;
  /** The hypervisor's own word on a machine's VM (`running`, `paused`), asked past boxfest. */
  runState(p: TestProject, machine: string): Promise<string | undefined>;
  /** What each running private network of the project runs on: VDE switches, active libvirt networks. */
  networkInfra(p: TestProject): string[];
  /** Processes of the project that may run besides the VMs' (switches, port forwarders). */
  helperPids(p: TestProject): number[];
  /** Every process whose command line names the project that a running environment has. */
  ownProcesses(p: TestProject): number[];
  /** What `status` says of a machine whose VM process was killed. */
  killedReason: string;
  /** The process that holds a machine's forwarded host ports. */
  portHolderPid(p: TestProject, machine: string): number | undefined;
  /** Where the store records the machines made from a box (the machine's provider's users). */
  boxUsersDir(p: TestProject, box: string): string;
  /** What the provider made for the project that is still on the hypervisor (none after destroy): VMs, disks, seeds, networks. */
  leftovers(p: TestProject): string[];
  /** Copies of a box's image that must never change: the store's, and the pool's volume. */
  boxImages(p: TestProject, box: string): string[];
  /** The address `ssh` lines of `boxfest port` name for SSH. */
  sshHostIp: RegExp;
  /** Steps a crash can hit inside `boot` (fault injection points). */
  bootFaultPoints: string[];
  /** Hands a first boot its identity (QEMU fw_cfg), which the tiny box takes: no host-key step then. */
  offersIdentity: boolean;
  /** Ends every VM of the project by force (cleanup after a failed test). */
  killAll(p: TestProject): void;
}

const withProvider = (provider: string) => (text: string) =>
  text.replace(/^version: 1\n/, `version: 1\nprovider: ${provider}\n`);

const machinesOf = (p: TestProject) => {
  const dir = join(p.root, '.boxfest', 'machines');
  return existsSync(dir) ? readdirSync(dir) : [];
};

export const QEMU: Target = {
  name: 'qemu',
  boxfile: (text) => text,
  addBox: (p, name = 'tiny', extra = []) => p.addTinyBox(name, extra),
  vmPid: (p, machine) => machineQemuPid(p.machine(machine)),
  runState: (p, machine) => qemuRunState(p.machine(machine).qmp),
  networkInfra: (p) => runningSwitches(p.root).map(String),
  helperPids: (p) => runningSwitches(p.root),
  ownProcesses: (p) => [...p.qemuPids(), ...runningSwitches(p.root)],
  killedReason: 'pidfile',
  portHolderPid: (p, machine) => machineQemuPid(p.machine(machine)),
  boxUsersDir: (p, box) => join(p.home, 'boxes', box, '0', 'qemu', 'users'),
  leftovers: (p) => [
    ...p.qemuPids().map((pid) => `qemu ${pid}`),
    ...runningSwitches(p.root).map((pid) => `switch ${pid}`),
  ],
  boxImages: (p, box) => [p.storedImage(box)],
  sshHostIp: /^127\.0\.0\.1$/,
  bootFaultPoints: ['qemu-launched'],
  offersIdentity: true,
  killAll: () => undefined,
};

// --- libvirt: the daemon of this run (the tests run in its namespaces), checked with virsh
export const virsh = (...args: string[]): string =>
  execFileSync('virsh', ['-q', '-c', 'qemu:///system', ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
const lines = (s: string) =>
  s
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
const projectOf = (p: TestProject) => ({ name: projectName(p.root), root: p.root });

/** The QEMU process libvirtd runs for a domain: its pidfile, checked against its command line. */
function domainQemuPid(domain: string): number | undefined {
  const pid = readPidFile(`/run/libvirt/qemu/${domain}.pid`);
  if (pid === undefined || !isAlive(pid)) return undefined;
  return cmdlineOf(pid)?.includes(`guest=${domain},debug-threads=on`) === true ? pid : undefined;
}

export const LIBVIRT: Target = {
  name: 'libvirt',
  boxfile: withProvider('libvirt'),
  // libvirt 9 attaches no NVMe disk: the tiny box boots from virtio-blk as well.
  addBox: (p, name = 'tiny', extra = []) => p.addTinyBox(name, extra, 'virtio'),
  vmPid: (p, machine) => domainQemuPid(domainName(projectOf(p), machine)),
  runState: (p, machine) => Promise.resolve(virsh('domstate', domainName(projectOf(p), machine)).trim()),
  networkInfra: (p) => lines(virsh('net-list', '--name')).filter((n) => isPrivateNetworkOf(projectOf(p), n)),
  helperPids: (p) =>
    machinesOf(p).flatMap((m) => {
      const pid = forwarderPid(machinePaths(p.root, m).dir);
      return pid === undefined ? [] : [pid];
    }),
  // libvirtd's QEMU names no path of the project; the forwarders do (their forwards file).
  ownProcesses: (p) => LIBVIRT.helperPids(p),
  killedReason: 'QEMU process was killed or crashed',
  portHolderPid: (p, machine) => forwarderPid(machinePaths(p.root, machine).dir),
  // The store records users in the entry of the image they are made from (QEMU's qcow2 kind).
  boxUsersDir: (p, box) => join(p.home, 'boxes', box, '0', 'qemu', 'users'),
  leftovers: (p) => {
    const project = projectOf(p);
    const prefix = domainName(project, '');
    const hash = prefix.slice(prefix.lastIndexOf('-'));
    return [
      ...lines(virsh('list', '--all', '--name'))
        .filter((d) => d.startsWith(`boxfest-${project.name}-`) && d.endsWith(hash))
        .map((d) => `domain ${d}`),
      ...lines(virsh('vol-list', 'default'))
        .map((l) => l.split(/\s+/)[0] ?? '')
        .filter(
          (v) =>
            v.startsWith(`boxfest-${project.name}-`) &&
            (v.endsWith(`${hash}.qcow2`) || v.endsWith(`${hash}${SEED_VOLUME_SUFFIX}`)),
        )
        .map((v) => `volume ${v}`),
      ...lines(virsh('net-list', '--all', '--name'))
        .filter((n) => isPrivateNetworkOf(project, n))
        .map((n) => `network ${n}`),
    ];
  },
  boxImages: (p, box) => {
    const stored = join(p.home, 'boxes', box, '0', 'qemu');
    const meta = JSON.parse(readFileSync(join(stored, 'metadata.json'), 'utf8')) as {
      name: string;
      version: string;
      sha256: string;
    };
    const vol = lines(virsh('vol-path', '--pool', 'default', boxVolumeName(meta)))[0];
    return [p.storedImage(box), ...(vol === undefined ? [] : [vol])];
  },
  sshHostIp: /^192\.168\.\d+\.\d+$/,
  bootFaultPoints: ['libvirt-started'],
  offersIdentity: false,
  killAll: (p) => {
    const project = projectOf(p);
    for (const pid of LIBVIRT.helperPids(p)) process.kill(pid, 'SIGKILL');
    for (const m of machinesOf(p)) {
      const d = domainName(project, m);
      try {
        virsh('destroy', d);
      } catch {
        // not running
      }
      try {
        virsh('undefine', d, '--snapshots-metadata');
      } catch {
        // not defined
      }
      for (const vol of [overlayVolumeName(project, m), seedVolumeName(project, m)])
        try {
          virsh('vol-delete', '--pool', 'default', vol);
        } catch {
          // no volume
        }
    }
    for (const n of lines(virsh('net-list', '--all', '--name')).filter((x) =>
      isPrivateNetworkOf(project, x),
    )) {
      try {
        virsh('net-destroy', n);
      } catch {
        // not active
      }
      virsh('net-undefine', n);
    }
  },
};

/** The running VM processes of the project's machines. */
export function vmPids(t: Target, p: TestProject): number[] {
  return machinesOf(p).flatMap((m) => {
    const pid = t.vmPid(p, m);
    return pid === undefined ? [] : [pid];
  });
}
