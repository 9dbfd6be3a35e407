// schemas/boxfile.schema.json is the source of truth; src/config/types.ts must say the same.
// Each `satisfies` fails to compile if a type gains or loses a key; each test fails if the schema
// does. Together they keep both in step.

import { describe, expect, it } from 'vitest';
import { compiledSchema, loadSchema } from '../../../src/config/validate.js';
import type {
  WrittenBoxfile,
  WrittenMachine,
  WrittenProvisioner,
  WrittenSsh,
  WrittenSyncedFolder,
} from '../../../src/config/types.js';
import { PROVIDER_NAMES } from '../../../src/config/types.js';

type Schema = { [key: string]: unknown; properties?: Record<string, Schema> };

const schema = loadSchema() as Schema;
const defs = schema.$defs as Record<string, Schema>;

const boxfileKeys = { version: true, provider: true, defaults: true, machines: true } satisfies Record<
  keyof WrittenBoxfile,
  true
>;
const machineKeys = {
  box: true,
  cpus: true,
  memory: true,
  hostname: true,
  boot_timeout: true,
  ssh: true,
  synced_folders: true,
  provision: true,
} satisfies Record<keyof WrittenMachine, true>;
const sshKeys = { user: true, private_key: true } satisfies Record<keyof WrittenSsh, true>;
const folderKeys = { src: true, dest: true } satisfies Record<keyof WrittenSyncedFolder, true>;
const provisionerKeys = { name: true, shell: true, run: true } satisfies Record<
  keyof WrittenProvisioner,
  true
>;

const keysOf = (s: Schema | undefined): string[] => Object.keys(s?.properties ?? {}).sort();

describe('schema and types agree', () => {
  it.each<[string, Schema | undefined, Record<string, true>]>([
    ['WrittenBoxfile', schema, boxfileKeys],
    ['WrittenMachine', defs.machine, machineKeys],
    ['WrittenSsh', defs.ssh, sshKeys],
    ['WrittenSyncedFolder', defs.syncedFolder, folderKeys],
    ['WrittenProvisioner', defs.provisioner, provisionerKeys],
  ])('%s', (_name, sub, keys) => {
    expect(keysOf(sub)).toEqual(Object.keys(keys).sort());
  });

  it('lists the same providers and run values', () => {
    expect(schema.properties?.provider?.enum).toEqual([...PROVIDER_NAMES]);
    expect(defs.provisioner?.properties?.run?.enum).toEqual([
      'once',
      'always',
    ] satisfies WrittenProvisioner['run'][]);
  });
});

describe('the schema itself', () => {
  it('compiles under ajv strict mode', () => {
    expect(() => compiledSchema()).not.toThrow();
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(typeof schema.$id).toBe('string');
  });

  // Editors show `description` on hover, and a closed object is what makes typos errors.
  it('documents every key and closes every object', () => {
    const problems: string[] = [];
    const walk = (s: Schema, where: string): void => {
      if (s.type === 'object' && where !== '#/properties/machines' && s.additionalProperties !== false) {
        problems.push(`${where}: additionalProperties is not false`);
      }
      for (const [key, sub] of Object.entries(s.properties ?? {})) {
        if (typeof sub.description !== 'string') problems.push(`${where}/properties/${key}: no description`);
        walk(sub, `${where}/properties/${key}`);
      }
    };
    walk(schema, '#');
    for (const [name, def] of Object.entries(defs)) walk(def, `#/$defs/${name}`);
    expect(problems).toEqual([]);
  });
});
