// The provider interface: small, and the same for every hypervisor. Pipeline steps and commands
// talk to hypervisors only through it. Optional capabilities (suspend, snapshots) are separate
// interfaces in optional.ts.
import type { Box } from '../boxes/store.js';
import type { Environment, MachineSpec, ProviderName } from '../config/types.js';
import type { MachinePaths } from '../state/paths.js';

export type MachineStatus = 'not_created' | 'running' | 'halted' | 'suspended' | 'broken';

/**
 * Why a machine is broken, which decides what `up` does about it:
 * process-gone: its VM process died without a halt (the disk is intact): boot it again;
 * disk-missing: its disk is gone: discard what is left and create it anew;
 * unknown-vm: the hypervisor no longer knows its VM: discard and create anew.
 */
export type BrokenKind = 'process-gone' | 'disk-missing' | 'unknown-vm';

export interface ActualMachine {
  name: string;
  state: MachineStatus;
  /** Why it is broken, in words. */
  reason?: string;
  /** Set exactly when `state` is broken. */
  broken?: BrokenKind;
  /** How it runs: e.g. `tcg` or `kvm` for QEMU. */
  accel?: string;
  ssh?: SshEndpoint;
  /** Private networks a running machine's NIC lost (their switch died): a reboot reconnects it. */
  cutOff?: string[];
}

export interface SshEndpoint {
  host: string;
  port: number;
}

/** Everything a provider call needs to know about one machine. */
export interface MachineContext {
  env: Environment;
  spec: MachineSpec;
  paths: MachinePaths;
}

export interface StartResult {
  ssh: SshEndpoint;
  accel: string;
  /** Set when the preferred accelerator failed and another was used. */
  note?: string;
}

export interface Provider {
  readonly name: ProviderName;
  /** Live state of a machine, derived from state files and a probe; never throws for a broken machine. */
  inspect(m: MachineContext): Promise<ActualMachine>;
  /** Makes the box usable by this provider; idempotent and safe to call concurrently. */
  importBox(box: Box): Promise<void>;
  /** The machine's copy-on-write disk on the box; idempotent. */
  createDisk(m: MachineContext, box: Box): Promise<void>;
  start(m: MachineContext, box: Box): Promise<StartResult>;
  /** Graceful (ACPI) first unless `force`; forced after `timeoutMs`. No-op when not running. */
  stop(m: MachineContext, opts: { force: boolean; timeoutMs: number }): Promise<void>;
  /** Ends the VM and removes what the provider created for it (never the box's image). */
  destroy(m: MachineContext): Promise<void>;
  /** Last lines of the guest's console, for error messages. */
  consoleTail(m: MachineContext, lines: number): string;
}
