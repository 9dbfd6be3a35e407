import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BoxfestError } from '../../../src/errors.js';
import { ChangeBatch, excludeMatcher, isConnectionFailure } from '../../../src/sync/watch.js';
import { DEFAULT_EXCLUDES, rsyncArgs } from '../../../src/sync/rsync.js';

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
