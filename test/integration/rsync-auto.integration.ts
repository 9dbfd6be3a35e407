// rsync-auto on one real guest: the real CLI as a child process, real chokidar, real rsync.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { chmodSync, mkdirSync, renameSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestProject } from './harness.js';
import { ownDaemonsEnv } from './daemon-env.js';

const BIN = resolve(import.meta.dirname, '../../bin/boxfest.js');

const BOXFILE = `version: 1
machines:
  web:
    box: tiny
    memory: 256
    synced_folders:
      - src: ./app
        dest: /srv/app
        exclude: [node_modules/, '*.tmp']
      - src: ./keep
        dest: /srv/keep
        delete: false
`;

describe('rsync-auto', () => {
  const p = new TestProject({ 'Boxfile.yaml': BOXFILE, 'app/first.txt': 'first\n', 'keep/.k': '' });
  let child: ChildProcessWithoutNullStreams | undefined;
  let stdout = '';
  let stderr = '';
  const guest = async (cmd: string) => (await p.run(['ssh', 'web', '-c', cmd])).stdout;
  /** Polls the guest until `cmd` prints `want` (within a few seconds). */
  const eventually = async (cmd: string, want: string, timeoutMs = 8_000) => {
    const end = Date.now() + timeoutMs;
    let got = '';
    while (Date.now() < end) {
      got = await guest(cmd);
      if (got === want) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(got, `${cmd}\n--- rsync-auto stdout\n${stdout}\n--- stderr\n${stderr}`).toBe(want);
  };
  /** The sync lines (JSON) printed since stdout had `mark` characters, once one matches `want`. */
  const syncLine = async (mark: number, want: Record<string, unknown>, timeoutMs = 5_000) => {
    const end = Date.now() + timeoutMs;
    const lines = () =>
      stdout
        .slice(mark)
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    while (Date.now() < end && !lines().some((l) => Object.entries(want).every(([k, v]) => l[k] === v)))
      await new Promise((r) => setTimeout(r, 50));
    expect(lines(), stderr).toContainEqual(expect.objectContaining(want));
  };
  const write = (rel: string, text: string) => {
    mkdirSync(join(p.root, rel, '..'), { recursive: true });
    writeFileSync(join(p.root, rel), text);
  };

  beforeAll(async () => {
    await p.addTinyBox();
    await p.ok(['up']);
    const c = spawn(process.execPath, [BIN, 'rsync-auto', '--json'], {
      cwd: p.root,
      env: { ...ownDaemonsEnv(process.env), BOXFEST_HOME: p.home, BOXFEST_QEMU_RESTRICT_NAT: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    child = c;
    c.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    c.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    await new Promise<void>((ok, fail) => {
      const timer = setTimeout(
        () => fail(new Error(`rsync-auto did not start:\n${stdout}\n${stderr}`)),
        60_000,
      );
      const check = () => {
        if (stderr.includes('watching 2 folder(s)')) {
          clearTimeout(timer);
          ok();
        }
      };
      c.stderr.on('data', check);
      c.on('exit', (code) => {
        clearTimeout(timer);
        fail(new Error(`rsync-auto exited ${code}:\n${stdout}\n${stderr}`));
      });
    });
  });
  afterAll(async () => {
    const c = child;
    if (c?.pid !== undefined && c.exitCode === null && c.signalCode === null) {
      c.kill('SIGKILL');
      await new Promise((r) => c.once('exit', r));
    }
    await p.cleanup();
  });

  it('did the first sync', async () => {
    expect(await guest('cat /srv/app/first.txt')).toBe('first\n');
  });

  it('propagates a created file (over SFTP, no rsync)', async () => {
    const mark = stdout.length;
    write('app/sub/new.txt', 'one\n');
    await eventually('cat /srv/app/sub/new.txt', 'one\n');
    await syncLine(mark, { machine: 'web', full: false, via: 'sftp' });
  });

  it('propagates a modification', async () => {
    write('app/sub/new.txt', 'two\n');
    await eventually('cat /srv/app/sub/new.txt', 'two\n');
  });

  it('keeps mode and mtime like rsync -a, and follows symlinks (rsync fallback)', async () => {
    write('app/sub/run.sh', '#!/bin/sh\n');
    chmodSync(join(p.root, 'app/sub/run.sh'), 0o750);
    utimesSync(join(p.root, 'app/sub/run.sh'), 1_600_000_000, 1_600_000_000);
    await eventually('stat -c "%a %Y" /srv/app/sub/run.sh', '750 1600000000\n');
    const mark = stdout.length;
    symlinkSync('run.sh', join(p.root, 'app/sub/link.sh'));
    await eventually('cat /srv/app/sub/link.sh', '#!/bin/sh\n');
    await syncLine(mark, { via: 'rsync' });
    rmSync(join(p.root, 'app/sub/run.sh'));
    rmSync(join(p.root, 'app/sub/link.sh'));
    await eventually('ls -A /srv/app/sub', 'new.txt\n');
  });

  it('propagates a rename', async () => {
    renameSync(join(p.root, 'app/sub/new.txt'), join(p.root, 'app/sub/renamed.txt'));
    await eventually('ls -A /srv/app/sub', 'renamed.txt\n');
  });

  it('propagates a delete, of a file and of a directory', async () => {
    rmSync(join(p.root, 'app/first.txt'));
    await eventually('ls -A /srv/app', 'sub\n');
    rmSync(join(p.root, 'app/sub'), { recursive: true });
    await eventually('ls -A /srv/app', '');
  });

  it('honours excludes', async () => {
    write('app/scratch.tmp', 'x\n');
    write('app/node_modules/m.js', 'x\n');
    write('app/ok.txt', 'ok\n');
    await eventually('cat /srv/app/ok.txt', 'ok\n');
    await new Promise((r) => setTimeout(r, 500));
    expect(await guest('ls -A /srv/app')).toBe('ok.txt\n');
  });

  it('with delete: false, a file deleted on the host stays in the guest', async () => {
    write('keep/k.txt', 'k\n');
    await eventually('cat /srv/keep/k.txt', 'k\n');
    rmSync(join(p.root, 'keep/k.txt'));
    write('keep/marker.txt', 'm\n');
    await eventually('cat /srv/keep/marker.txt', 'm\n');
    await new Promise((r) => setTimeout(r, 300));
    expect(await guest('cat /srv/keep/k.txt')).toBe('k\n');
  });

  it('follows the machine through `halt` and `up` (run separately) and keeps syncing', async () => {
    await p.ok(['halt']);
    await p.ok(['up']);
    let mark = stdout.length;
    write('app/after-reboot.txt', 'back\n');
    await eventually('cat /srv/app/after-reboot.txt', 'back\n', 60_000);
    await syncLine(mark, { machine: 'web', full: true });
    expect(child!.exitCode, stderr).toBeNull();
    // Later bursts go through the reopened SFTP session again.
    mark = stdout.length;
    write('app/after-reboot.txt', 'again\n');
    await eventually('cat /srv/app/after-reboot.txt', 'again\n');
    await syncLine(mark, { full: false, via: 'sftp' });
    rmSync(join(p.root, 'app/after-reboot.txt'));
    await eventually('ls -A /srv/app', 'ok.txt\n');
  }, 180_000);

  it('stops cleanly on SIGINT, exit code 0, one line per sync', async () => {
    const c = child!;
    const exited = new Promise<number | null>((r) => c.once('exit', (code) => r(code)));
    process.kill(c.pid!, 'SIGINT');
    expect(await exited, stderr).toBe(0);
    expect(stdout).toMatch(/^\{"machine":"web","changes":\d+,"ms":\d+,"full":false,"via":"sftp"\}$/m);
    expect(stderr).not.toContain('error');
  });

  it('`boxfest rsync` syncs a change made while nothing watched', async () => {
    write('app/offline.txt', 'offline\n');
    const r = await p.ok(['rsync', '--json']);
    const doc = JSON.parse(r.stdout) as { name: string; ok: boolean }[];
    expect(doc).toMatchObject([{ name: 'web', ok: true }]);
    expect(await guest('cat /srv/app/offline.txt')).toBe('offline\n');
  });
});
