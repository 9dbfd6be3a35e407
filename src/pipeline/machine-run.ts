// The context one machine's pipeline works on.
import type { Box } from '../boxes/store.js';
import type { BootPacer, BootSlot } from './boot-pacer.js';
import type { Environment, MachineSpec } from '../config/types.js';
import type { ActualMachine, MachineContext, Provider } from '../providers/provider.js';
import type { Connected, SshEndpoint } from '../ssh/client.js';
import { machinePaths, type MachinePaths } from '../state/paths.js';

/** Which provisioners a run executes: `auto` = `always` ones plus `once` ones not yet run. */
export type ProvisionMode = 'auto' | 'all' | 'none';

export interface MachineRun extends MachineContext {
  env: Environment;
  spec: MachineSpec;
  paths: MachinePaths;
  provider: Provider;
  home: string;
  actual: ActualMachine;
  provision: ProvisionMode;
  /** `--with NAME...`: run just these provisioners (`never` ones included). */
  provisionWith?: readonly string[] | undefined;
  /** Set by resolve-box. */
  box?: Box;
  endpoint?: SshEndpoint | undefined;
  /** Open SSH connection, set by wait-ssh and closed by the caller. */
  ssh?: Connected;
  /** Provisioner output, collected for --json. */
  log: string[];
  /** Halt first, so the boot takes new settings (`up --reload`, `boxfest reload`). */
  reload?: boolean;
  /** Destroy first and create anew (`up --recreate`). */
  recreate?: boolean;
  /** `up`: guests boot a few at a time; boot takes a slot, wait-ssh gives it back. */
  pacer?: BootPacer;
  bootSlot?: BootSlot;
  /** How long this machine waited for its turn to boot (ms), for --json. */
  bootWaitedMs?: number;
  /** When its guest was launched (ms since the epoch): boot_timeout counts from here. */
  launchedAt?: number;
  /** The hostname an earlier step of this run gave the guest in its own command (host-key, wait-cloud-init). */
  hostnameSet?: string;
}

export function newMachineRun(
  env: Environment,
  spec: MachineSpec,
  provider: Provider,
  home: string,
  actual: ActualMachine,
  provision: ProvisionMode,
): MachineRun {
  return { env, spec, paths: machinePaths(env.root, spec.name), provider, home, actual, provision, log: [] };
}

/** A field an earlier step must have set; its absence is a bug in the step order. */
export function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`internal: ${what} is not set (pipeline steps out of order)`);
  return value;
}

/** Gives back the machine's boot slot (its guest is up, or its pipeline ended). */
export function releaseBootSlot(run: MachineRun): void {
  run.bootSlot?.release();
  delete run.bootSlot;
}

export function closeSsh(run: MachineRun): void {
  run.ssh?.client.end();
  delete run.ssh;
}
