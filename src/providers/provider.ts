// The provider interface: small, and the same for every hypervisor. Pipeline steps and commands
// talk to hypervisors only through it, and know nothing of a provider's files, processes or
// volumes: those live in providers/<name>/. Optional capabilities (suspend, snapshots, instant
// up) are separate interfaces in optional.ts.
import type { Box } from '../boxes/store.js';
import type { BoxfestError } from '../errors.js';
import type { Environment, MachineSpec, ProviderName } from '../config/types.js';
import type { SshEndpoint } from '../ssh/client.js';
import type { AppliedSpec } from '../state/applied.js';
import type { MachinePaths } from '../state/paths.js';

/** `unknown`: its hypervisor could not be reached (a remote host down); `reason` says why. */
export type MachineStatus = 'not_created' | 'running' | 'halted' | 'suspended' | 'broken' | 'unknown';

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
  /** Why it is broken or unknown, in words. */
  reason?: string;
  /** Why it is unknown: the error reaching its hypervisor (code and hint for `up`'s report). */
  unreachable?: BoxfestError;
  /** Set exactly when `state` is broken. */
  broken?: BrokenKind;
  /** How it runs: e.g. `tcg` or `kvm` for QEMU. */
  accel?: string;
  ssh?: SshEndpoint;
  /** Private networks a running machine's NIC lost (their switch died): a reboot reconnects it. */
  cutOff?: string[];
  /**
   * What the provider recorded with the VM about the spec it was last booted with, given only when
   * the project has no state.json for the machine (a fresh checkout): `plan` compares against it.
   */
  applied?: AppliedSpec;
}

/** Everything a provider call needs to know about one machine. */
export interface MachineContext {
  env: Environment;
  spec: MachineSpec;
  paths: MachinePaths;
  /**
   * Waits for this machine's turn to boot (`up` paces cold boots to the host). A provider calls it
   * before a boot that was not paced: a restore that failed and falls back to booting.
   */
  bootTurn?: () => Promise<void>;
}

/** A host endpoint that answers once the guest's network is up; `close` takes it away. */
export interface GuestNetworkProbe {
  endpoint: SshEndpoint;
  close(): Promise<void>;
}

export interface StartResult {
  ssh: SshEndpoint;
  accel: string;
  /** Set when the preferred accelerator failed and another was used. */
  note?: string;
}

export interface Provider {
  readonly name: ProviderName;
  /**
   * The kind of stored box it runs first (boxes/store.ts): `qemu` (a qcow2 image) or `virtualbox`
   * (a VMDK); it takes the other kind too (QEMU converts a VMDK once, VirtualBox opens qcow2).
   */
  readonly boxFormat: 'qemu' | 'virtualbox';
  /**
   * Whether a machine `create` made stays when a later step of the same `up` fails (VirtualBox: the
   * registered VM, so fixing the host and running `up` again only retries the start); otherwise
   * that `up` destroys it again.
   */
  readonly keepsCreated: boolean;
  /**
   * Whether a first boot is handed the machine's identity (guest/offered-identity.ts) where its
   * guest can read it before SSH starts (QEMU: fw_cfg items). Only ssh-key boxes use it: a
   * cloud-init box gets the same in its seed.
   */
  readonly offersIdentity: boolean;
  /**
   * Live state of a machine, from the provider's own records and a probe; never throws for a broken
   * machine. `not_created` is what tells the pipeline to create it; a machine that cannot be
   * started as it is (its disk is gone, its VM half made) is `broken` with the kind that says so.
   */
  inspect(m: MachineContext): Promise<ActualMachine>;
  /**
   * Makes the box usable where the machine will run (its server, its storage pool); idempotent,
   * and done once for the machines of one `up` that share that place (util/shared.ts). What takes
   * long (an upload) is told through `progress`, a line at a time.
   */
  importBox(m: MachineContext, box: Box, progress?: (line: string) => void): Promise<void>;
  /** Makes the machine from the box (QEMU: its copy-on-write disk; VirtualBox: the whole VM), halted. */
  create(m: MachineContext, box: Box): Promise<void>;
  /** Boots it (a running one: its endpoint), forwarding host ports through network/ports.ts. */
  start(m: MachineContext, box: Box): Promise<StartResult>;
  /** Graceful (ACPI) first unless `force`; forced after `timeoutMs`. No-op when not running. */
  stop(m: MachineContext, opts: { force: boolean; timeoutMs: number }): Promise<void>;
  /** Ends the VM and removes what the provider created for it (never the box's image). */
  destroy(m: MachineContext): Promise<void>;
  /** Last lines of the guest's console, for error messages. */
  consoleTail(m: MachineContext, lines: number): Promise<string>;
  /**
   * For the wait for a guest just launched: a host endpoint that tells when its network is up
   * (ssh/client.ts `networkProbe`), and how to take it away after. Providers without one (or a
   * failure to make it) leave the wait as it is without.
   */
  networkProbe?(m: MachineContext): Promise<GuestNetworkProbe | undefined>;
}
