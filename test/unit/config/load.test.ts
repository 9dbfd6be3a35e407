// Load never throws, and positionOf finds what later steps point at.

import { describe, expect, it } from 'vitest';
import { formatPath, loadBoxfile } from '../../../src/config/load.js';
import type { KeyPath } from '../../../src/config/load.js';
import { didYouMean, editDistance, pointerToPath } from '../../../src/config/validate.js';
import { yaml } from './helpers.js';

const text = yaml(
  '# a comment',
  'version: 1',
  'machines:',
  '  web:',
  '    box: debian-12',
  '    hostname:',
  '    provision:',
  '      - shell: echo hi',
  '      - { name: b, shell: x }',
  '  db: *db',
  '  api: { <<: &shared { cpus: 2 } }',
);
const load = loadBoxfile(text.replace('*db', '&db { box: a }'), '/p/Boxfile.yaml');

describe('loadBoxfile', () => {
  it('keeps the parsed value, unvalidated, and the machine order', () => {
    expect(load.issues).toEqual([]);
    expect(load.written?.machines?.web?.box).toBe('debian-12');
    expect(load.machineOrder).toEqual(['web', 'db', 'api']);
  });

  it('reports instead of throwing, for any input', () => {
    for (const bad of ['\t', ':', '[', '{a: 1', '&a', '*a', '- !!binary x', 'a: &a [*a, *a]', '\u0000']) {
      expect(() => loadBoxfile(bad, 'f')).not.toThrow();
    }
  });

  it('reports an alias bomb without expanding it', () => {
    const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 10; i++)
      lines.push(
        `a${i}: &a${i} [${Array(10)
          .fill(`*a${i - 1}`)
          .join(', ')}]`,
      );
    const result = loadBoxfile(yaml(...lines), 'f');
    expect(result.written).toBeUndefined();
    expect(result.issues.map((i) => i.message)).toEqual([
      'excessive alias count indicates a resource exhaustion attack',
    ]);
  });
});

describe('positionOf', () => {
  it.each<[KeyPath, 'key' | 'value', string]>([
    [[], 'value', '2:1'],
    [['version'], 'value', '2:10'],
    [['version'], 'key', '2:1'],
    [['machines', 'web'], 'key', '4:3'],
    [['machines', 'web'], 'value', '5:5'],
    [['machines', 'web', 'box'], 'value', '5:10'],
    // An empty value has no text of its own: point at its key.
    [['machines', 'web', 'hostname'], 'value', '6:5'],
    [['machines', 'web', 'provision', 0], 'value', '8:9'],
    [['machines', 'web', 'provision', 1, 'shell'], 'value', '9:27'],
    // Missing keys and indexes fall back to the nearest parent that exists.
    [['machines', 'web', 'memory'], 'value', '5:5'],
    [['machines', 'web', 'provision', 7, 'run'], 'value', '8:7'],
    [['machines', 'nope', 'box'], 'key', '4:3'],
    // Through an anchor / merge key: where the value is actually written.
    [['machines', 'db', 'box'], 'value', '10:18'],
    [['machines', 'api', 'cpus'], 'value', '11:30'],
  ])('%j (%s) → %s', (path, at, want) => {
    const { line, column } = load.positionOf(path, at);
    expect(`${line}:${column}`).toBe(want);
  });

  it('is 1:1 for a one-line or empty file', () => {
    expect(loadBoxfile('', 'f').positionOf(['version'])).toEqual({ line: 1, column: 1 });
    expect(loadBoxfile('version: 1', 'f').positionOf(['version'])).toEqual({ line: 1, column: 10 });
  });
});

describe('paths', () => {
  it.each<[KeyPath, string]>([
    [[], ''],
    [['version'], 'version'],
    [['machines', 'web', 'provision', 0, 'run'], 'machines.web.provision[0].run'],
    [['defaults', 'synced_folders', 12], 'defaults.synced_folders[12]'],
  ])('formatPath(%j) = %s', (path, want) => {
    expect(formatPath(path)).toBe(want);
  });

  it('reads JSON pointers, unescaping ~1 and ~0, with numbers only for list indexes', () => {
    const data = { machines: { 'a/b~c': { provision: [{ run: 1 }] }, '0': {} } };
    expect(pointerToPath('/machines/a~1b~0c/provision/0/run', data)).toEqual([
      'machines',
      'a/b~c',
      'provision',
      0,
      'run',
    ]);
    expect(pointerToPath('/machines/0', data)).toEqual(['machines', '0']);
    expect(pointerToPath('', data)).toEqual([]);
  });
});

describe('did you mean', () => {
  const keys = ['box', 'cpus', 'memory', 'hostname', 'boot_timeout', 'ssh', 'synced_folders', 'provision'];
  it.each([
    ['memroy', 'did you mean `memory`?'],
    ['Memory', 'did you mean `memory`?'],
    ['cpu', 'did you mean `cpus`?'],
    ['synced-folders', 'did you mean `synced_folders`?'],
    ['provisioner', 'did you mean `provision`?'],
    ['boottimeout', 'did you mean `boot_timeout`?'],
    ['ram', `allowed keys here: ${keys.join(', ')}`],
  ])('%s → %s', (key, want) => {
    expect(didYouMean(key, keys)).toBe(want);
  });

  it.each([
    ['', '', 0],
    ['abc', '', 3],
    ['memroy', 'memory', 1],
    ['kitten', 'sitting', 3],
  ])('editDistance(%s, %s) = %d', (a, b, want) => {
    expect(editDistance(a, b)).toBe(want);
    expect(editDistance(b, a)).toBe(want);
  });
});
