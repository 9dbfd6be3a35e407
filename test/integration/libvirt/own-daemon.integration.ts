// The libvirt tests talk only to the private libvirtd scripts/in-libvirtd.sh started for this run:
// its PID, its directory, its socket. A daemon named by the environment (LIBVIRT_DEFAULT_URI: a
// system daemon, another run's daemon under /tmp) is refused before anything talks to it.
import { mkdtempSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { virsh } from '../targets.js';
import { privateSocket, proveOwnDaemon } from './own-daemon.js';

describe('libvirt: the tests use their own daemon', () => {
  const pid = inject('libvirtdPid');
  const dir = inject('libvirtdDir');
  const tmp = mkdtempSync(join(tmpdir(), 'boxfest-lv-decoy-'));
  const decoy = join(tmp, 'libvirt-sock');
  let server: Server;
  let touched = 0;
  beforeAll(async () => {
    // A listener where a planted URI points: anything that connects to it is counted.
    server = createServer((c) => {
      touched++;
      c.destroy();
    });
    await new Promise<void>((r) => server.listen(decoy, r));
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
    rmSync(tmp, { recursive: true, force: true });
  });

  it('the daemon is that PID, in that directory, and qemu:///system is its socket', () => {
    expect(proveOwnDaemon()).toEqual({ pid, dir });
    expect(readlinkSync(`/proc/${pid}/exe`)).toMatch(/\/libvirtd$/);
    expect(readlinkSync('/proc/self/ns/net')).toBe(readlinkSync(`/proc/${pid}/ns/net`));
    const a = statSync('/run/libvirt/libvirt-sock');
    const b = statSync(privateSocket(dir));
    expect([a.dev, a.ino]).toEqual([b.dev, b.ino]);
    // The environment of the run names no other daemon (in-libvirtd.sh drops a planted one).
    expect(process.env['LIBVIRT_DEFAULT_URI']).toBeUndefined();
    expect(process.env['VIRSH_DEFAULT_CONNECT_URI']).toBeUndefined();
    expect(virsh('uri').trim()).toBe('qemu:///system');
  });

  it.each([
    ['LIBVIRT_DEFAULT_URI', `qemu:///system?socket=${decoy}`],
    ['VIRSH_DEFAULT_CONNECT_URI', `qemu:///system?socket=${decoy}`],
    ['LIBVIRT_DEFAULT_URI', 'qemu+ssh://root@127.0.0.1/system'],
  ])('%s=%s planted: refused, and nothing connects to it', (name, uri) => {
    expect(() => proveOwnDaemon({ ...process.env, [name]: uri })).toThrow(
      new RegExp(`refusing a libvirt daemon that is not this run's \\(pid ${pid}\\): ${name}=`),
    );
    expect(touched).toBe(0);
  });

  it('another daemon directory is not this daemon', () => {
    expect(() => proveOwnDaemon({ ...process.env, BOXFEST_TEST_LIBVIRTD_DIR: tmp })).toThrow(
      `pid ${pid} is not the libvirtd of ${tmp}`,
    );
  });
});
