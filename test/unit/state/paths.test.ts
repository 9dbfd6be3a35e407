// Where boxfest keeps its files: every provider's in the machine directory, QEMU's own beside
// them; the QMP socket must fit a unix socket path (108 bytes).

import { createHash } from 'node:crypto';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { qemuPaths } from '../../../src/providers/qemu/paths.js';
import { boxfestHome, machinePaths } from '../../../src/state/paths.js';

/** A root whose `<root>/.boxfest/machines/<machine>/qmp.sock` is exactly `bytes` bytes long. */
function rootFor(bytes: number, machine: string, fill = 'p'): string {
  const suffix = `/.boxfest/machines/${machine}/qmp.sock`;
  const n = bytes - 1 - Buffer.byteLength(suffix);
  return `/${fill.repeat(Math.floor(n / Buffer.byteLength(fill)))}`;
}

const fallback = (inDir: string) =>
  join(tmpdir(), `boxfest-${createHash('sha256').update(inDir).digest('hex').slice(0, 16)}.qmp`);

/** A machine's files as the QEMU provider sees them: the shared ones and its own. */
const qemuMachine = (root: string, name: string) => {
  const shared = machinePaths(root, name);
  return { ...shared, ...qemuPaths(shared.dir) };
};

describe('machinePaths', () => {
  it('lays out one machine directory: what every provider has', () => {
    expect(machinePaths('/proj', 'web')).toEqual({
      dir: '/proj/.boxfest/machines/web',
      state: '/proj/.boxfest/machines/web/state.json',
      privateKey: '/proj/.boxfest/machines/web/id_ed25519',
      publicKey: '/proj/.boxfest/machines/web/id_ed25519.pub',
      hostKey: '/proj/.boxfest/machines/web/ssh_host_ed25519_key',
      hostKeyPublic: '/proj/.boxfest/machines/web/ssh_host_ed25519_key.pub',
      knownHosts: '/proj/.boxfest/machines/web/known_hosts',
      sshConfig: '/proj/.boxfest/machines/web/ssh_config',
      seed: '/proj/.boxfest/machines/web/cidata.iso',
      identity: '/proj/.boxfest/machines/web/identity',
    });
  });

  it('the QEMU provider keeps its own files in that directory', () => {
    const q = qemuPaths(machinePaths('/proj', 'web').dir);
    const { virtiofsd, ...files } = q;
    expect(files).toEqual({
      disk: '/proj/.boxfest/machines/web/disk.qcow2',
      pid: '/proj/.boxfest/machines/web/qemu.pid',
      qmp: '/proj/.boxfest/machines/web/qmp.sock',
      serialLog: '/proj/.boxfest/machines/web/serial.log',
      cmd: '/proj/.boxfest/machines/web/qemu.cmd',
      dataDisks: '/proj/.boxfest/machines/web/disks',
    });
    expect(virtiofsd(1)).toEqual({
      socket: '/proj/.boxfest/machines/web/virtiofs-1.sock',
      pid: '/proj/.boxfest/machines/web/virtiofs-1.pid',
      log: '/proj/.boxfest/machines/web/virtiofs-1.log',
    });
  });

  it.each([
    ['a short path', '/proj', false],
    ['exactly 100 bytes', rootFor(100, 'web'), false],
    ['101 bytes', rootFor(101, 'web'), true],
    ['a deep project', `/home/someone/${'work/'.repeat(20)}proj`, true],
    // 'é' is 2 bytes: fewer than 100 characters, more than 100 bytes.
    ['multi-byte characters', rootFor(102, 'web', 'é'), true],
  ])('qmp socket for %s', (_title, root, inTmp) => {
    const inDir = join(root, '.boxfest/machines/web/qmp.sock');
    const { qmp, dir } = qemuMachine(root, 'web');
    expect(qmp).toBe(inTmp ? fallback(inDir) : inDir);
    expect(qmp.startsWith(dir + '/')).toBe(!inTmp);
    expect(Buffer.byteLength(qmp)).toBeLessThanOrEqual(100);
  });

  it('checks the helper builds the lengths it claims', () => {
    expect(Buffer.byteLength(join(rootFor(100, 'web'), '.boxfest/machines/web/qmp.sock'))).toBe(100);
    expect(Buffer.byteLength(join(rootFor(101, 'web'), '.boxfest/machines/web/qmp.sock'))).toBe(101);
    const multi = join(rootFor(102, 'web', 'é'), '.boxfest/machines/web/qmp.sock');
    expect(multi.length).toBeLessThan(100);
    expect(Buffer.byteLength(multi)).toBe(102);
  });

  it('gives each long-path machine its own short socket, the same on every call', () => {
    const root = `/${'x'.repeat(120)}`;
    const web = qemuMachine(root, 'web').qmp;
    const db = qemuMachine(root, 'db').qmp;
    const other = qemuMachine(`/${'y'.repeat(120)}`, 'web').qmp;
    expect(web).toMatch(/^.*\/boxfest-[0-9a-f]{16}\.qmp$/);
    expect(web.startsWith(tmpdir() + '/')).toBe(true);
    expect(new Set([web, db, other]).size).toBe(3);
    expect(qemuMachine(root, 'web').qmp).toBe(web);
    // Everything else stays in the machine directory.
    expect(qemuMachine(root, 'web').disk).toBe(`${root}/.boxfest/machines/web/disk.qcow2`);
  });
});

describe('boxfestHome', () => {
  it.each<[string, NodeJS.ProcessEnv, string]>([
    ['BOXFEST_HOME set', { BOXFEST_HOME: '/srv/boxfest' }, '/srv/boxfest'],
    ['BOXFEST_HOME relative, used as given', { BOXFEST_HOME: 'rel/home' }, 'rel/home'],
    ['BOXFEST_HOME empty', { BOXFEST_HOME: '' }, join(homedir(), '.boxfest')],
    ['BOXFEST_HOME unset', {}, join(homedir(), '.boxfest')],
    ['other variables ignored', { HOME_BOXFEST: '/x', BOXFEST: '/y' }, join(homedir(), '.boxfest')],
  ])('%s', (_title, env, expected) => {
    expect(boxfestHome(env)).toBe(expected);
  });
});
