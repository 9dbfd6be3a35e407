// Boxfile types. "Written" types mirror the file: every key optional, so unset stays distinct
// from false/0. "Resolved" types are what the rest of boxfest uses: defaults filled in, paths
// absolute, nothing optional that has a default.
//
// schemas/boxfile.schema.json is the source of truth for the written shape;
// test/unit/config/schema-types.test.ts checks that these types and the schema agree.

export type ProviderName = 'qemu';
export const PROVIDER_NAMES: readonly ProviderName[] = ['qemu'];

export type ProvisionRun = 'once' | 'always';

export interface WrittenSsh {
  user?: string;
  private_key?: string;
}

export interface WrittenSyncedFolder {
  src?: string;
  dest?: string;
}

export interface WrittenProvisioner {
  name?: string;
  shell?: string;
  run?: ProvisionRun;
}

export interface WrittenMachine {
  box?: string;
  cpus?: number;
  memory?: number;
  hostname?: string;
  boot_timeout?: number;
  ssh?: WrittenSsh;
  synced_folders?: WrittenSyncedFolder[];
  provision?: WrittenProvisioner[];
}

export interface WrittenBoxfile {
  version?: number;
  provider?: ProviderName;
  defaults?: WrittenMachine;
  machines?: Record<string, WrittenMachine | null>;
}

export interface SyncedFolder {
  /** Absolute host path. */
  src: string;
  /** Absolute guest path. */
  dest: string;
}

export interface Provisioner {
  /** `name` from the file, or `shell-N` (1-based) when unnamed. */
  name: string;
  shell: string;
  run: ProvisionRun;
}

export interface MachineSpec {
  name: string;
  provider: ProviderName;
  box: string;
  cpus: number;
  /** MiB */
  memory: number;
  hostname: string;
  /** Seconds from boot until SSH must answer. */
  bootTimeout: number;
  /** Overrides of the box's first-login user and key (key path absolute). */
  ssh: { user?: string; privateKey?: string };
  syncedFolders: SyncedFolder[];
  provision: Provisioner[];
}

export interface Environment {
  /** Absolute path of Boxfile.yaml. */
  file: string;
  /** Directory holding the Boxfile: the project root. */
  root: string;
  /** Project name (DNS-label form of the root's base name), used in ssh-config host names. */
  name: string;
  provider: ProviderName;
  /** In file order. */
  machines: MachineSpec[];
}
