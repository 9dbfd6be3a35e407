// Every Boxfile under examples/ is valid: the README and the demo rely on them.
import { readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readEnvironment } from '../../src/config/index.js';
import { EXAMPLES_BEYOND_QEMU } from './config/examples-beyond-qemu.js';

const EXAMPLES = resolve(import.meta.dirname, '../../examples');
const boxfiles = readdirSync(EXAMPLES, { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('Boxfile.yaml'))
  // Those use features the QEMU provider does not have yet; test/unit/config checks them.
  .filter((f) => !EXAMPLES_BEYOND_QEMU.some((dir) => f.startsWith(`${dir}/`)))
  .map((f) => join(EXAMPLES, f));

describe('examples', () => {
  it('there are examples', () => expect(boxfiles.length).toBeGreaterThan(0));
  it.each(boxfiles)('%s is valid', (file) => {
    const env = readEnvironment(dirname(file));
    expect(env.file).toBe(file);
    expect(env.machines.length).toBeGreaterThan(0);
  });
  it('the quickstart is what the README promises', () => {
    const env = readEnvironment(join(EXAMPLES, 'quickstart'));
    expect(env.name).toBe('quickstart');
    expect(env.machines.map((m) => [m.name, m.box, m.syncedFolders[0]?.dest])).toEqual([
      ['web', 'tiny', '/srv/app'],
    ]);
  });
});
