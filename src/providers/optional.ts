// Optional provider capabilities (Lima-style: small interfaces beside the core Provider). A
// command that needs one asks for it through these functions, which give a clear "provider X
// cannot do Y" error when the provider lacks it.
import type { Box } from '../boxes/store.js';
import { BoxfestError } from '../errors.js';
import type { MachineContext, Provider } from './provider.js';

/** Pauses a running VM in place and continues it; the guest's processes and memory survive. */
export interface Suspender {
  suspend(m: MachineContext): Promise<void>;
  resume(m: MachineContext): Promise<void>;
}

export interface SnapshotInfo {
  name: string;
  /** ISO time the snapshot was taken. */
  createdAt: string;
  /** Bytes of the disk snapshot's VM state; 0 for a disk-only snapshot. */
  vmStateSize: number;
}

/**
 * Named snapshots of a machine's disk. `save` and `delete` work on a running or halted machine;
 * `restore` needs a halted one (the command halts it first and boots it again after). The command
 * has checked the name against `listSnapshots` before any of them is called.
 */
export interface Snapshotter {
  saveSnapshot(m: MachineContext, name: string): Promise<void>;
  restoreSnapshot(m: MachineContext, name: string): Promise<void>;
  listSnapshots(m: MachineContext): Promise<SnapshotInfo[]>;
  deleteSnapshot(m: MachineContext, name: string): Promise<void>;
}

/** The machine's disk with its box folded in, as one standalone compressed qcow2 (`package`). */
export interface Packager {
  packageDisk(m: MachineContext, dest: string): Promise<void>;
}

function cannot(p: Provider, what: string): BoxfestError {
  return new BoxfestError('PROVIDER_CANNOT', `provider \`${p.name}\` cannot ${what}`, {
    hint: 'use a provider that can, or `boxfest halt` / `boxfest up` instead',
  });
}

export function suspenderOf(p: Provider): Provider & Suspender {
  const s = p as Partial<Suspender>;
  if (typeof s.suspend !== 'function' || typeof s.resume !== 'function')
    throw cannot(p, 'suspend and resume machines');
  return p as Provider & Suspender;
}

export function snapshotterOf(p: Provider): Provider & Snapshotter {
  const s = p as Partial<Snapshotter>;
  if (
    typeof s.saveSnapshot !== 'function' ||
    typeof s.restoreSnapshot !== 'function' ||
    typeof s.listSnapshots !== 'function' ||
    typeof s.deleteSnapshot !== 'function'
  )
    throw cannot(p, 'take snapshots');
  return p as Provider & Snapshotter;
}

const SNAPSHOT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function checkSnapshotName(name: string): void {
  if (!SNAPSHOT_NAME.test(name))
    throw new BoxfestError('SNAPSHOT_NAME', `\`${name}\` is not a valid snapshot name`, {
      hint: 'use letters, digits, dot, dash and underscore (at most 64 characters, starting with a letter or digit)',
    });
}

/** Starts new machines from a saved ready state of their box and shape (`instant: true`). */
export interface InstantStarter {
  /**
   * Before the machine's disk exists: makes sure a state for its shape is saved (booting it once
   * if need be) and records it in the machine's state, or records why it will boot normally.
   * Returns that reason, or undefined when the machine will be restored.
   */
  prepareInstant(m: MachineContext, box: Box, onLine: (l: string) => void): Promise<string | undefined>;
}

export function instantStarterOf(p: Provider): (Provider & InstantStarter) | undefined {
  return typeof (p as Partial<InstantStarter>).prepareInstant === 'function'
    ? (p as Provider & InstantStarter)
    : undefined;
}

/** A boxfest machine a provider found on its hypervisor, whoever's project it is. */
export interface OwnedMachine {
  /** Project root recorded in its ownership tag. */
  project: string;
  machine: string;
  state: 'running' | 'halted' | 'suspended';
}

/**
 * Lists every machine boxfest made on the provider's default hypervisor, from the ownership tags
 * kept there: `global-status` finds machines whose project has no `.boxfest/` (a fresh checkout).
 */
export interface Lister {
  listOwned(): Promise<OwnedMachine[]>;
}

export function listerOf(p: Provider): (Provider & Lister) | undefined {
  return typeof (p as Partial<Lister>).listOwned === 'function' ? (p as Provider & Lister) : undefined;
}

export function packagerOf(p: Provider): Provider & Packager {
  if (typeof (p as Partial<Packager>).packageDisk !== 'function')
    throw cannot(p, 'package machines as boxes');
  return p as Provider & Packager;
}
