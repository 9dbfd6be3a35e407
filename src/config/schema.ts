// Shape problems: the written Boxfile against schemas/boxfile.schema.json (the source of truth),
// every error ajv finds, each mapped to a position, a plain message and, where we can, a fix.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import type { Ajv2020 as Ajv2020Type, ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import { boxfestHome, validBoxfileMark } from '../state/paths.js';
import type { ConfigIssue } from '../errors.js';
import { formatPath, isEnvValuePath } from './load.js';
import type { KeyPath, LoadResult } from './load.js';
import type { WrittenBoxfile } from './types.js';
import { sizeHint } from './units.js';
import { sortIssues } from './issues.js';
import { quoteForMessage } from './names.js';
import { PACKAGE_ROOT } from '../util/package-root.js';

/** Schema problems, all of them, sorted by position. Empty when `load.written` matches the schema. */
export function validateWritten(load: LoadResult): ConfigIssue[] {
  if (load.written === undefined) return []; // the YAML itself is broken: load.issues says why
  // Loading and compiling the schema with ajv is most of a no-op `up`'s time; a document that
  // passed this exact schema before passes again, so that is remembered (by hash) and skipped.
  const mark = validBoxfileMark(boxfestHome(), validityKey(load));
  if (existsSync(mark)) return [];
  const validate = compiledSchema();
  if (validate(load.written)) {
    remember(mark);
    return [];
  }
  const errors = dedupe(validate.errors ?? []);
  return sortIssues(errors.flatMap((e) => schemaIssue(e, load)));
}

/**
 * The exact document: its source text and what each `${VAR}` gave. A key made from the parsed
 * value would be lossy (JSON writes `.nan` and `null` alike), so one file could pass as another.
 */
function validityKey(load: LoadResult): string {
  return createHash('sha256')
    .update(schemaText())
    .update('\0')
    .update(load.text)
    .update('\0')
    .update(JSON.stringify(load.interpolations))
    .digest('hex')
    .slice(0, 32);
}

function remember(mark: string): void {
  try {
    mkdirSync(dirname(mark), { recursive: true });
    writeFileSync(mark, '');
  } catch {
    // A read-only home only costs the time saved.
  }
}

let validator: ValidateFunction<WrittenBoxfile> | undefined;

/** Compiled once, on first use. Exported for tests that check the schema itself. */
export function compiledSchema(): ValidateFunction<WrittenBoxfile> {
  // Required on first use, not imported: commands whose Boxfile is known valid never load ajv.
  const { Ajv2020 } = createRequire(import.meta.url)('ajv/dist/2020.js') as { Ajv2020: typeof Ajv2020Type };
  // verbose: errors carry parentSchema (known keys for "did you mean") and the offending data.
  validator ??= new Ajv2020({
    allErrors: true,
    strict: true,
    allowUnionTypes: true,
    strictRequired: false,
    verbose: true,
  }).compile<WrittenBoxfile>(loadSchema());
  return validator;
}

let text: string | undefined;
function schemaText(): string {
  text ??= readFileSync(new URL('schemas/boxfile.schema.json', PACKAGE_ROOT), 'utf8');
  return text;
}

export function loadSchema(): Record<string, unknown> {
  return JSON.parse(schemaText()) as Record<string, unknown>;
}

// allErrors makes ajv noisy: `if/else` adds a wrapper error to the real ones, and a value of the
// wrong type also fails every other keyword at that spot. Keep the root causes.
function dedupe(errors: ErrorObject[]): ErrorObject[] {
  const wrongType = new Set(errors.filter((e) => e.keyword === 'type').map((e) => e.instancePath));
  const seen = new Set<string>();
  // `oneOf` (an env value: a string, or `{value, secret}`): report only the branch of the shape
  // that was written, and not the `oneOf` wrapper.
  const oneOfData = new Map(errors.filter((e) => e.keyword === 'oneOf').map((e) => [e.instancePath, e.data]));
  const writtenAsMapping = (path: string) => {
    const owner = [...oneOfData.keys()]
      .filter((p) => path === p || path.startsWith(p + '/'))
      .sort()
      .at(-1);
    const data = owner === undefined ? undefined : oneOfData.get(owner);
    return typeof data === 'object' && data !== null;
  };
  return errors.filter((e) => {
    if (e.keyword === 'if' || e.keyword === 'oneOf') return false;
    if (e.schemaPath.includes('/oneOf/0/') && writtenAsMapping(e.instancePath)) return false;
    const mappingBranch = e.schemaPath.includes('/oneOf/1/') || e.schemaPath.startsWith('#/$defs/envValue');
    if (mappingBranch && !writtenAsMapping(e.instancePath)) return false;
    // The branches of an `anyOf` each fail; the `anyOf` error itself says it better.
    if (e.schemaPath.includes('/anyOf/')) return false;
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
      if (last === 'env') {
        return issue(
          [...at, key],
          'key',
          `\`${key}\` is not a valid environment variable name`,
          'use letters, digits and `_`, not starting with a digit',
        );
      }
      const known = Object.keys(propertiesOf(e.parentSchema));
      return issue([...at, key], 'key', `unknown key \`${key}\``, didYouMean(key, known));
    }
    case 'anyOf': {
      const keys = requiredKeys(e.schema);
      return issue(at, 'value', `needs one of ${listKeys(keys, 'or')}`, lookup(ANY_OF_HINTS, keys[0]));
    }
    case 'not': {
      const data = (e.data ?? {}) as Record<string, unknown>;
      const keys = requiredKeys((e.schema as { anyOf?: unknown } | undefined)?.anyOf);
      const set = keys.filter((k) => Object.hasOwn(data, k));
      return issue(
        at,
        'value',
        `sets ${listKeys(set, 'and')}; use only one of them`,
        at.includes('triggers') ? 'split it into one trigger each' : 'split it into one provisioner each',
      );
    }
    case 'dependentRequired': {
      const key = String(params.missingProperty);
      const by = String(params.property);
      return issue([...at, key], 'value', `\`${by}\` needs \`${key}\``, lookup(DEPENDENT_HINTS, by));
    }
    case 'false schema': {
      const key = String(last);
      return issue(
        at,
        'key',
        notHere(key, at, load.written) ?? `\`${key}\` is not allowed here`,
        'remove it',
      );
    }
    case 'required': {
      const key = String(params.missingProperty);
      return issue([...at, key], 'value', `missing required key \`${key}\``, lookup(REQUIRED_HINTS, key));
    }
    case 'type': {
      const parent = at.at(-2);
      // An env value may be a secret: the hint shows what was written (`${PIN}`), never its value.
      const written = load.writtenSource(at) ?? (typeof e.data === 'string' ? e.data : String(e.data));
      const hint =
        e.data === null
          ? emptyHint(last)
          : parent === 'env' && params.type === 'string'
            ? `quote it: \`${String(last)}: "${written.replace(/^"|"$/g, '')}"\`, or write \`{ value: ..., secret: true }\``
            : unitHint(last);
      const what = e.data === null ? 'an empty value' : shown(load, at, e.data);
      return issue(at, 'value', `${what} is not ${typePhrase(params.type)}`, hint ?? rootHint(at));
    }
    case 'const':
      return issue(
        at,
        'value',
        `${shown(load, at, e.data)} is not ${JSON.stringify(params.allowedValue)}`,
        lookup(CONST_HINTS, last),
      );
    case 'enum':
      return issue(
        at,
        'value',
        `${shown(load, at, e.data)} is not one of ${(params.allowedValues as unknown[]).join(', ')}`,
      );
    case 'minimum':
      return issue(
        at,
        'value',
        `${shown(load, at, e.data)} is below ${String(params.limit)}`,
        unitHint(last),
      );
    case 'maximum':
      return issue(
        at,
        'value',
        `${shown(load, at, e.data)} is above ${String(params.limit)}`,
        unitHint(last),
      );
    case 'minLength':
      return issue(at, 'value', 'must not be empty');
    case 'maxLength':
      return issue(
        at,
        'value',
        `${shown(load, at, e.data)} is longer than ${String(params.limit)} characters`,
      );
    case 'minProperties':
      return last === 'machines'
        ? issue(at, 'value', 'must define at least one machine', MACHINES_EXAMPLE)
        : issue(at, 'value', `must have at least ${String(params.limit)} keys`);
    case 'pattern': {
      const title = (e.parentSchema as { title?: string } | undefined)?.title ?? 'value';
      if (title === 'size')
        return issue(
          at,
          'value',
          `${shown(load, at, e.data)} is not a size`,
          sizeHint(String(last), String(e.data)),
        );
      return issue(
        at,
        'value',
        `${shown(load, at, e.data)} is not a valid ${title}`,
        lookup(PATTERN_HINTS, title),
      );
    }
    default:
      return issue(at, 'value', e.message ?? `fails the schema's \`${e.keyword}\` rule`);
  }
}

/**
 * A value as an error message quotes it, cut to 60 characters: a string in quotes, a number or
 * boolean as is, a mapping or list by its kind. A value `${VAR}` gave says so; in a provisioner's
 * `env`, where such values are secret, only what was written is shown.
 */
function shown(load: LoadResult, at: KeyPath, value: unknown): string {
  const written = load.writtenSource(at);
  const source =
    written === undefined ? '' : `\`${written.length > 60 ? written.slice(0, 59) + '…' : written}\``;
  if (written !== undefined && isEnvValuePath(at)) return source;
  const text =
    typeof value === 'string'
      ? quoteForMessage(value.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1***@'))
      : Array.isArray(value)
        ? 'a list'
        : typeof value === 'object' && value !== null
          ? 'a mapping'
          : String(value);
  return written === undefined ? text : `${text} (from ${source})`;
}

const MACHINES_EXAMPLE = 'add one, e.g. `web: { box: debian-12 }`';
const REQUIRED_HINTS: Record<string, string> = {
  version: 'add `version: 1` at the top of the file',
  machines: 'add a `machines:` mapping with at least one machine',
  src: 'a synced folder needs `src` (host directory) and `dest` (guest path)',
  dest: 'a synced folder needs `src` (host directory) and `dest` (guest path)',
  network: 'name the network to attach to, e.g. `network: backend`',
  guest: 'a forwarded port needs `guest` and `host`, e.g. `{ guest: 80, host: 8080 }`',
  host: 'a forwarded port needs `guest` and `host`, e.g. `{ guest: 80, host: 8080 }`',
  type: 'a network is `type: private` (with `cidr`) or `type: bridged` (with `interface`)',
  cidr: 'a private network needs `cidr`, e.g. `cidr: 192.168.56.0/24`',
  interface: 'a bridged network needs the host `interface` to bridge, e.g. `interface: eth0`',
};
const ANY_OF_HINTS: Record<string, string> = {
  run: 'a trigger is `run: [PROGRAM, ARGS...]` (on the host) or `run_remote: SCRIPT` (in the guest)',
  shell:
    'a provisioner is `shell: SCRIPT`, `shell_path: FILE`, `file: FILE` with `dest: PATH`, `ansible: PLAYBOOK` or `ansible_local: PLAYBOOK`',
};
const DEPENDENT_HINTS: Record<string, string> = {
  file: 'a `file` provisioner uploads to `dest`, an absolute guest path',
  dest: '`dest` is where a `file` provisioner uploads; add `file: HOST_PATH`',
};
const NOT_HERE: Record<string, string> = {
  args: '`args` applies to `shell` and `shell_path` provisioners only',
  env: '`env` applies to `shell` and `shell_path` provisioners only',
  privileged: '`privileged` applies to `shell` and `shell_path` provisioners only',
  extra_vars: '`extra_vars` applies to `ansible` and `ansible_local` provisioners only',
  groups: '`groups` applies to `ansible` and `ansible_local` provisioners only',
  tags: '`tags` applies to `ansible` and `ansible_local` provisioners only',
  skip_tags: '`skip_tags` applies to `ansible` and `ansible_local` provisioners only',
  limit: '`limit` applies to `ansible` provisioners only (`ansible_local` runs on its machine)',
  scope: '`scope` applies to `ansible` provisioners only (`ansible_local` runs on each machine)',
  cidr: '`cidr` applies to private networks only',
  dhcp: "`dhcp` applies to private networks only (a bridged network uses the LAN's DHCP)",
  interface: '`interface` applies to bridged networks only',
};
// Keys of rsync folders that a live shared folder (virtiofs, 9p) has no use for.
const RSYNC_ONLY = ['exclude', 'delete', 'args', 'auto'];
function notHere(key: string, at: KeyPath, written: unknown): string | undefined {
  if (at.includes('synced_folders') && RSYNC_ONLY.includes(key)) {
    const type = writtenValue(written, [...at.slice(0, -1), 'type']);
    return `\`${key}\` applies to rsync folders only, not \`type: ${String(type)}\``;
  }
  return lookup(NOT_HERE, key);
}

function writtenValue(data: unknown, path: KeyPath): unknown {
  let v = data;
  for (const seg of path)
    v = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[seg] : undefined;
  return v;
}

const UNIT_HINTS: Record<string, string> = {
  memory: 'memory is a number of MiB, e.g. `memory: 2048`, or a size such as `2GiB`',
  disk_size: 'disk_size is a number of MiB, e.g. `disk_size: 20480`, or a size such as `20GiB`',
  boot_timeout: 'boot_timeout is a number of seconds, e.g. `boot_timeout: 300`',
};
const CONST_HINTS: Record<string, string> = {
  version: 'this version of boxfest reads Boxfile version 1',
};
const PATTERN_HINTS: Record<string, string> = {
  hostname: 'use letters, digits and hyphens, with dots between labels, e.g. `web-1.local`',
  cidr: 'write an IPv4 network with its prefix length, e.g. `192.168.56.0/24`',
  'IPv4 address': 'write four numbers from 0 to 255, e.g. `192.168.56.10`',
  'MAC address': 'write six hex pairs separated by colons, e.g. `52:54:00:12:34:56`',
  owner: 'write `user` or `user:group`, e.g. `www-data:www-data`',
  'trigger event': 'one of: up, halt, destroy, provision, reload (or a list of them)',
  'disk name': 'use lowercase letters, digits, `-` and `_`, at most 12, e.g. `data`',
  'octal mode': "write the mode as a quoted octal string, e.g. `'0644'`",
  URL: 'write `http://HOST:PORT/` or `https://...`; user and password come from BOXFEST_VBOX_USER and BOXFEST_VBOX_PASSWORD, never from the Boxfile',
};

function requiredKeys(branches: unknown): string[] {
  if (!Array.isArray(branches)) return [];
  return [...new Set(branches.flatMap((b) => (b as { required?: string[] }).required ?? []))];
}

function listKeys(keys: readonly string[], joiner: 'and' | 'or'): string {
  const quoted = keys.map((k) => `\`${k}\``);
  return quoted.length <= 1
    ? (quoted[0] ?? '')
    : `${quoted.slice(0, -1).join(', ')} ${joiner} ${quoted.at(-1) ?? ''}`;
}

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
  const best = closestWord(key, known);
  if (best !== undefined) return `did you mean \`${best}\`?`;
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

/** The word of `known` closest to `word`, when it is close enough to be a slip. */
export function closestWord(word: string, known: readonly string[]): string | undefined {
  if (known.length === 0) return undefined;
  const best = known
    .map((k) => ({ k, d: editDistance(word.toLowerCase(), k) }))
    .reduce((a, b) => (b.d < a.d ? b : a));
  return best.d <= Math.max(1, Math.floor(word.length / 3)) ? best.k : undefined;
}
