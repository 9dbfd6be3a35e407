// Live shared folders on a real guest (the tiny box, Debian's cloud kernel): virtiofs both ways
// through a virtiofsd per machine, mounted again at the next boot; 9p refused with a clear error
// because that kernel has no 9p; instant up falls back with the reason; halt and destroy end
// the virtiofsd (only ours) and leave the host's files alone.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { virtiofsdPid } from '../../src/providers/qemu/virtiofs.js';
import { cmdlineOf, isAlive } from '../../src/state/process.js';
import { TestProject } from './harness.js';

const BOXFILE = `version: 1
machines:
  web:
    box: tiny
    memory: 256
    instant: true
    qemu: { disk_interface: virtio }
    synced_folders:
      - { type: virtiofs, src: ./live, dest: /srv/live }
`;

describe('live shared folders (virtiofs) on a real guest', () => {
  const p = new TestProject({ 'Boxfile.yaml': BOXFILE, 'live/from-host.txt': 'hello from the host\n' });
  const guest = async (cmd: string) => (await p.ok(['ssh', 'web', '-c', cmd])).stdout;
  const dir = () => p.machine('web').dir;
  let up: Awaited<ReturnType<TestProject['run']>>;

  beforeAll(async () => {
    await p.addTinyBox();
    up = await p.run(['up']);
  });
  afterAll(async () => {
    await p.cleanup();
  });

  it('up mounts it, and instant up falls back with the reason', () => {
    expect(up.code, up.stderr + up.stdout).toBe(0);
    expect(up.stdout).toContain('live -> /srv/live: mounted (virtiofs)');
    expect(up.stdout).toMatch(
      /instant: its virtiofs shared folders need devices the saved state does not have/,
    );
  });

  it('runs one virtiofsd, whose command line names this machine’s socket', () => {
    const pid = virtiofsdPid(dir(), 0);
    expect(pid).toBeDefined();
    const argv = cmdlineOf(pid!)!;
    expect(argv).toContain(`--socket-path=${p.machine('web').virtiofsd(0).socket}`);
    expect(argv).toContain(`source=${join(p.root, 'live')}`);
  });

  it('a file written on either side is seen on the other', async () => {
    expect(await guest('cat /srv/live/from-host.txt')).toBe('hello from the host\n');
    await guest('echo hello from the guest > /srv/live/from-guest.txt');
    expect(readFileSync(join(p.root, 'live/from-guest.txt'), 'utf8')).toBe('hello from the guest\n');
    // A change on the host after the mount shows too (no copy involved).
    writeFileSync(join(p.root, 'live/from-host.txt'), 'changed on the host\n');
    mkdirSync(join(p.root, 'live/sub'));
    writeFileSync(join(p.root, 'live/sub/new.txt'), 'new\n');
    expect(await guest('cat /srv/live/from-host.txt /srv/live/sub/new.txt')).toBe(
      'changed on the host\nnew\n',
    );
    expect(await guest('grep boxfest0 /proc/mounts | cut -d" " -f2,3')).toBe('/srv/live virtiofs\n');
    expect(await guest('grep boxfest-share /etc/fstab')).toBe(
      'boxfest0 /srv/live virtiofs defaults,nofail 0 0 # boxfest-share\n',
    );
  });

  it('up again is a no-op that keeps it mounted', async () => {
    const r = await p.ok(['up']);
    expect(r.stdout + r.stderr).not.toMatch(/error/i);
    expect(await guest('cat /srv/live/from-guest.txt')).toBe('hello from the guest\n');
  });

  it('halt ends the virtiofsd; the next up mounts the folder again', async () => {
    const pid = virtiofsdPid(dir(), 0)!;
    await p.ok(['halt']);
    expect(isAlive(pid)).toBe(false);
    expect(existsSync(p.machine('web').virtiofsd(0).pid)).toBe(false);
    expect(readFileSync(join(p.root, 'live/from-guest.txt'), 'utf8')).toBe('hello from the guest\n');
    await p.ok(['up']);
    expect(virtiofsdPid(dir(), 0)).toBeDefined();
    expect(await guest('cat /srv/live/sub/new.txt')).toBe('new\n');
  });

  it('a 9p folder on a kernel without 9p fails with a clear error, and loses nothing', async () => {
    writeFileSync(
      join(p.root, 'Boxfile.yaml'),
      `${BOXFILE}      - { type: 9p, src: ./nine, dest: /srv/nine }\n`,
    );
    mkdirSync(join(p.root, 'nine'));
    writeFileSync(join(p.root, 'nine/keep.txt'), 'keep\n');
    const r = await p.run(['up', '--reload']);
    expect(r.code).not.toBe(0);
    const all = r.stdout + r.stderr;
    expect(all).toContain('the guest cannot mount `type: 9p` folders');
    expect(all).toMatch(/no 9p .*Debian's cloud kernel lacks them/);
    expect(all).not.toMatch(/\n\s+at .*\.js:\d+/); // no stack trace
    // The virtiofs share still works after the reboot; the host files are all there.
    expect(await guest('cat /srv/live/from-guest.txt')).toBe('hello from the guest\n');
    expect(readFileSync(join(p.root, 'nine/keep.txt'), 'utf8')).toBe('keep\n');
  });

  it('destroy ends the virtiofsd and keeps every host file', async () => {
    const pid = virtiofsdPid(dir(), 0)!;
    expect(pid).toBeDefined();
    await p.ok(['destroy', '--force']);
    expect(isAlive(pid)).toBe(false);
    expect(p.processesUsingProject()).toEqual([]);
    expect(readFileSync(join(p.root, 'live/from-host.txt'), 'utf8')).toBe('changed on the host\n');
    expect(readFileSync(join(p.root, 'live/from-guest.txt'), 'utf8')).toBe('hello from the guest\n');
    expect(readFileSync(join(p.root, 'live/sub/new.txt'), 'utf8')).toBe('new\n');
  });
});
