// The suite never touches a daemon or namespace it did not start (issue 20). Here: the private
// libvirtd of scripts/in-libvirtd.sh is the only daemon its command can reach, whatever URI the
// caller's environment names, and it is gone (by PID) afterwards; a network namespace a test
// wants to create that exists already is refused and survives the test's cleanup; the bridge ACL
// line a test adds is taken back exactly. (vboxwebsrv: vbox/own-server.integration.ts; the
// libvirt tests' own proof: libvirt/own-daemon.integration.ts.)
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cmdlineOf } from '../../src/state/process.js';
import { libvirtBox } from './box-fixtures.js';
import { DAEMON_VARS } from './daemon-env.js';
import { TestProject } from './harness.js';
import { serveDir } from './http-server.js';
import { allowBridge, OwnNetns } from './own-netns.js';

const ROOT = resolve(import.meta.dirname, '../..');
const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();

function run(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((res) => {
    const c = spawn(cmd, args, { env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr.on('data', (d: Buffer) => (err += d.toString()));
    c.on('close', (code) => res({ code, out, err }));
  });
}

describe('the suite talks only to daemons it started', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'boxfest-own-'));
  const decoy = join(tmp, 'libvirt-sock');
  let server: Server;
  let touched = 0;
  // A TCP listener where a planted proxy points: every connection is counted.
  let tcpDecoy: Server;
  let tcpTouched = 0;
  beforeAll(async () => {
    tcpDecoy = createServer((c) => {
      tcpTouched++;
      c.destroy();
    });
    await new Promise<void>((r) => tcpDecoy.listen(0, '127.0.0.1', r));
    if (process.getuid?.() !== 0) throw new Error('these checks need root (libvirtd, network namespaces)');
    // Stands where a planted URI points (another daemon's socket): every connection is counted.
    server = createServer((c) => {
      touched++;
      c.destroy();
    });
    await new Promise<void>((r) => server.listen(decoy, r));
  });
  afterAll(async () => {
    await new Promise((r) => tcpDecoy.close(r));
    await new Promise((r) => server.close(r));
    rmSync(tmp, { recursive: true, force: true });
  });

  it('in-libvirtd.sh: a planted LIBVIRT_DEFAULT_URI is dropped, the command reaches only its daemon, stopped by PID after', async () => {
    const planted = `qemu:///system?socket=${decoy}`;
    const r = await run(
      'bash',
      [
        'scripts/in-libvirtd.sh',
        'sh',
        '-c',
        'echo "uri=${LIBVIRT_DEFAULT_URI-unset} virsh=${VIRSH_DEFAULT_CONNECT_URI-unset} pid=$BOXFEST_TEST_LIBVIRTD_PID"; ' +
          'virsh -q uri; virsh -q list --all --name | wc -l',
      ],
      { ...process.env, LIBVIRT_DEFAULT_URI: planted, VIRSH_DEFAULT_CONNECT_URI: planted },
    );
    expect(r.code, r.err).toBe(0);
    expect(r.err).toContain(`in-libvirtd.sh: ignoring LIBVIRT_DEFAULT_URI=${planted}`);
    expect(r.err).toContain(`in-libvirtd.sh: ignoring VIRSH_DEFAULT_CONNECT_URI=${planted}`);
    const m = /^uri=unset virsh=unset pid=(\d+)\nqemu:\/\/\/system\n(\d+)\n$/.exec(r.out);
    expect(m, r.out).not.toBeNull();
    expect(touched).toBe(0);
    // Its daemon and directory are gone: stopped by the PID it started.
    const pid = Number(m![1]);
    const dir = /libvirtd pid \d+ in (\/tmp\/bflv\.\w+),/.exec(r.err)?.[1];
    expect(dir, r.err).toBeDefined();
    expect(cmdlineOf(pid)?.some((a) => a.includes('libvirtd')) === true).toBe(false);
    expect(existsSync(dir!)).toBe(false);
  });

  it('a network namespace of the name a test wants exists already: refused, and it survives the cleanup', () => {
    const name = `bfown-${process.pid % 100000}`;
    ip('netns', 'add', name); // someone else's
    try {
      ip('-n', name, 'link', 'add', 'keepme0', 'type', 'bridge');
      const ns = new OwnNetns(name);
      expect(() => ns.create()).toThrow(
        `network namespace ${name} exists already: not this test's, left alone`,
      );
      ns.remove();
      expect(ip('-n', name, '-br', 'link', 'show', 'keepme0')).toContain('keepme0');
    } finally {
      ip('netns', 'del', name);
    }
    // One the test made is removed.
    const mine = new OwnNetns(name).create();
    expect(existsSync(mine.path)).toBe(true);
    mine.remove();
    expect(existsSync(mine.path)).toBe(false);
  });

  it.each([
    ['an ACL file with lines of its own', 'allow br0\n# a user\n'],
    ['no ACL file', undefined],
  ])('the bridge ACL line a test adds is taken back exactly: %s', (_, before) => {
    const acl = join(tmp, 'qemu', 'bridge.conf');
    rmSync(join(tmp, 'qemu'), { recursive: true, force: true });
    if (before !== undefined) {
      execFileSync('mkdir', ['-p', join(tmp, 'qemu')]);
      writeFileSync(acl, before);
    }
    const restore = allowBridge(acl, 'bftest0');
    expect(readFileSync(acl, 'utf8')).toBe(`${before ?? ''}allow bftest0\n`);
    restore();
    expect(existsSync(acl) ? readFileSync(acl, 'utf8') : undefined).toBe(before);
  });

  it("the tests' boxfest inherits no daemon from the caller: a planted libvirt URI, proxy and agent are not used", async () => {
    const proxy = `http://127.0.0.1:${(tcpDecoy.address() as AddressInfo).port}`;
    const planted: Record<string, string> = {
      LIBVIRT_DEFAULT_URI: `qemu:///system?socket=${decoy}`,
      VIRSH_DEFAULT_CONNECT_URI: `qemu:///system?socket=${decoy}`,
      HTTP_PROXY: proxy,
      HTTPS_PROXY: proxy,
      http_proxy: proxy,
      ALL_PROXY: proxy,
      SSH_AUTH_SOCK: decoy,
      BOXFEST_VBOX_URL: `${proxy}/`,
    };
    expect(Object.keys(planted).every((k) => (DAEMON_VARS as readonly string[]).includes(k))).toBe(true);
    const saved = Object.fromEntries(Object.keys(planted).map((k) => [k, process.env[k]]));
    Object.assign(process.env, planted);
    const p = new TestProject({ 'Boxfile.yaml': 'version: 1\nmachines:\n  web: { box: t }\n' });
    const files = join(p.base, 'files');
    execFileSync('mkdir', ['-p', files]);
    libvirtBox(p.boxImage, join(files, 't.box'));
    const http = await serveDir(files);
    try {
      // global-status asks every provider that lists machines (libvirt) for boxfest's domains.
      const g = await p.run(['global-status', '--json']);
      expect(g.code, g.stderr).toBe(0);
      expect(JSON.parse(g.stdout)).toEqual([]);
      // A download from the test's own server goes to it directly, not through the planted proxy.
      const add = await p.run(['box', 'add', `${http.url}/t.box`, '--name', 't']);
      expect(add.code, add.stderr).toBe(0);
      expect(http.requests.map((r) => `${r.path} ${r.status}`)).toContain('/t.box 200');
      expect([touched, tcpTouched]).toEqual([0, 0]);
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      await http.close();
      await p.cleanup();
    }
  });
});
