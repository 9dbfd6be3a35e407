import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BoxfestError } from '../../../src/errors.js';
import { findBoxfile } from '../../../src/config/find.js';
import { tempDir } from './helpers.js';

function ancestors(dir: string): string[] {
  const out = [dir];
  while (dirname(out.at(-1) ?? '/') !== out.at(-1)) out.push(dirname(out.at(-1) ?? '/'));
  return out;
}

function thrown(fn: () => unknown): BoxfestError {
  try {
    fn();
  } catch (e) {
    if (e instanceof BoxfestError) return e;
    throw e;
  }
  throw new Error('did not throw');
}

describe('findBoxfile', () => {
  it('finds the Boxfile in the directory itself', () => {
    const root = tempDir();
    writeFileSync(join(root, 'Boxfile.yaml'), 'version: 1\n');
    expect(findBoxfile(root)).toBe(join(root, 'Boxfile.yaml'));
  });

  it('walks up from a subdirectory, like Vagrant', () => {
    const root = tempDir();
    writeFileSync(join(root, 'Boxfile.yaml'), 'version: 1\n');
    mkdirSync(join(root, 'src', 'deep'), { recursive: true });
    expect(findBoxfile(join(root, 'src', 'deep'))).toBe(join(root, 'Boxfile.yaml'));
  });

  it('takes the nearest one and skips a directory named Boxfile.yaml', () => {
    const root = tempDir();
    writeFileSync(join(root, 'Boxfile.yaml'), 'version: 1\n');
    mkdirSync(join(root, 'inner', 'Boxfile.yaml'), { recursive: true });
    mkdirSync(join(root, 'other'));
    writeFileSync(join(root, 'other', 'Boxfile.yaml'), 'version: 1\n');
    expect(findBoxfile(join(root, 'inner'))).toBe(join(root, 'Boxfile.yaml'));
    expect(findBoxfile(join(root, 'other'))).toBe(join(root, 'other', 'Boxfile.yaml'));
  });

  it('lists every directory it looked in, up to /', () => {
    const start = join(tempDir(), 'a', 'b');
    mkdirSync(start, { recursive: true });
    const e = thrown(() => findBoxfile(start));
    expect(e.code).toBe('BOXFILE_NOT_FOUND');
    expect(e.message).toBe(`no Boxfile.yaml found; looked in ${ancestors(start).join(', ')}`);
    expect(e.hint).toBe('create a Boxfile.yaml (see examples/quickstart) or cd into a project');
  });

  it('points out a Boxfile.yml', () => {
    const root = tempDir();
    writeFileSync(join(root, 'Boxfile.yml'), 'version: 1\n');
    expect(thrown(() => findBoxfile(root)).hint).toBe(
      `found ${join(root, 'Boxfile.yml')}: rename it to Boxfile.yaml`,
    );
  });
});
