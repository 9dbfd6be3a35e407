// One environment across two remote libvirt hosts (#16), from a laptop that reaches them only by
// SSH (scripts/in-two-hosts.sh): four machines, two per host, on one private network that spans
// both (VXLAN between the hosts' bridges), a1 and b1 also on a DHCP one that spans both, served by
// host A alone (its DHCP home), b1's lease carried over the VXLAN. Every pair pings both ways
// across the hosts; plain OpenSSH reaches a guest through its host; halting a host's machines
// takes its link down and `up` makes it again; a host that goes down (its libvirtd and sshd
// stopped by PID) makes its machines `unknown` while the others keep working, and after its
// restart `up` converges; `destroy` leaves nothing on either host but the box volumes.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectName } from '../../../src/config/defaults.js';
import {
  domainName,
  isPrivateNetworkOf,
  privateNetworkName,
  BOX_VOLUME_PREFIX,
} from '../../../src/providers/libvirt/names.js';
import { readLeases } from '../../../src/network/leases.js';
import { macFor } from '../../../src/network/nics.js';
import { spanAlias, spanDevice } from '../../../src/providers/libvirt/span.js';
import { isAlive, waitUntil } from '../../../src/state/process.js';
import { TestProject } from '../harness.js';
import { readEnvironment } from '../../../src/config/index.js';
import { LibvirtProvider } from '../../../src/providers/libvirt/provider.js';
import { machinePaths } from '../../../src/state/paths.js';
import {
  httpGet,
  HTTP_RESPONDER,
  listenAddress,
  type PortRow,
  type StatusRow,
} from '../scenarios/net-helpers.js';
import { freePort } from '../../../src/network/ports.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const env = (k: string) => process.env[k] ?? '';
const HOSTS = {
  a: {
    uri: env('BOXFEST_TEST_HOST_A_URI'),
    dir: env('BOXFEST_TEST_HOST_A_DIR'),
    address: env('BOXFEST_TEST_HOST_A_ADDRESS'),
  },
  b: {
    uri: env('BOXFEST_TEST_HOST_B_URI'),
    dir: env('BOXFEST_TEST_HOST_B_DIR'),
    address: env('BOXFEST_TEST_HOST_B_ADDRESS'),
  },
};
type Host = keyof typeof HOSTS;
/** The private networks that span both hosts: `backend` (static) and `lan` (DHCP, a1 and b1 on it). */
const SPANNING = ['backend', 'lan'] as const;
const MACHINES = {
  a1: ['a', '10.20.0.11'],
  a2: ['a', '10.20.0.12'],
  b1: ['b', '10.20.0.21'],
  b2: ['b', '10.20.0.22'],
} as const;

/** The host's daemon asked past boxfest, through its socket on this machine's filesystem. */
const socketUri = (h: Host) => `qemu:///system?socket=${HOSTS[h].dir}/run/libvirt/libvirt-sock`;
const virsh = (h: Host, ...args: string[]): string[] =>
  execFileSync('virsh', ['-q', '-c', socketUri(h), ...args], {
    encoding: 'utf8',
  })
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((l) => l !== '');
/** A command in the host's network namespace (its links, as the kernel sees them). */
const onHost = (h: Host, ...argv: string[]): string =>
  execFileSync('nsenter', [`--net=${HOSTS[h].dir}/netns`, '--', ...argv], { encoding: 'utf8' });
/** libvirtd.sh for host `h` (its sshd listening on its LAN address). */
const libvirtd = (h: Host, ...args: string[]) =>
  execFileSync('bash', [join(ROOT, 'scripts/libvirtd.sh'), ...args, HOSTS[h].dir], {
    encoding: 'utf8',
    env: { ...process.env, SSHD_BIND: HOSTS[h].address, OWNER_PID: String(process.ppid) },
  });

describe('one environment on two remote libvirt hosts', () => {
  let p: TestProject;
  let webPort: number;
  const project = () => ({ name: projectName(p.root), root: p.root });
  const status = async () =>
    JSON.parse((await p.ok(['status', '--json'])).stdout) as (StatusRow & { reason?: string })[];
  const ping = (from: string, to: string) => p.run(['ssh', from, '-c', `ping -c 1 -W 5 ${to}`]);
  /** What the project has on a host: domains, overlay volumes, private networks, VXLAN links. */
  const leftovers = (h: Host) => {
    const prefix = `boxfest-${project().name}-`;
    return [
      ...virsh(h, 'list', '--all', '--name').filter((d) => d.startsWith(prefix)),
      ...virsh(h, 'vol-list', 'default').filter((v) => v.startsWith(prefix)),
      ...virsh(h, 'net-list', '--all', '--name').filter((n) => isPrivateNetworkOf(project(), n)),
      ...SPANNING.flatMap((n) =>
        onHost(h, 'ip', '-o', 'link', 'show', 'type', 'vxlan').includes(spanDevice(project(), n))
          ? [n === 'backend' ? 'vxlan' : `vxlan ${n}`]
          : [],
      ),
    ];
  };

  /** A host goes down: its sshd listeners and its libvirtd, stopped by PID (its guests keep running). */
  const hostDown = async (h: Host) => {
    const pid = Number(libvirtd(h, 'prove').trim());
    libvirtd(h, 'sshd-stop');
    process.kill(pid, 'SIGTERM');
    await waitUntil(() => !isAlive(pid), 10_000);
  };
  /** It comes back: a new libvirtd (which finds the guests still running), its sshd on the same port. */
  const hostUp = (h: Host) => {
    libvirtd(h, 'start');
    libvirtd(h, 'sshd');
  };
  const hostBDown = () => hostDown('b');
  const hostBUp = () => hostUp('b');

  beforeAll(async () => {
    webPort = await freePort();
    p = new TestProject({
      'Boxfile.yaml': `version: 1
provider: libvirt
hosts:
  a: { uri: "${HOSTS.a.uri}" }
  b: { uri: "${HOSTS.b.uri}" }
networks:
  backend: { type: private, cidr: 10.20.0.0/24 }
  lan: { type: private, cidr: 10.30.0.0/24, dhcp: true }
defaults: { box: tiny, memory: 160MiB, host: a }
machines:
  a1: { networks: [{ network: backend, ip: ${MACHINES.a1[1]} }, { network: lan }] }
  a2: { networks: [{ network: backend, ip: ${MACHINES.a2[1]} }] }
  b1:
    host: b
    networks: [{ network: backend, ip: ${MACHINES.b1[1]} }, { network: lan }]
    forwarded_ports: [{ guest: 80, host: ${webPort} }]
    provision:${HTTP_RESPONDER}
  b2: { host: b, networks: [{ network: backend, ip: ${MACHINES.b2[1]} }] }
`,
    });
    await p.addTinyBox('tiny', [], 'virtio');
  });

  afterAll(async () => {
    // destroy, then the project's temp dir (a destroy alone left it in /tmp after every run).
    await p?.cleanup();
  });

  it('up brings the four machines up in parallel, each on its host', async () => {
    const r = await p.ok(['up', '--json']);
    const rows = JSON.parse(r.stdout) as { machine: string; ok: boolean }[];
    expect(rows.map((x) => [x.machine, x.ok])).toEqual(Object.keys(MACHINES).map((m) => [m, true]));
    for (const [m, [h]] of Object.entries(MACHINES)) {
      expect(virsh(h, 'list', '--name')).toContain(domainName(project(), m));
      expect(virsh(h === 'a' ? 'b' : 'a', 'list', '--all', '--name')).not.toContain(domainName(project(), m));
    }
    expect((await status()).map((s) => [s.name, s.state])).toEqual(
      Object.keys(MACHINES).map((m) => [m, 'running']),
    );
  });

  it('status asks each host once: one listing of its domains, no call per machine', async () => {
    // BOXFEST_DEBUG=1 traces every libvirt call boxfest makes (client.ts).
    const r = await p.run(['status', '--json'], { env: { BOXFEST_DEBUG: '1' } });
    expect(r.code, r.stderr).toBe(0);
    const calls = [...r.stderr.matchAll(/^boxfest debug: libvirt (\S+) ([A-Z_]+) /gm)].map(
      (x) => `${x[1]} ${x[2]}`,
    );
    const setup = /(AUTH_LIST|CONNECT_OPEN|CONNECT_CLOSE)$/;
    expect(calls.filter((c) => !setup.test(c)).sort()).toEqual(
      [HOSTS.a.uri, HOSTS.b.uri].map((u) => `${u} CONNECT_GET_ALL_DOMAIN_STATS`).sort(),
    );
  });

  it('every pair pings both ways on the private network, across the hosts', async () => {
    const pairs = Object.keys(MACHINES).flatMap((from) =>
      Object.entries(MACHINES)
        .filter(([to]) => to !== from)
        .map(([to, [, ip]]) => [from, to, ip] as const),
    );
    const results = await Promise.all(pairs.map(([from, , ip]) => ping(from, ip)));
    expect(pairs.map(([f, t], i) => `${f}->${t} ${results[i]?.code}`)).toEqual(
      pairs.map(([f, t]) => `${f}->${t} 0`),
    );
    // The segment is carried by one tagged VXLAN device per host, pointing at the other host.
    for (const [h, other] of [
      ['a', 'b'],
      ['b', 'a'],
    ] as const) {
      const dev = spanDevice(project(), 'backend');
      expect(onHost(h, 'ip', '-o', 'link', 'show', 'dev', dev)).toContain(
        ` alias ${spanAlias(project(), 'backend')}`,
      );
      expect(onHost(h, 'bridge', 'fdb', 'show', 'dev', dev)).toContain(`dst ${HOSTS[other].address}`);
    }
  });

  it("a DHCP network spanning the hosts: its home (host A) alone serves it, b1's lease comes over the VXLAN", async () => {
    // The addresses boxfest allocated, as on one host; each guest bound its own over DHCP at boot
    // (the tiny box's udhcpc says so on the console), and has it on its NIC.
    const allocated = readLeases(p.root, 'lan');
    const lan = { a1: allocated['a1'] ?? '', b1: allocated['b1'] ?? '' };
    expect(Object.values(lan).every((ip) => ip.startsWith('10.30.0.')) && lan.a1 !== lan.b1).toBe(true);
    process.env['BOXFEST_HOME'] = p.home;
    const env = readEnvironment(p.root);
    for (const [m, ip] of Object.entries(lan)) {
      const mac = macFor(p.root, m, 2);
      const tail = await new LibvirtProvider().consoleTail(
        { env, spec: env.machines.find((x) => x.name === m)!, paths: machinePaths(p.root, m) },
        5000,
      );
      expect(tail, `${m}'s console`).toMatch(new RegExp(`box: ip \\S+ ${mac} ${ip}/24 dhcp`));
      const addr = await p.run(['ssh', m, '-c', 'ip -4 -o addr show']);
      expect(addr.stdout).toContain(`inet ${ip}/24`);
    }
    // Host A's dnsmasq leased both; host B's copy has no address and no DHCP server.
    const name = privateNetworkName(project(), 'lan');
    const leases = execFileSync('virsh', ['-q', '-c', socketUri('a'), 'net-dhcp-leases', name], {
      encoding: 'utf8',
    });
    for (const [m, ip] of Object.entries(lan))
      expect(leases).toMatch(new RegExp(`${macFor(p.root, m, 2)}.*${ip}/24`));
    const onB = execFileSync('virsh', ['-c', socketUri('b'), 'net-dumpxml', name], { encoding: 'utf8' });
    expect(onB).not.toContain('<ip');
    expect((await ping('a1', lan.b1)).code).toBe(0);
    expect((await ping('b1', lan.a1)).code).toBe(0);
  });

  it("with the DHCP home (host A) down, a machine on host B on that network fails its boot with A's error; after A's restart up converges", async () => {
    await p.ok(['halt', 'b1']);
    await hostDown('a');
    try {
      const up = await p.run(['up', 'b1', '--json']);
      expect(up.code).not.toBe(0);
      const row = (JSON.parse(up.stdout) as { ok: boolean; error?: { code: string; message: string } }[])[0];
      expect(row?.error?.code).toBe('SSH_HOST_UNREACHABLE');
      expect(row?.error?.message).toContain('network `lan` has its DHCP server on host `a`');
      expect(row?.error?.message).toContain(HOSTS.a.address);
      expect(virsh('b', 'list', '--name')).not.toContain(domainName(project(), 'b1'));
    } finally {
      hostUp('a');
    }
    await p.ok(['up']);
    expect((await status()).map((s) => s.state)).toEqual(['running', 'running', 'running', 'running']);
    expect((await ping('b1', readLeases(p.root, 'lan')['a1'] ?? '')).code).toBe(0);
  });

  it("a remote machine's forwarded port answers on the laptop's loopback, carried through its host", async () => {
    expect(await httpGet(webPort)).toBe('b1');
    expect(listenAddress(webPort)).toBe('127.0.0.1');
    const ports = JSON.parse((await p.ok(['port', 'b1', '--json'])).stdout) as PortRow[];
    expect(ports[0]?.ports).toContainEqual(
      expect.objectContaining({ guest: 80, host: webPort, host_ip: '127.0.0.1' }),
    );
  });

  it("a remote machine's serial console is read on its host, over SSH (what boot errors show)", async () => {
    process.env['BOXFEST_HOME'] = p.home; // the host keys boxfest pinned for this project
    const env = readEnvironment(p.root);
    const spec = env.machines.find((m) => m.name === 'b1')!;
    const tail = await new LibvirtProvider().consoleTail(
      { env, spec, paths: machinePaths(p.root, 'b1') },
      5000,
    );
    expect(tail).toContain('box: rcS done'); // the tiny box's init, on its serial console
    expect(tail).not.toContain('could not be read');
  });

  it('host B is logged in to as a non-root user: what boxfest runs there as root goes through sudo -n', () => {
    // in-two-hosts.sh: root on host A, `ops` (group libvirt, passwordless sudo) on host B.
    expect(new URL(HOSTS.a.uri).username).toBe('root');
    expect(new URL(HOSTS.b.uri).username).not.toBe('root');
    // B's sudo log (libvirtd.sh's SSH_USER): its VXLAN link (checked on B above) and b1's serial
    // log tail were run by that user through sudo, as root, command by command: B's sudo rule
    // names only ip, bridge and tail (in-two-hosts.sh), what the README asks of a host.
    const user = new URL(HOSTS.b.uri).username;
    const entries = readFileSync(join(HOSTS.b.dir, 'sudo.log'), 'utf8')
      .split('\n')
      .filter((l) => l.includes(` : ${user} : `) && l.includes('USER=root'));
    expect(
      entries.some((l) => l.includes(spanDevice(project(), 'backend')) && l.includes('ip link add')),
    ).toBe(true);
    expect(
      entries.some(
        (l) => l.includes(`bridge fdb append 00:00:00:00:00:00 dev `) && l.includes(`dst ${HOSTS.a.address}`),
      ),
    ).toBe(true);
    expect(entries.some((l) => /COMMAND=\S*tail -n \d+ -- \S+\.log/.test(l))).toBe(true);
  });

  it('plain OpenSSH reaches a guest through its host with ssh-config (the laptop has no route to it)', async () => {
    const cfg = join(p.base, 'ssh_config');
    writeFileSync(cfg, (await p.ok(['ssh-config', 'b2'])).stdout);
    const alias = /^Host "?([^"\s]+)/m.exec((await p.ok(['ssh-config', 'b2'])).stdout)?.[1] ?? '';
    expect(execFileSync('ssh', ['-F', cfg, alias, 'hostname'], { encoding: 'utf8' })).toBe('b2\n');
  });

  it("halting a host's machines takes its link down; up makes it again and keeps the addresses", async () => {
    await p.ok(['halt', 'b1', 'b2']);
    expect(leftovers('b')).not.toContain('vxlan');
    await p.ok(['up', 'b1', 'b2']);
    expect(leftovers('b')).toContain('vxlan');
    expect((await ping('a1', MACHINES.b2[1])).code).toBe(0);
    expect((await ping('b1', MACHINES.a2[1])).code).toBe(0);
  });

  it('a host that is down makes its machines unknown with the reason; the others still work; after its restart up converges', async () => {
    await hostBDown();
    try {
      const rows = await status();
      expect(rows.map((s) => [s.name, s.state])).toEqual([
        ['a1', 'running'],
        ['a2', 'running'],
        ['b1', 'unknown'],
        ['b2', 'unknown'],
      ]);
      expect(rows.find((r) => r.name === 'b1')?.reason).toMatch(/10\.77\.0\.2/);
      // global-status too lists the project's machines, B's as unknown.
      const global = JSON.parse((await p.ok(['global-status', '--json'])).stdout) as {
        root: string;
        machines: { name: string; state: string }[];
      }[];
      expect(global.find((x) => x.root === p.root)?.machines.map((m) => [m.name, m.state])).toEqual([
        ['a1', 'running'],
        ['a2', 'running'],
        ['b1', 'unknown'],
        ['b2', 'unknown'],
      ]);
      // `up` fails only B's machines, each with the host's error; A's are left as they are.
      const up = await p.run(['up', '--json']);
      expect(up.code).not.toBe(0);
      const result = JSON.parse(up.stdout) as {
        machine: string;
        ok: boolean;
        action: string;
        error?: { code: string; message: string };
      }[];
      expect(result.map((x) => [x.machine, x.action, x.ok])).toEqual([
        ['a1', 'none', true],
        ['a2', 'none', true],
        ['b1', 'unreachable', false],
        ['b2', 'unreachable', false],
      ]);
      expect(result[2]?.error?.code).toBe('SSH_HOST_UNREACHABLE');
      expect(result[2]?.error?.message).toContain(HOSTS.b.address);
      expect((await ping('a1', MACHINES.a2[1])).code).toBe(0);
      // halt and destroy too: A's machine goes, B's fail with the host's error and lose nothing.
      const halted = await p.run(['halt', 'a2', 'b1', '--json']);
      expect(halted.code).not.toBe(0);
      const haltRows = JSON.parse(halted.stdout) as { name: string; ok: boolean; error?: { code: string } }[];
      expect(haltRows.map((x) => [x.name, x.ok, x.error?.code])).toEqual([
        ['a2', true, undefined],
        ['b1', false, 'SSH_HOST_UNREACHABLE'],
      ]);
      const destroyed = await p.run(['destroy', '-f', 'b2', '--json']);
      expect(destroyed.code).not.toBe(0);
      expect(existsSync(machinePaths(p.root, 'b2').state)).toBe(true);
    } finally {
      // Host B comes back (a new libvirtd finds its running guests), and so does its sshd.
      hostBUp();
    }
    await p.ok(['up']);
    expect((await status()).map((s) => s.state)).toEqual(['running', 'running', 'running', 'running']);
    expect((await ping('b2', MACHINES.a1[1])).code).toBe(0);
    // The forwarder on the laptop dials the restarted host anew.
    expect(await httpGet(webPort)).toBe('b1');
  });

  it('a host that goes down in the middle of creating a machine fails only it; after the restart up converges', async () => {
    await p.ok(['destroy', '-f', 'b2']);
    const name = domainName(project(), 'b2');
    const up = p.run(['up', 'b2', '--json']);
    // Down as soon as its domain is defined on B: the boot, the address and SSH are still to come.
    expect(await waitUntil(() => virsh('b', 'list', '--all', '--name').includes(name), 60_000, 50)).toBe(
      true,
    );
    await hostBDown();
    try {
      const r = await up;
      expect(r.code).not.toBe(0);
      const row = (JSON.parse(r.stdout) as { machine: string; ok: boolean; error?: { code: string } }[])[0];
      expect(row?.ok).toBe(false);
      expect(row?.error?.code).toMatch(/^(SSH_HOST_|LIBVIRT_)/);
    } finally {
      hostBUp();
    }
    await p.ok(['up']);
    expect((await status()).map((s) => s.state)).toEqual(['running', 'running', 'running', 'running']);
    expect((await ping('b2', MACHINES.a1[1])).code).toBe(0);
    // Exactly the project's own objects on B: its two domains and their overlays, nothing half made.
    expect(
      virsh('b', 'list', '--all', '--name')
        .filter((d) => d.startsWith(`boxfest-${project().name}-`))
        .sort(),
    ).toEqual([domainName(project(), 'b1'), domainName(project(), 'b2')].sort());
  });

  it('destroy leaves nothing on either host but the box volume, uploaded once to each', async () => {
    await p.ok(['destroy', '-f']);
    expect(p.processesUsingProject()).toEqual([]);
    for (const h of ['a', 'b'] as const) {
      expect(leftovers(h)).toEqual([]);
      expect(virsh(h, 'vol-list', 'default').filter((v) => v.startsWith(BOX_VOLUME_PREFIX))).toHaveLength(1);
    }
  });
});
