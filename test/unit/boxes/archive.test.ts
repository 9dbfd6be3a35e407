import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hostileMember, sniff, unpackBox } from '../../../src/boxes/archive.js';
import { BoxfestError } from '../../../src/errors.js';

const base = mkdtempSync(join(tmpdir(), 'boxfest-archive-'));
afterAll(() => execFileSync('rm', ['-rf', base]));

/** The BoxfestError a promise rejects with. */
async function failure(p: Promise<unknown>): Promise<BoxfestError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  if (!(e instanceof BoxfestError)) throw new Error(`expected a BoxfestError, got ${String(e)}`);
  return e;
}

/** A tar made by GNU tar from `files` in a fresh directory, with extra tar arguments. */
function tarOf(name: string, setup: (dir: string) => string[], args: string[] = []): string {
  const dir = mkdtempSync(join(base, 'src-'));
  const members = setup(dir);
  const out = join(base, name);
  execFileSync('tar', ['cf', out, '-C', dir, ...args, ...members]);
  return out;
}

describe('hostile members', () => {
  it.each([
    ['metadata.json', 'File', undefined],
    ['./box.img', 'File', undefined],
    ['include/_Vagrantfile', 'File', undefined],
    ['include', 'Directory', undefined],
    ['/etc/passwd', 'File', 'its path is absolute'],
    ['../../evil', 'File', 'its path leaves the archive (`..`)'],
    ['a/../../b', 'File', 'its path leaves the archive (`..`)'],
    ['link', 'SymbolicLink', 'it is a SymbolicLink, not a regular file or directory'],
    ['hard', 'Link', 'it is a Link, not a regular file or directory'],
    ['dev', 'CharacterDevice', 'it is a CharacterDevice, not a regular file or directory'],
    ['fifo', 'FIFO', 'it is a FIFO, not a regular file or directory'],
    ['bad\nname', 'File', 'its path has control characters'],
  ])('%j (%s) → %s', (path, type, why) => {
    expect(hostileMember(path, type)).toBe(why);
  });

  it.each([
    [
      'symlink',
      (d: string) => {
        writeFileSync(join(d, 'metadata.json'), '{}');
        symlinkSync('/etc/passwd', join(d, 'box.img'));
        return ['metadata.json', 'box.img'];
      },
      [],
      /box\.img: it is a SymbolicLink/,
    ],
    [
      'absolute',
      (d: string) => {
        writeFileSync(join(d, 'f'), 'x');
        return [join(d, 'f')];
      },
      ['-P', '--absolute-names'],
      /: its path is absolute/,
    ],
    [
      'dotdot',
      (d: string) => {
        writeFileSync(join(d, 'f'), 'x');
        return ['f'];
      },
      ['--transform', 's,^f,../../escaped,'],
      /\.\.\/\.\.\/escaped: its path leaves the archive/,
    ],
    [
      'fifo',
      (d: string) => {
        execFileSync('mkfifo', [join(d, 'pipe')]);
        return ['pipe'];
      },
      [],
      /pipe: it is a FIFO/,
    ],
  ] as const)(
    'an archive with a %s member is refused, nothing written outside',
    async (name, setup, args, why) => {
      const file = tarOf(`${name}.tar`, setup, [...args]);
      expect(sniff(file)).toBe('tar');
      const dest = join(base, `out-${name}`, 'deep', 'er');
      mkdirSync(dest, { recursive: true });
      const e = await failure(unpackBox(file, dest, file));
      expect(e.code).toBe('BOX_ARCHIVE_HOSTILE');
      expect(e.details).toMatch(why);
      expect(existsSync(join(base, `out-${name}`, 'escaped'))).toBe(false);
      expect(existsSync(join(dest, 'box.img'))).toBe(false);
    },
  );

  it('a truncated archive is an error, not a short box', async () => {
    const file = tarOf('whole.tar', (d) => {
      writeFileSync(join(d, 'box.img'), randomBytes(200_000));
      return ['box.img'];
    });
    const cut = join(base, 'cut.tar');
    execFileSync('sh', ['-c', `head -c 100000 ${file} > ${cut}`]);
    const dest = mkdtempSync(join(base, 'cut-'));
    const e = await failure(unpackBox(cut, dest, 'cut.tar'));
    expect([e.code, e.message]).toEqual([
      'BOX_ARCHIVE',
      expect.stringMatching(/not a complete tar archive/) as string,
    ]);
    const gz = join(base, 'cut.tgz');
    execFileSync('sh', ['-c', `gzip -c ${file} | head -c 500 > ${gz}`]);
    expect(sniff(gz)).toBe('gzip');
    await expect(unpackBox(gz, mkdtempSync(join(base, 'cutgz-')), 'cut.tgz')).rejects.toMatchObject({
      code: 'BOX_ARCHIVE',
    });
  });

  it('a zip is refused with what to do', async () => {
    const z = join(base, 'a.box');
    writeFileSync(z, Buffer.from([0x50, 0x4b, 0x03, 0x04, 0, 0]));
    const e = await failure(unpackBox(z, mkdtempSync(join(base, 'z-')), 'a.box'));
    expect(e.code).toBe('BOX_ARCHIVE');
    expect(e.message).toMatch(/zip/);
    expect(readdirSync(base).length).toBeGreaterThan(0);
  });
});
