// --quiet / --verbose / --color / NO_COLOR: the decision, what it writes into the environment
// (for listr2's palette, loaded later), the renderer it picks, and the CLI's handling.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../../src/cli.js';
import { rendererFor } from '../../../src/pipeline/runner.js';
import { decideColor, setOutputMode } from '../../../src/util/output-mode.js';

afterEach(() => {
  vi.restoreAllMocks();
  setOutputMode({ quiet: false, verbose: false, color: 'never' }, {});
});

describe('colour', () => {
  it.each([
    ['always', {}, false, true],
    ['always', { NO_COLOR: '1' }, false, true],
    ['never', { FORCE_COLOR: '1' }, true, false],
    ['auto', {}, true, true],
    ['auto', {}, false, false],
    ['auto', { NO_COLOR: '' }, true, false],
    ['auto', { TERM: 'dumb' }, true, false],
  ] as const)('--color %s with %j, tty %s: %s', (when, env, tty, want) => {
    expect(decideColor(when, { ...env }, tty)).toBe(want);
    const e: NodeJS.ProcessEnv = { ...env };
    expect(setOutputMode({ quiet: false, verbose: false, color: when }, e, tty).color).toBe(want);
    // Written in the form colorette (listr2's palette) obeys when it is imported.
    expect(e['NO_COLOR'] !== undefined).toBe(!want);
    expect(e['FORCE_COLOR'] !== undefined).toBe(want);
  });
});

describe('renderer', () => {
  it.each([
    [{ quiet: false, verbose: false }, false, process.stdout.isTTY ? 'default' : 'lines'],
    [{ quiet: true, verbose: false }, false, 'silent'],
    // --verbose is not a renderer: the same one keeps every step (see runner.test.ts)
    [{ quiet: false, verbose: true }, false, process.stdout.isTTY ? 'default' : 'lines'],
    [{ quiet: true, verbose: true }, false, 'silent'],
    [{ quiet: false, verbose: false }, true, 'silent'],
  ])('%j, json %s: %s', (m, json, want) => {
    setOutputMode({ ...m, color: 'never' }, {});
    expect(rendererFor(json)).toBe(want);
  });
});

describe('the CLI', () => {
  const root = mkdtempSync(join(tmpdir(), 'boxfest-output-'));
  writeFileSync(join(root, 'Boxfile.yaml'), 'version: 1\nmachines:\n  web: { box: tiny }\n');
  afterEach(() => undefined);

  it('--quiet drops notes, keeps results', async () => {
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    expect(await main(['destroy', '--force'], root)).toBe(0);
    expect(err.mock.calls.map((c) => String(c[0])).join('')).toBe('nothing to destroy\n');
    err.mockClear();
    expect(await main(['destroy', '--force', '--quiet'], root)).toBe(0);
    expect(err.mock.calls).toEqual([]);
    expect(await main(['validate', '--quiet'], root)).toBe(0);
    expect(out.mock.calls.map((c) => String(c[0])).join('')).toContain('is valid: 1 machine(s): web');
  });

  it('a bad --color is a usage error that keeps its shape (and --json)', async () => {
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    expect(await main(['validate', '--color', 'sometimes'], root)).toBe(2);
    expect(err.mock.calls.map((c) => String(c[0])).join('')).toMatch(
      /`--color sometimes` is not one of: always, never, auto/,
    );
    expect(await main(['validate', '--json', '--color', 'sometimes'], root)).toBe(2);
    const doc = JSON.parse(out.mock.calls.map((c) => String(c[0])).join('')) as { error: { code: string } };
    expect(doc.error.code).toBe('USAGE');
    rmSync(root, { recursive: true, force: true });
  });
});
