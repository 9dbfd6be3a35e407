// Every example validates: schema and rules, against the provider that can do everything, and
// the ones QEMU can already run against the real capabilities. The reference uses every key.

import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { main } from '../../../src/cli.js';
import { readEnvironment } from '../../../src/config/index.js';
import { loadBoxfile } from '../../../src/config/load.js';
import { schemaKeys } from '../../../src/config/schema-doc.js';
import { CAPABILITIES } from '../../../src/providers/capabilities.js';
import { PERMISSIVE } from './helpers.js';

import { EXAMPLES_BEYOND_QEMU } from './examples-beyond-qemu.js';

export { EXAMPLES_BEYOND_QEMU };

const EXAMPLES = resolve(import.meta.dirname, '../../../examples');
const dirs = readdirSync(EXAMPLES, { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('Boxfile.yaml'))
  .map((f) => dirname(join(EXAMPLES, f)));
const vars = {}; // no environment: every ${VAR} in the examples has a default
/** PERMISSIVE with every provider's own block keys (an example may use libvirt's `uri`, `pool`). */
const EVERYTHING = { ...PERMISSIVE, settings: Object.values(CAPABILITIES).flatMap((c) => c.settings) };
/** The examples written for another provider than QEMU (checked against its real capabilities). */
const OTHER_PROVIDER: Record<string, string> = { 'remote-libvirt': 'libvirt', 'two-hosts': 'libvirt' };

describe('examples', () => {
  it('has the reference and the small examples', () => {
    const names = dirs.map((d) => relative(EXAMPLES, d)).sort();
    expect(names).toEqual([
      'bridged',
      'multi-machine',
      'quickstart',
      'reference',
      'remote-libvirt',
      'single',
      'sync-and-provision',
      'two-hosts',
    ]);
  });

  it.each(dirs)('%s is valid for a provider that can do everything', (dir) => {
    const env = readEnvironment(dir, { vars, capabilities: EVERYTHING });
    expect(env.machines.length).toBeGreaterThan(0);
  });

  it.each(dirs.filter((d) => !EXAMPLES_BEYOND_QEMU.includes(relative(EXAMPLES, d))))(
    '%s is valid for its provider as it is today',
    (dir) => {
      expect(readEnvironment(dir, { vars }).provider).toBe(OTHER_PROVIDER[relative(EXAMPLES, dir)] ?? 'qemu');
    },
  );

  it('`boxfest validate` accepts the reference as it is, on QEMU (box_version, disk_size and all)', async () => {
    const dir = join(EXAMPLES, 'reference');
    expect(readEnvironment(dir, { vars }).provider).toBe('qemu');
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(await main(['validate'], dir)).toBe(0);
      expect(out.mock.calls.map((c) => String(c[0])).join('')).toBe(
        `${join(dir, 'Boxfile.yaml')} is valid: 2 machine(s): web, db\n`,
      );
      expect(err.mock.calls).toEqual([]);
    } finally {
      out.mockRestore();
      err.mockRestore();
    }
  });

  it.each(EXAMPLES_BEYOND_QEMU)('%s is refused by qemu today, for capabilities only', (name) => {
    expect(() => readEnvironment(join(EXAMPLES, name), { vars })).toThrow(/problem/);
    try {
      readEnvironment(join(EXAMPLES, name), { vars });
    } catch (e) {
      const issues = (e as { issues: { message: string }[] }).issues;
      expect(issues.every((i) => /^provider `qemu` cannot do /.test(i.message))).toBe(true);
    }
  });

  it.each(dirs)('%s carries the schema comment', (dir) => {
    const first = readFileSync(join(dir, 'Boxfile.yaml'), 'utf8').split('\n')[0];
    expect(first).toBe('# yaml-language-server: $schema=../../schemas/boxfile.schema.json');
  });

  it('the reference uses every key of the schema, each with a comment', () => {
    const text = readFileSync(join(EXAMPLES, 'reference', 'Boxfile.yaml'), 'utf8');
    const written = loadBoxfile(text, 'Boxfile.yaml', vars).written;
    const used = new Set<string>();
    // Keys of `machines`, `profiles`, `networks` and `hosts` are names: shown as NAME, as schemaKeys() does.
    const walk = (value: unknown, path: string, named: boolean): void => {
      if (Array.isArray(value)) {
        for (const item of value) walk(item, `${path}[]`, false);
        return;
      }
      if (typeof value !== 'object' || value === null) return;
      for (const [k, v] of Object.entries(value)) {
        const p = `${path === '' ? '' : `${path}.`}${named ? 'NAME' : k}`;
        if (!named) used.add(p);
        walk(v, p, path === '' && ['machines', 'profiles', 'networks', 'hosts'].includes(k));
      }
    };
    walk(written, '', false);
    const norm = (p: string) => p.replace(/^defaults\./, 'machines.NAME.');
    const have = new Set([...used].map(norm));
    const missing = schemaKeys()
      .map(norm)
      .filter((k) => !have.has(k) && k !== 'defaults');
    expect(missing).toEqual([]);
    // A comment on each line that sets a key (flow mappings count as one line).
    const bare = text.split('\n').filter((l) => /^\s*(- )?[a-z_]+:/.test(l) && !l.includes(' # '));
    expect(bare).toEqual([]);
  });
});
