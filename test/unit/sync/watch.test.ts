import * as fs from 'node:fs';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BoxfestError } from '../../../src/errors.js';
import { ChangeBatch, excludeMatcher, isConnectionFailure } from '../../../src/sync/watch.js';
import { DEFAULT_EXCLUDES, rsyncArgs } from '../../../src/sync/rsync.js';
import { NotForSftp, pushBatch, type Sftp } from '../../../src/sync/sftp.js';

describe('excludeMatcher (rsync exclude semantics)', () => {
  const m = excludeMatcher([...DEFAULT_EXCLUDES, 'node_modules/', '*.tmp', '/build', 'docs/draft', 'a/**/z']);

  it.each([
    ['.git', true, true],
    ['.git/HEAD', false, true],
    ['sub/.git/HEAD', false, true],
    ['.boxfest/machines/web/disk.qcow2', false, true],
    ['node_modules', true, true],
    ['pkg/node_modules/x/index.js', false, true],
    ['x.tmp', false, true],
    ['deep/er/x.tmp', false, true],
    ['x.tmpl', false, false],
    ['build', true, true],
    ['build/out.js', false, true],
    ['src/build', true, false],
    ['docs/draft', false, true],
    ['site/docs/draft/x.md', false, true],
    ['docs/drafts', false, false],
    ['a/b/c/z', false, true],
    ['src/main.ts', false, false],
  ])('%s (dir: %s) excluded: %s', (rel, isDir, excluded) => {
    expect(m(rel, isDir)).toBe(excluded);
  });

  it('a directory-only pattern does not exclude a file of that name, unless the kind is unknown', () => {
    expect(m('node_modules', false)).toBe(false);
    expect(m('node_modules', undefined)).toBe(true);
  });

  it('understands ?, [...] and escapes, and skips empty patterns', () => {
    const n = excludeMatcher(['file?.log', '[ab].c', 'lit\\*', '']);
    expect(n('file1.log', false)).toBe(true);
    expect(n('file12.log', false)).toBe(false);
    expect(n('b.c', false)).toBe(true);
    expect(n('c.c', false)).toBe(false);
    expect(n('lit*', false)).toBe(true);
    expect(n('litx', false)).toBe(false);
  });
});

describe('ChangeBatch', () => {
  const root = mkdtempSync(join(tmpdir(), 'boxfest-batch-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('sends what exists now, deletes what is gone, once per path, topmost gone paths only', () => {
    mkdirSync(join(root, 'keep'), { recursive: true });
    writeFileSync(join(root, 'keep/a.txt'), 'a');
    const b = new ChangeBatch();
    for (const p of ['keep/a.txt', 'keep/a.txt', 'keep', 'gone', 'gone/x', 'gone/y/z', 'old.txt', './'])
      b.add(p);
    expect(b.size).toBe(6);
    expect(b.take(root)).toEqual({ send: ['keep', 'keep/a.txt'], gone: ['gone', 'old.txt'] });
    expect(b.size).toBe(0);
  });
});

describe('isConnectionFailure', () => {
  const failed = (code: number, details: string) =>
    new BoxfestError('RSYNC_FAILED', `rsync of /a to /b failed (exit code ${code})`, { details });

  it('knows a lost SSH connection from a problem with the files', () => {
    expect(
      isConnectionFailure(failed(255, 'ssh: connect to host 127.0.0.1 port 2222: Connection refused')),
    ).toBe(true);
    expect(
      isConnectionFailure(failed(12, 'rsync: connection unexpectedly closed (0 bytes received so far)')),
    ).toBe(true);
    expect(isConnectionFailure(failed(23, 'rsync: some files could not be transferred'))).toBe(false);
    expect(isConnectionFailure(failed(12, 'rsync: [sender] protocol mismatch'))).toBe(false);
    expect(isConnectionFailure(new Error('connection refused'))).toBe(false);
  });
});

describe('rsyncArgs with extra ssh options', () => {
  it('adds them, quoted for rsync, to the remote shell', () => {
    const args = rsyncArgs({
      machine: 'web',
      alias: 'boxfest-proj-web',
      sshConfig: '/proj/ssh_config',
      src: '/proj/src',
      dest: '/srv/app',
      excludes: [],
      sshOptions: ['-o', 'ControlPath=/tmp/bfx-1/m'],
    });
    expect(args[args.indexOf('-e') + 1]).toBe("ssh -F '/proj/ssh_config' '-o' 'ControlPath=/tmp/bfx-1/m'");
  });
});

// The SFTP fast path of rsync-auto, against a fake SFTP session backed by a local directory.
type Cb<R = undefined> = (err: Error | undefined, r?: R) => void;

/** SFTP status codes as ssh2 reports them: 2 no such file, 4 failure. */
function sftpError(e: unknown): Error {
  const err = new Error((e as Error).message) as Error & { code: number };
  err.code = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 2 : 4;
  return err;
}

function fakeSftp(posixRename: boolean): Sftp {
  const wrap =
    <A extends unknown[], R>(f: (...a: A) => R) =>
    (...args: [...A, Cb<R>]) => {
      const cb = args.pop() as Cb<R>;
      let r: R;
      try {
        r = f(...(args as unknown as A));
      } catch (e) {
        return cb(sftpError(e));
      }
      cb(undefined, r);
    };
  const fd = (h: Buffer) => h.readUInt32BE(0);
  const s = {
    open: wrap((p: string, _flags: string, a: { mode: number }) => {
      const h = Buffer.alloc(4);
      h.writeUInt32BE(fs.openSync(p, 'w', a.mode));
      return h;
    }),
    write: wrap((h: Buffer, buf: Buffer, off: number, len: number, pos: number) => {
      fs.writeSync(fd(h), buf, off, len, pos);
    }),
    fsetstat: wrap((h: Buffer, a: { mode: number; atime: number; mtime: number }) => {
      fs.fchmodSync(fd(h), a.mode);
      fs.futimesSync(fd(h), a.atime, a.mtime);
    }),
    setstat: wrap((p: string, a: { mode: number; atime: number; mtime: number }) => {
      fs.chmodSync(p, a.mode);
      fs.utimesSync(p, a.atime, a.mtime);
    }),
    close: wrap((h: Buffer) => fs.closeSync(fd(h))),
    rename: wrap((from: string, to: string) => {
      if (fs.existsSync(to)) throw new Error('exists');
      fs.renameSync(from, to);
    }),
    unlink: wrap((p: string) => fs.unlinkSync(p)),
    mkdir: wrap((p: string, a: { mode: number }) => fs.mkdirSync(p, a.mode)),
    rmdir: wrap((p: string) => fs.rmdirSync(p)),
    stat: wrap((p: string) => fs.statSync(p)),
    lstat: wrap((p: string) => fs.lstatSync(p)),
    readdir: wrap((p: string) => fs.readdirSync(p).map((filename) => ({ filename }))),
    ext_openssh_rename: (from: string, to: string, cb: Cb<void>) => {
      if (!posixRename) throw new Error('Server does not support this extended request');
      wrap(() => fs.renameSync(from, to))(cb);
    },
  };
  return s as unknown as Sftp;
}

describe('pushBatch (SFTP fast path)', () => {
  const base = mkdtempSync(join(tmpdir(), 'bf-sftp-'));
  const src = join(base, 'src');
  const dest = join(base, 'guest');
  fs.mkdirSync(src);
  fs.mkdirSync(dest);
  afterAll(() => rmSync(base, { recursive: true, force: true }));
  const excluded = excludeMatcher([...DEFAULT_EXCLUDES, 'node_modules/', '*.tmp']);
  const batch = (send: string[], gone: string[] = [], del = true) => ({
    src,
    dest,
    send,
    gone,
    delete: del,
    excluded,
  });

  it.each([true, false])(
    'writes files with mode and mtime, creating directories (posix-rename: %s)',
    async (pr) => {
      fs.mkdirSync(join(src, 'a/b'), { recursive: true });
      fs.writeFileSync(join(src, 'a/b/f.sh'), 'x'.repeat(100_000));
      fs.chmodSync(join(src, 'a/b/f.sh'), 0o751);
      fs.utimesSync(join(src, 'a/b/f.sh'), 1_600_000_000, 1_600_000_000);
      fs.utimesSync(join(src, 'a'), 1_500_000_000, 1_500_000_000);
      expect(await pushBatch(fakeSftp(pr), batch(['a', 'a/b/f.sh']))).toBe(2);
      const st = fs.statSync(join(dest, 'a/b/f.sh'));
      expect(st.mode & 0o7777).toBe(0o751);
      expect(Math.round(st.mtimeMs / 1000)).toBe(1_600_000_000);
      expect(fs.readFileSync(join(dest, 'a/b/f.sh'), 'utf8')).toBe('x'.repeat(100_000));
      expect(Math.round(fs.statSync(join(dest, 'a')).mtimeMs / 1000)).toBe(1_500_000_000);
      // Again, over the existing file: still no temp file left behind.
      fs.writeFileSync(join(src, 'a/b/f.sh'), 'new\n');
      await pushBatch(fakeSftp(pr), batch(['a/b/f.sh']));
      expect(fs.readFileSync(join(dest, 'a/b/f.sh'), 'utf8')).toBe('new\n');
      expect(fs.readdirSync(join(dest, 'a/b'))).toEqual(['f.sh']);
    },
  );

  it('deletes gone paths recursively only when the folder deletes', async () => {
    fs.mkdirSync(join(dest, 'old/deep'), { recursive: true });
    fs.writeFileSync(join(dest, 'old/deep/x'), '');
    fs.writeFileSync(join(dest, 'file'), '');
    await pushBatch(fakeSftp(true), batch([], ['old', 'file', 'never-there'], false));
    expect(fs.existsSync(join(dest, 'old/deep/x'))).toBe(true);
    expect(await pushBatch(fakeSftp(true), batch([], ['old', 'file', 'never-there']))).toBe(3);
    expect(fs.existsSync(join(dest, 'old'))).toBe(false);
    expect(fs.existsSync(join(dest, 'file'))).toBe(false);
  });

  it('skips excluded paths', async () => {
    fs.writeFileSync(join(src, 'scratch.tmp'), '');
    expect(await pushBatch(fakeSftp(true), batch(['scratch.tmp']))).toBe(0);
    expect(fs.existsSync(join(dest, 'scratch.tmp'))).toBe(false);
  });

  it('leaves symlinks (and anything else but files and directories) to rsync', async () => {
    fs.symlinkSync('a', join(src, 'link'));
    await expect(pushBatch(fakeSftp(true), batch(['link']))).rejects.toBeInstanceOf(NotForSftp);
  });
});
