// What every rule gets: the resolved environment, the written file (for positions), the host
// filesystem and the provider's capabilities, plus helpers to report an issue where the value
// that causes it is written.

import type { ConfigIssue } from '../../errors.js';
import type { Capabilities } from '../../providers/capabilities.js';
import { formatPath } from '../load.js';
import type { KeyPath, LoadResult } from '../load.js';
import type { Environment, MachineSpec, WrittenBoxfile, WrittenMachine, WrittenProfile } from '../types.js';

/** What a host path is (following symlinks); undefined when it does not exist. */
export type PathKind = 'file' | 'directory' | 'other';

/** Host filesystem access used by the rules; injected so tests need no real files. */
export interface FsCheck {
  exists: (path: string) => boolean;
  /** What the path is; without it, only existence is checked. */
  kind?: (path: string) => PathKind | undefined;
  /** The path with every symlink resolved; undefined when it does not exist. */
  realpath?: (path: string) => string | undefined;
}

export interface RuleContext {
  env: Environment;
  load: LoadResult;
  written: WrittenBoxfile;
  fs: FsCheck;
  caps: Capabilities;
  add: (path: KeyPath, at: 'key' | 'value', message: string, hint?: string) => void;
  /** The machine as written (`{}` for an empty one). */
  own: (machine: MachineSpec) => WrittenMachine;
  /** Where a machine's merged scalar key is written: the machine, its profile, or `defaults`. */
  origin: (machine: MachineSpec, key: keyof WrittenMachine) => KeyPath | undefined;
  /** Where entry `i` of a merged list (defaults first, then the machine's) is written. */
  listOrigin: (machine: MachineSpec, list: ListKey, i: number) => KeyPath;
}

export type ListKey = 'synced_folders' | 'provision' | 'networks' | 'forwarded_ports' | 'triggers' | 'disks';
export type Rule = (ctx: RuleContext) => void;

export function ruleContext(
  env: Environment,
  load: LoadResult,
  fs: FsCheck,
  caps: Capabilities,
  issues: ConfigIssue[],
): RuleContext {
  const written: WrittenBoxfile = load.written ?? {};
  const defaults = written.defaults ?? {};
  const own = (m: MachineSpec): WrittenMachine => written.machines?.[m.name] ?? {};
  return {
    env,
    load,
    written,
    fs,
    caps,
    own,
    add(path, at, message, hint) {
      issues.push({
        file: load.file,
        ...load.positionOf(path, at),
        path: formatPath(path),
        message,
        ...(hint === undefined ? {} : { hint }),
      });
    },
    origin(m, key) {
      if (own(m)[key] !== undefined) return ['machines', m.name, key];
      const profile = own(m).profile ?? defaults.profile;
      if (profile !== undefined && key in PROFILE_KEYS) {
        const p: WrittenProfile | undefined = written.profiles?.[profile];
        if (p?.[key as keyof WrittenProfile] !== undefined) return ['profiles', profile, key];
      }
      return defaults[key] !== undefined ? ['defaults', key] : undefined;
    },
    listOrigin(m, list, i) {
      const fromDefaults = defaults[list]?.length ?? 0;
      return i < fromDefaults ? ['defaults', list, i] : ['machines', m.name, list, i - fromDefaults];
    },
  };
}

const PROFILE_KEYS = { cpus: true, memory: true, disk_size: true } satisfies Record<
  keyof WrittenProfile,
  true
>;

/** The value at `path` in the written file, if any. */
export function writtenAt<T>(value: unknown, path: KeyPath): T | undefined {
  for (const seg of path) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string | number, unknown>)[seg];
  }
  return value as T | undefined;
}

export function missingPath(written: string, resolved: string): string {
  return written === resolved
    ? `\`${written}\` does not exist`
    : `\`${written}\` does not exist (resolved to ${resolved})`;
}
