// Step 2 of 3: written → resolved. Pure: no I/O, no host lookups, so the same file always gives
// the same Environment.
//
// Precedence, per key: machine > defaults > built-in. The lists (synced_folders, provision) are
// concatenated instead, defaults first, as Lima does for its slices. `ssh` is merged per key.

import { basename, resolve } from 'node:path';
import type {
  Environment,
  MachineSpec,
  Provisioner,
  SyncedFolder,
  WrittenBoxfile,
  WrittenMachine,
} from './types.js';

export interface DefaultsContext {
  /** Absolute path of Boxfile.yaml. */
  file: string;
  /** Directory relative paths are resolved against (the Boxfile's directory). */
  root: string;
  /**
   * Machine names in file order (LoadResult.machineOrder). A JS object lists integer-like keys
   * first, so `written.machines` alone cannot keep the order of a machine named `1`.
   */
  machineOrder?: readonly string[];
}

/** Built-in defaults: what a machine gets when neither it nor `defaults` sets a key. */
export const BUILTIN = {
  provider: 'qemu',
  cpus: 1,
  memory: 512,
  bootTimeout: 120,
  run: 'once',
} as const;

/** Expects a Boxfile that passed validateWritten(). */
export function fillDefaults(written: WrittenBoxfile, ctx: DefaultsContext): Environment {
  const d: WrittenMachine = written.defaults ?? {};
  const machines = written.machines ?? {};
  const provider = written.provider ?? BUILTIN.provider;
  return {
    file: ctx.file,
    root: ctx.root,
    name: projectName(ctx.root),
    provider,
    machines: orderedNames(machines, ctx.machineOrder).map((name) =>
      machineSpec(name, machines[name] ?? {}, d, provider, ctx.root),
    ),
  };
}

function machineSpec(
  name: string,
  m: WrittenMachine,
  d: WrittenMachine,
  provider: Environment['provider'],
  root: string,
): MachineSpec {
  const user = m.ssh?.user ?? d.ssh?.user;
  const key = m.ssh?.private_key ?? d.ssh?.private_key;
  const folders = [...(d.synced_folders ?? []), ...(m.synced_folders ?? [])];
  const provision = [...(d.provision ?? []), ...(m.provision ?? [])];
  return {
    name,
    provider,
    // '' when neither sets it; checkRules() reports that with the machine's position.
    box: m.box ?? d.box ?? '',
    cpus: m.cpus ?? d.cpus ?? BUILTIN.cpus,
    memory: m.memory ?? d.memory ?? BUILTIN.memory,
    hostname: m.hostname ?? d.hostname ?? name,
    bootTimeout: m.boot_timeout ?? d.boot_timeout ?? BUILTIN.bootTimeout,
    ssh: {
      ...(user === undefined ? {} : { user }),
      ...(key === undefined ? {} : { privateKey: resolve(root, key) }),
    },
    syncedFolders: folders.map((f): SyncedFolder => ({
      src: resolve(root, f.src ?? ''),
      dest: f.dest ?? '',
    })),
    provision: provision.map((p, i): Provisioner => ({
      name: p.name ?? `shell-${i + 1}`,
      shell: p.shell ?? '',
      run: p.run ?? BUILTIN.run,
    })),
  };
}

/** DNS-label form of the root's base name: `My App!` → `my-app`; `project` if nothing is left. */
export function projectName(root: string): string {
  const label = basename(root)
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .slice(0, 40)
    .replace(/^-+|-+$/g, '');
  return label === '' ? 'project' : label;
}

function orderedNames(machines: Record<string, unknown>, order: readonly string[] = []): string[] {
  const names = order.filter((n) => Object.hasOwn(machines, n));
  const rest = Object.keys(machines).filter((n) => !names.includes(n));
  return [...names, ...rest];
}
