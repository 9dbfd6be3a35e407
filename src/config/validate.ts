// Step 3 of 3: everything that is wrong with a Boxfile, each with its line, column and key path.
// validateWritten() checks the written shape against schemas/boxfile.schema.json (the source of
// truth); checkRules() checks what a schema cannot: names, box presence, paths on the host.

import { readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import type { ConfigIssue } from '../errors.js';
import { formatPath } from './load.js';
import type { KeyPath, LoadResult } from './load.js';
import type { Environment, WrittenBoxfile, WrittenMachine } from './types.js';

/** Host filesystem access used by the rules; injected so tests need no real files. */
export interface FsCheck {
  exists(path: string): boolean;
}

/** Schema problems, all of them, sorted by position. Empty when `load.written` matches the schema. */
export function validateWritten(load: LoadResult): ConfigIssue[] {
  if (load.written === undefined) return []; // the YAML itself is broken: load.issues says why
  const validate = compiledSchema();
  if (validate(load.written)) return [];
  const errors = dedupe(validate.errors ?? []);
  return sortIssues(errors.flatMap((e) => schemaIssue(e, load)));
}

/** Semantic rules on the resolved environment; positions come from the written file. */
export function checkRules(env: Environment, load: LoadResult, fsCheck: FsCheck): ConfigIssue[] {
  const written: WrittenBoxfile = load.written ?? {};
  const defaults = written.defaults ?? {};
  const issues: ConfigIssue[] = [];
  const add = (path: KeyPath, at: 'key' | 'value', message: string, hint?: string): void => {
    issues.push({
      file: load.file,
      ...load.positionOf(path, at),
      path: formatPath(path),
      message,
      ...(hint === undefined ? {} : { hint }),
    });
  };

  for (const machine of env.machines) {
    const own: WrittenMachine = written.machines?.[machine.name] ?? {};
    const at = ['machines', machine.name];
    if (!DNS_LABEL.test(machine.name)) {
      add(
        at,
        'key',
        `machine name \`${machine.name}\` is not a valid DNS label`,
        'use lowercase letters, digits and hyphens (at most 63, not starting or ending with a hyphen); the name is also the default hostname',
      );
    }
    if (own.box === undefined && defaults.box === undefined) {
      add(at, 'key', `machine \`${machine.name}\` has no box`, 'set `box:` on the machine or in `defaults`');
    }

    // Merged lists are defaults first, then the machine's: map each entry back to where it is written.
    const origin = (list: 'synced_folders' | 'provision', i: number): KeyPath => {
      const fromDefaults = defaults[list]?.length ?? 0;
      return i < fromDefaults ? ['defaults', list, i] : [...at, list, i - fromDefaults];
    };
    for (const [i, folder] of machine.syncedFolders.entries()) {
      const path = origin('synced_folders', i);
      if (!posix.isAbsolute(folder.dest)) {
        add(
          [...path, 'dest'],
          'value',
          'must be an absolute path in the guest',
          `did you mean \`${posix.join('/', folder.dest)}\`?`,
        );
      }
      if (!fsCheck.exists(folder.src)) {
        const src = writtenAt<string>(written, [...path, 'src']) ?? folder.src;
        add(
          [...path, 'src'],
          'value',
          missingPath(src, folder.src),
          'create the directory on the host or fix the path',
        );
      }
    }
    const seen = new Set<string>();
    for (const [i, p] of machine.provision.entries()) {
      if (seen.has(p.name)) {
        const path = origin('provision', i);
        const named = writtenAt<string>(written, [...path, 'name']) !== undefined;
        add(
          named ? [...path, 'name'] : path,
          'value',
          `duplicate provisioner name \`${p.name}\``,
          'give each provisioner of a machine its own `name`',
        );
      }
      seen.add(p.name);
    }
    if (machine.ssh.privateKey !== undefined && !fsCheck.exists(machine.ssh.privateKey)) {
      const path =
        own.ssh?.private_key !== undefined
          ? [...at, 'ssh', 'private_key']
          : ['defaults', 'ssh', 'private_key'];
      const key = writtenAt<string>(written, path) ?? machine.ssh.privateKey;
      add(
        path,
        'value',
        missingPath(key, machine.ssh.privateKey),
        "point it at an existing private key, or remove it to use the box's key",
      );
    }
  }
  // A problem in `defaults` shows up once per machine; report it once.
  const unique = new Map(issues.map((i) => [`${i.path}\n${i.message}`, i]));
  return sortIssues([...unique.values()]);
}

export function sortIssues(issues: ConfigIssue[]): ConfigIssue[] {
  return [...issues].sort((a, b) => a.line - b.line || a.column - b.column || a.path.localeCompare(b.path));
}

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

function missingPath(written: string, resolved: string): string {
  return written === resolved
    ? `\`${written}\` does not exist`
    : `\`${written}\` does not exist (resolved to ${resolved})`;
}

function writtenAt<T>(value: unknown, path: KeyPath): T | undefined {
  for (const seg of path) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string | number, unknown>)[seg];
  }
  return value as T | undefined;
}

// --- schema ----------------------------------------------------------------------------------

let validator: ValidateFunction<WrittenBoxfile> | undefined;

/** Compiled once, on first use. Exported for tests that check the schema itself. */
export function compiledSchema(): ValidateFunction<WrittenBoxfile> {
  // verbose: errors carry parentSchema (known keys for "did you mean") and the offending data.
  validator ??= new Ajv2020({ allErrors: true, strict: true, verbose: true }).compile<WrittenBoxfile>(
    loadSchema(),
  );
  return validator;
}

export function loadSchema(): Record<string, unknown> {
  // Two levels below the package root both as src/config/*.ts and as dist/config/*.js.
  const url = new URL('../../schemas/boxfile.schema.json', import.meta.url);
  return JSON.parse(readFileSync(url, 'utf8')) as Record<string, unknown>;
}

// allErrors makes ajv noisy: `if/else` adds a wrapper error to the real ones, and a value of the
// wrong type also fails every other keyword at that spot. Keep the root causes.
function dedupe(errors: ErrorObject[]): ErrorObject[] {
  const wrongType = new Set(errors.filter((e) => e.keyword === 'type').map((e) => e.instancePath));
  const seen = new Set<string>();
  return errors.filter((e) => {
    if (e.keyword === 'if') return false;
    if (wrongType.has(e.instancePath) && e.keyword !== 'type') return false;
    const id = `${e.instancePath}\n${e.keyword}\n${JSON.stringify(e.params)}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

function schemaIssue(e: ErrorObject, load: LoadResult): ConfigIssue[] {
  const at = pointerToPath(e.instancePath, load.written);
  const issue = (path: KeyPath, where: 'key' | 'value', message: string, hint?: string): ConfigIssue[] => [
    {
      file: load.file,
      // A missing key has no position of its own: positionOf falls back to its parent.
      ...load.positionOf(where === 'key' ? path : at, where),
      path: formatPath(path),
      message,
      ...(hint === undefined ? {} : { hint }),
    },
  ];
  const params = e.params as Record<string, unknown>;
  const last = at.at(-1);
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String(params.additionalProperty);
      const known = Object.keys(propertiesOf(e.parentSchema));
      return issue([...at, key], 'key', `unknown key \`${key}\``, didYouMean(key, known));
    }
    case 'required': {
      const key = String(params.missingProperty);
      return issue([...at, key], 'value', `missing required key \`${key}\``, lookup(REQUIRED_HINTS, key));
    }
    case 'type': {
      const hint = e.data === null ? emptyHint(last) : unitHint(last);
      return issue(at, 'value', `must be ${typePhrase(params.type)}`, hint ?? rootHint(at));
    }
    case 'const':
      return issue(at, 'value', `must be ${JSON.stringify(params.allowedValue)}`, lookup(CONST_HINTS, last));
    case 'enum':
      return issue(at, 'value', `must be one of: ${(params.allowedValues as unknown[]).join(', ')}`);
    case 'minimum':
      return issue(at, 'value', `must be at least ${String(params.limit)}`, unitHint(last));
    case 'maximum':
      return issue(at, 'value', `must be at most ${String(params.limit)}`, unitHint(last));
    case 'minLength':
      return issue(at, 'value', 'must not be empty');
    case 'maxLength':
      return issue(at, 'value', `must be at most ${String(params.limit)} characters`);
    case 'minProperties':
      return last === 'machines'
        ? issue(at, 'value', 'must define at least one machine', MACHINES_EXAMPLE)
        : issue(at, 'value', `must have at least ${String(params.limit)} keys`);
    case 'pattern': {
      const title = (e.parentSchema as { title?: string } | undefined)?.title ?? 'value';
      return issue(at, 'value', `must be a valid ${title}`, lookup(PATTERN_HINTS, title));
    }
    default:
      return issue(at, 'value', e.message ?? `fails the schema's \`${e.keyword}\` rule`);
  }
}

const MACHINES_EXAMPLE = 'add one, e.g. `web: { box: debian-12 }`';
const REQUIRED_HINTS: Record<string, string> = {
  version: 'add `version: 1` at the top of the file',
  machines: 'add a `machines:` mapping with at least one machine',
  shell: 'a provisioner runs a `shell:` script',
  src: 'a synced folder needs `src` (host directory) and `dest` (guest path)',
  dest: 'a synced folder needs `src` (host directory) and `dest` (guest path)',
};
const UNIT_HINTS: Record<string, string> = {
  memory: 'memory is a number of MiB, e.g. `memory: 2048`',
  boot_timeout: 'boot_timeout is a number of seconds, e.g. `boot_timeout: 300`',
};
const CONST_HINTS: Record<string, string> = {
  version: 'this version of boxfest reads Boxfile version 1',
};
const PATTERN_HINTS: Record<string, string> = {
  hostname: 'use letters, digits and hyphens, with dots between labels, e.g. `web-1.local`',
};

// `key:` with nothing after it is null in YAML, which reads as "unset" to people but not to the schema.
function emptyHint(last: string | number | undefined): string {
  if (last === 'machines') return MACHINES_EXAMPLE;
  if (typeof last === 'number') return 'this list item is empty';
  if (lookup(REQUIRED_HINTS, last) !== undefined) return 'the value is empty';
  return 'the value is empty; write one, or remove the key to use the default';
}

function rootHint(at: KeyPath): string | undefined {
  return at.length === 0 ? 'a Boxfile is a mapping with `version: 1` and `machines:`' : undefined;
}

function unitHint(key: string | number | undefined): string | undefined {
  return lookup(UNIT_HINTS, key);
}

// Keys can be user-written (machine names): never let `constructor` find Object.prototype.
function lookup(table: Record<string, string>, key: string | number | undefined): string | undefined {
  return typeof key === 'string' && Object.hasOwn(table, key) ? table[key] : undefined;
}

const TYPE_NAMES: Record<string, string> = {
  object: 'a mapping',
  array: 'a list',
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  boolean: 'true or false',
  null: 'empty',
};

function typePhrase(type: unknown): string {
  const types = Array.isArray(type) ? type : String(type).split(',');
  return types.map((t) => lookup(TYPE_NAMES, String(t)) ?? String(t)).join(' or ');
}

function propertiesOf(schema: unknown): Record<string, unknown> {
  const props = (schema as { properties?: Record<string, unknown> } | undefined)?.properties;
  return props ?? {};
}

/** JSON pointer (`/machines/web~1x/0`) to a key path; indexes are numbers where the data is a list. */
export function pointerToPath(pointer: string, data: unknown): (string | number)[] {
  if (pointer === '') return [];
  const path: (string | number)[] = [];
  let value = data;
  for (const raw of pointer.slice(1).split('/')) {
    const seg = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (Array.isArray(value)) {
      const index = Number(seg);
      path.push(index);
      value = value[index] as unknown;
    } else {
      path.push(seg);
      value =
        typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[seg] : undefined;
    }
  }
  return path;
}

/** "did you mean `memory`?" for a near miss, else the list of keys allowed there. */
export function didYouMean(key: string, known: readonly string[]): string | undefined {
  if (known.length === 0) return undefined;
  const scored = known.map((k) => ({ k, d: editDistance(key.toLowerCase(), k) }));
  const best = scored.reduce((a, b) => (b.d < a.d ? b : a));
  if (best.d <= Math.max(1, Math.floor(key.length / 3))) return `did you mean \`${best.k}\`?`;
  return `allowed keys here: ${known.join(', ')}`;
}

/** Optimal string alignment distance: Levenshtein plus adjacent swaps (`memroy` → `memory` is 1). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number): number => d[i]?.[j] ?? Infinity;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        v = Math.min(v, at(i - 2, j - 2) + 1);
      (d[i] as number[])[j] = v;
    }
  }
  return at(a.length, b.length);
}
