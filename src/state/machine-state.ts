// What boxfest recorded about one machine in .boxfest/machines/<name>/state.json.
import { PROVIDER_NAMES, type FirstBoot, type PortProtocol, type ProviderName } from '../config/types.js';
import type { AppliedSpec } from './applied.js';
import type { SshDaemon } from '../guest/host-key.js';
import type { JumpHost, SshEndpoint } from '../ssh/client.js';
import { fieldsProblem, readOwnJson, writeJsonAtomic } from './atomic.js';
import { machinePaths } from './paths.js';
import { removeOwnMachineDir } from './safe-remove.js';

export type { AppliedSpec } from './applied.js';
export { appliedSpecOf } from './applied.js';

export interface MachineState {
  provider: ProviderName;
  /** Project root that owns the machine: guards against a copied .boxfest/ acting on another VM. */
  project: string;
  createdAt: string;
  box: { name: string; version: string; image: string };
  applied: AppliedSpec;
  /** Last SSH port forwarded to the guest (reused on the next boot when still free), or the guest's own. */
  sshPort?: number;
  /** Where `sshPort` is, as the provider's start said; unset: 127.0.0.1 (a forward on this host). */
  sshHost?: string;
  /** The SSH server `sshHost` is reached through (a remote libvirt host); unset: reached directly. */
  sshJump?: JumpHost;
  accel?: 'kvm' | 'tcg';
  /**
   * The hypervisor's id of the VM boxfest made (a libvirt domain's UUID), recorded when it made
   * it: a VM with the machine's name and this id is boxfest's without asking for its tag.
   */
  vmId?: string;
  /** `forwarded_ports` as set up at the last boot (auto_correct may have moved some). */
  ports?: PortMapping[];
  /** Addresses on the machine's networks as configured or seen in the guest at the last boot. */
  addresses?: GuestAddress[];
  /** User boxfest logs in as (Boxfile `ssh.user`, else the box's). */
  sshUser: string;
  /** True once the box's insecure key was replaced by the per-machine key. */
  keyReplaced: boolean;
  /** Pinned host key, OpenSSH public-key form ("ssh-ed25519 AAAA..."), after the first connection. */
  hostKey?: string;
  /**
   * Where the pinned host key came from: `boxfest` made it on the host and installed it (the
   * server was restarted to serve it); `guest`: the guest's SSH server could not be re-keyed
   * (`hostKeyNote` says why), so the key it presented at first contact stays pinned.
   */
  hostKeySource?: 'boxfest' | 'guest';
  hostKeyNote?: string;
  /**
   * A host key boxfest made and is installing: recorded first, so an `up` killed between
   * installing it and pinning it still recognises the guest that serves it.
   */
  hostKeyPending?: string;
  /**
   * True once an `up` ran to its end since the machine last booted. A running machine that is not
   * converged (an `up` was interrupted or a provisioner failed) is picked up where it stopped.
   */
  converged: boolean;
  /** Names of `once` provisioners that have run on this machine (reset when it is recreated). */
  provisioned: string[];
  /** Set by `suspend` (the VM is paused in place), cleared by `resume` and by every boot. */
  suspended?: boolean;
  /** `instant: true`: the saved state the machine's disk was made for, and what came of it. */
  instant?: InstantRecord;
  /** How the machine is set up at its first boot (the box's); unset: `ssh-key` (older state). */
  firstBoot?: FirstBoot;
  /** cloud-init boxes: the instance-id of this machine's seed (new for every creation). */
  instanceId?: string;
  /** Extra data disks as attached at the last boot (QEMU). */
  dataDisks?: DataDiskRecord[];
}

export interface DataDiskRecord {
  name: string;
  /** MiB */
  size: number;
  /** Host path of its image. */
  file: string;
}

export interface InstantRecord {
  /** The saved state (key under the box's states/); unset when it fell back before creation. */
  key?: string;
  /** What the saved guest has that a restore must change: its MACs (NAT first) and host key. */
  macs?: string[];
  hostKey?: string;
  /** How the guest reseeds its RNG (guest/identity.ts). */
  reseed?: 'rndreseed' | 'perl';
  /** How the saved guest's SSH server is given the machine's own host key (guest/host-key.ts). */
  sshd?: SshDaemon;
  /** Why the machine booted normally instead, in one line. */
  fallback?: string;
  /** Set before the first start: a disk that ran even once is never restored onto again. */
  used?: boolean;
  /** The first start restored the saved state. */
  restored?: boolean;
  /** The restored guest has its own clock, randomness, host key and MACs. */
  reidentified?: boolean;
}

/** Restored from a saved state and not re-identified yet: a clone of the saved guest, as saved. */
export const freshlyRestored = (i: InstantRecord | undefined): boolean =>
  i?.restored === true && i.reidentified !== true;

/** Made for a saved state not used yet: its first start is a restore, not a boot. */
export const restoreAhead = (i: InstantRecord | undefined): boolean =>
  i?.key !== undefined && i.used !== true;

/** A forwarded port as it was set up at boot. */
export interface PortMapping {
  guest: number;
  host: number;
  hostIp: string;
  protocol: PortProtocol;
  /** The port the Boxfile asked for; differs from `host` when auto_correct picked another. */
  requested: number;
}

export interface GuestAddress {
  network: string;
  /** Guest interface name, e.g. `eth1`. */
  iface: string;
  mac: string;
  /** `a.b.c.d/n`; empty when a bridged NIC got no address. */
  cidr: string;
  how: 'static' | 'allocated' | 'dhcp';
}

/** Where the machine's SSH was at its last boot. */
export function sshEndpointOf(s: MachineState): SshEndpoint | undefined {
  if (s.sshPort === undefined) return undefined;
  return {
    host: s.sshHost ?? '127.0.0.1',
    port: s.sshPort,
    ...(s.sshJump === undefined ? {} : { jump: s.sshJump }),
  };
}

/** The machine's state; undefined when it has none; STATE_CORRUPT when the file is not one. */
export function readMachineState(root: string, name: string): MachineState | undefined {
  return readOwnJson<MachineState>(
    machinePaths(root, name).state,
    {
      code: 'STATE_CORRUPT',
      what: 'machine state',
      hint: `boxfest cannot tell what this machine is; \`boxfest destroy ${name} --force\` removes what boxfest can prove it made for it (its disk, its running QEMU), or put back a good copy of the file`,
    },
    stateShapeProblem,
  );
}

/** Why a parsed state.json is not one boxfest wrote (the fields every command reads). */
export function stateShapeProblem(v: unknown): string | undefined {
  return (
    fieldsProblem(v, {
      provider: 'string',
      project: 'string',
      box: 'object',
      applied: 'object',
      sshUser: 'string',
      keyReplaced: 'boolean',
      converged: 'boolean',
      provisioned: 'array',
      sshPort: 'number?',
      sshHost: 'string?',
      sshJump: 'object?',
      ports: 'array?',
      addresses: 'array?',
      hostKey: 'string?',
      hostKeySource: 'string?',
      suspended: 'boolean?',
      instant: 'object?',
    }) ??
    fieldsProblem(
      (v as { box: unknown }).box,
      { name: 'string', version: 'string', image: 'string' },
      'box.',
    ) ??
    fieldsProblem(
      (v as { applied: unknown }).applied,
      { box: 'string', cpus: 'number', memory: 'number', hostname: 'string' },
      'applied.',
    ) ??
    ((PROVIDER_NAMES as readonly string[]).includes((v as { provider: string }).provider)
      ? undefined
      : '`provider` is not one boxfest knows')
  );
}

export function writeMachineState(root: string, name: string, state: MachineState): void {
  writeJsonAtomic(machinePaths(root, name).state, state);
}

/** Read-modify-write of the state file; the machine must have been created. */
export function updateMachineState(
  root: string,
  name: string,
  change: (s: MachineState) => MachineState,
): MachineState {
  const current = readMachineState(root, name);
  if (current === undefined) throw new Error(`internal: no state for machine ${name}`);
  const next = change(current);
  writeMachineState(root, name, next);
  return next;
}

/** Removes the machine's directory, only when it is a real one inside the project (safe-remove.ts). */
export function removeMachineDir(root: string, name: string): void {
  removeOwnMachineDir(root, name);
}
