import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
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

const sockets: { close(): void }[] = [];
afterEach(() => sockets.splice(0).forEach((s) => s.close()));

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

  it('takes the nearest one', () => {
    const root = tempDir();
    writeFileSync(join(root, 'Boxfile.yaml'), 'version: 1\n');
    mkdirSync(join(root, 'other'));
    writeFileSync(join(root, 'other', 'Boxfile.yaml'), 'version: 1\n');
    expect(findBoxfile(join(root, 'other'))).toBe(join(root, 'other', 'Boxfile.yaml'));
  });

  it('takes a symlink to a regular file', () => {
    const root = tempDir();
    writeFileSync(join(root, 'real.yaml'), 'version: 1\n');
    symlinkSync('real.yaml', join(root, 'Boxfile.yaml'));
    expect(findBoxfile(root)).toBe(join(root, 'Boxfile.yaml'));
  });

  // Each of these used to be skipped, and the search went on to the parent's Boxfile: a
  // `destroy --force` in the child destroyed the parent project's machines.
  it.each<[string, (file: string) => void | Promise<void>, string]>([
    ['a directory', (f) => mkdirSync(f), 'is a directory'],
    [
      'a dangling symlink',
      (f) => symlinkSync('nowhere.yaml', f),
      'is a symbolic link to nothing (its target does not exist)',
    ],
    ['a symlink loop', (f) => symlinkSync('Boxfile.yaml', f), 'is a symbolic link that loops'],
    ['a FIFO', (f) => void execFileSync('mkfifo', [f]), 'is a FIFO (named pipe)'],
    ['a device (a link to /dev/null)', (f) => symlinkSync('/dev/null', f), 'is a device'],
    [
      'a socket',
      (f) => {
        const s = createServer().listen(f);
        sockets.push(s);
        return new Promise<void>((r) => s.once('listening', () => r()));
      },
      'is a socket',
    ],
  ])(
    'a Boxfile.yaml that is %s is an error at that path; the parent project is never reached',
    async (_, make, what) => {
      const parent = tempDir();
      writeFileSync(join(parent, 'Boxfile.yaml'), 'version: 1\n');
      const child = join(parent, 'child');
      mkdirSync(child);
      const file = join(child, 'Boxfile.yaml');
      await make(file);
      const e = thrown(() => findBoxfile(join(child)));
      expect(e.code).toBe('BOXFILE_NOT_A_FILE');
      expect(e.message).toBe(`${file} ${what}`);
      expect(e.hint).toBe(
        `make ${file} the project's Boxfile (a regular file), or remove it; boxfest does not look past it to a parent directory's Boxfile`,
      );
    },
  );

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
