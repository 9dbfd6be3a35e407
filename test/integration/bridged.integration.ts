// A bridged network on a real guest: a Linux bridge inside a network namespace this test creates,
// with its own DHCP server (dnsmasq, in that namespace). QEMU stays in the host namespace (its
// SSH forward on 127.0.0.1 keeps working); qemu-bridge-helper runs inside the namespace and hands
// QEMU the tap. Nothing but the test's own namespace sees the guest's bridged traffic.
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BRIDGE_ACL } from '../../src/providers/qemu/bridge.js';
import { BRIDGE_HELPER } from '../../src/providers/qemu/exec.js';
import { isAlive, pidFileProcess, waitUntil } from '../../src/state/process.js';
import { TestProject } from './harness.js';
import { allowBridge, OwnNetns } from './own-netns.js';

const tag = String(process.pid % 100000);
const NS = `bfit-${tag}`;
const BR = `bfbr${tag}`;
const NOT_ALLOWED = `bfna${tag}`;
const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
const inNs = (...args: string[]) => execFileSync('ip', ['netns', 'exec', NS, ...args]).toString();

const boxfile = (bridge: string) => `version: 1
networks:
  lan: { type: bridged, interface: ${bridge} }
machines:
  kiosk:
    box: tiny
    memory: 256
    networks: [{ network: lan, mac: "52:54:00:77:00:42" }]
`;

interface StatusRow {
  state: string;
  networks: { network: string; address: string; mac: string }[];
}

describe('a bridged network on a bridge inside a test-made network namespace', () => {
  let work: TestProject;
  let dnsmasqPid: number | undefined;
  let restoreAcl: (() => void) | undefined;
  // Created by this test, and removed only if so (a namespace of that name that exists already
  // fails the test and stays as it was: own-netns.ts).
  const ns = new OwnNetns(NS);
  const helper = `ip netns exec ${NS} ${BRIDGE_HELPER}`;

  beforeAll(async () => {
    if (process.getuid?.() !== 0)
      throw new Error('the bridged-network test needs root (network namespaces, bridge helper)');
    ns.create();
    ip('-n', NS, 'link', 'set', 'lo', 'up');
    ip('-n', NS, 'link', 'add', BR, 'type', 'bridge');
    ip('-n', NS, 'addr', 'add', '192.168.77.1/24', 'dev', BR);
    ip('-n', NS, 'link', 'set', BR, 'up');
    restoreAcl = allowBridge(BRIDGE_ACL, BR);
    work = new TestProject({ 'Boxfile.yaml': boxfile(BR) }, { env: { BOXFEST_QEMU_BRIDGE_HELPER: helper } });
    const pidFile = join(work.base, 'dnsmasq.pid');
    inNs(
      'dnsmasq',
      '--conf-file=/dev/null',
      '--port=0',
      '--user=root',
      `--interface=${BR}`,
      '--bind-interfaces',
      '--dhcp-range=192.168.77.50,192.168.77.99,255.255.255.0,1h',
      `--dhcp-leasefile=${join(work.base, 'dnsmasq.leases')}`,
      `--pid-file=${pidFile}`,
    );
    // Ours: the process its pidfile names has that pidfile on its command line and lives in NS.
    await waitUntil(() => pidFileProcess(pidFile, `--pid-file=${pidFile}`) !== undefined, 5_000);
    dnsmasqPid = pidFileProcess(pidFile, `--pid-file=${pidFile}`);
    if (dnsmasqPid === undefined || statSync(`/proc/${dnsmasqPid}/ns/net`).ino !== statSync(ns.path).ino)
      throw new Error(`dnsmasq of ${pidFile} is not running in ${NS}`);
    await work.addTinyBox();
  });
  afterAll(async () => {
    // dnsmasq first: its pidfile, which proves the process ours, is in the project's temp dir,
    // which cleanup() removes (in that order, every run left a dnsmasq and its namespace behind).
    const pidFile = work === undefined ? undefined : join(work.base, 'dnsmasq.pid');
    if (
      dnsmasqPid !== undefined &&
      pidFile !== undefined &&
      pidFileProcess(pidFile, `--pid-file=${pidFile}`) === dnsmasqPid
    ) {
      const pid = dnsmasqPid;
      process.kill(pid, 'SIGTERM');
      await waitUntil(() => !isAlive(pid), 5_000);
    }
    await work?.cleanup();
    ns.remove();
    restoreAcl?.();
  });

  it('the guest gets an address from the LAN and talks to it, both ways', async () => {
    const up = await work.run(['up']);
    expect(up.code, up.stderr + up.stdout + work.serialLog('kiosk')).toBe(0);
    const [row] = JSON.parse((await work.ok(['status', '--json'])).stdout) as StatusRow[];
    expect(row?.state).toBe('running');
    const lan = row?.networks.find((n) => n.network === 'lan');
    expect(lan?.mac).toBe('52:54:00:77:00:42');
    const addr = lan?.address.split('/')[0] ?? '';
    expect(addr).toMatch(/^192\.168\.77\.(5\d|[6-9]\d)$/);
    expect(readFileSync(join(work.base, 'dnsmasq.leases'), 'utf8')).toContain(`52:54:00:77:00:42 ${addr}`);
    expect(inNs('busybox', 'ping', '-c', '2', '-W', '3', addr)).toMatch(/2 packets received/);
    const fromGuest = await work.run(['ssh', 'kiosk', '-c', 'ping -c 2 -w 6 192.168.77.1']);
    expect(fromGuest.code, fromGuest.stdout).toBe(0);
  });

  it('the tap lives in the namespace, not on the host', () => {
    expect(ip('-n', NS, '-br', 'link', 'show', 'master', BR)).toMatch(/tap/);
    expect(ip('-br', 'link', 'show')).not.toContain(BR);
  });

  it('destroy removes the machine; the bridge is the test’s and stays', async () => {
    await work.ok(['destroy', '--force']);
    expect(work.qemuPids()).toEqual([]);
    expect(ip('-n', NS, '-br', 'link', 'show', 'master', BR).trim()).toBe('');
  });

  it.each([
    {
      what: 'a bridge that does not exist',
      bridge: 'bfnope0',
      env: {},
      message: 'host bridge `bfnope0` (network `lan`) does not exist [BRIDGE_NOT_FOUND]',
      hint: 'ip link add bfnope0 type bridge',
    },
    {
      what: 'a bridge the helper ACL does not allow',
      bridge: NOT_ALLOWED,
      env: { BOXFEST_QEMU_BRIDGE_HELPER: helper },
      message: `QEMU's bridge helper is not allowed to use bridge \`${NOT_ALLOWED}\` (network \`lan\`) [BRIDGE_NOT_ALLOWED]`,
      hint: `add the line \`allow ${NOT_ALLOWED}\` to /etc/qemu/bridge.conf`,
    },
  ])('$what fails with what to do, and leaves no VM', async ({ bridge, env, message, hint }) => {
    const p = new TestProject({ 'Boxfile.yaml': boxfile(bridge) }, { env, home: work.home });
    try {
      const r = await p.run(['up']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`error (machine kiosk, step boot): ${message}`);
      expect(r.stderr).toContain(hint);
      expect(p.qemuPids()).toEqual([]);
      expect((await p.ok(['status', '--json'])).stdout).toContain('"state": "not_created"');
    } finally {
      await p.cleanup();
    }
  });
});
