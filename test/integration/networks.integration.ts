// Multi-machine environments on real guests: a private network (one VDE switch) shared by three
// machines, addresses static and allocated, names in /etc/hosts, a forwarded port that answers on
// the host's loopback, fixed-port collisions refused before any VM starts, auto_correct across two
// concurrent projects. No traffic leaves the machine: guests use restrict=on NAT and the switch is
// the project's own.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/network/ports.js';
import { runningSwitches } from '../../src/providers/qemu/switch.js';
import { networkPaths } from '../../src/state/paths.js';
import { waitUntil } from '../../src/state/process.js';
import { TestProject } from './harness.js';

interface StatusRow {
  name: string;
  state: string;
  networks: { network: string; iface: string; address: string; mac: string }[];
}
interface PortRow {
  name: string;
  ports: {
    guest: number;
    host: number;
    host_ip: string;
    protocol: string;
    requested?: number;
    ssh?: boolean;
  }[];
}

/** Answers HTTP on guest port 80 with the machine's hostname, on every boot. */
const HTTP_RESPONDER = `
      - name: http
        run: always
        shell: |
          mkdir -p /www && hostname > /www/index.html
          pidof httpd >/dev/null || httpd -p 80 -h /www`;

async function httpGet(port: number): Promise<string> {
  const r = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(5_000) });
  return (await r.text()).trim();
}

/** Which local address a listening TCP port is bound to, from /proc/net/tcp (hex, little-endian). */
function listenAddress(port: number): string | undefined {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const [, local, , st] = line.trim().split(/\s+/);
    if (st !== '0A' || !local?.endsWith(`:${hexPort}`)) continue;
    const hex = local.split(':')[0]!;
    return [3, 2, 1, 0].map((i) => parseInt(hex.slice(i * 2, i * 2 + 2), 16)).join('.');
  }
  return undefined;
}

function hold(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const s = createServer((c) => c.end());
    s.once('error', reject);
    s.listen({ port, host: '127.0.0.1' }, () => resolve(s));
  });
}

describe('three machines on one private network', () => {
  let webPort: number;
  let p: TestProject;
  const status = async () => JSON.parse((await p.ok(['status', '--json'])).stdout) as StatusRow[];
  const addressOf = (rows: StatusRow[], m: string) =>
    rows.find((r) => r.name === m)?.networks.find((n) => n.network === 'backend')?.address;
  const ping = (from: string, to: string) => p.run(['ssh', from, '-c', `ping -c 2 -w 6 ${to}`]);

  beforeAll(async () => {
    webPort = await freePort();
    p = new TestProject({
      'Boxfile.yaml': `version: 1
defaults: { box: tiny, memory: 256 }
networks:
  backend: { type: private, cidr: 192.168.56.0/24, dhcp: true }
machines:
  web:
    hostname: web.lab.test
    networks: [{ network: backend, ip: 192.168.56.10 }]
    forwarded_ports: [{ guest: 80, host: ${webPort} }]
    provision:${HTTP_RESPONDER}
  db:
    networks: [{ network: backend, ip: 192.168.56.11 }]
  cache:
    networks: [{ network: backend }]
`,
    });
    await p.addTinyBox();
    const r = await p.run(['up']);
    if (r.code !== 0)
      throw new Error(
        `up failed\n${r.stderr}\n${r.stdout}\n${['web', 'db', 'cache'].map((m) => p.serialLog(m)).join('\n')}`,
      );
  });
  afterAll(async () => {
    await p.cleanup();
  });

  it('gives each machine its address: static ones as written, the dhcp one the first free one', async () => {
    const rows = await status();
    expect(rows.map((r) => [r.name, r.state, addressOf(rows, r.name)])).toEqual([
      ['web', 'running', '192.168.56.10/24'],
      ['db', 'running', '192.168.56.11/24'],
      ['cache', 'running', '192.168.56.2/24'],
    ]);
    expect(JSON.parse(readFileSync(networkPaths(p.root, 'backend').leases, 'utf8'))).toEqual({
      cache: '192.168.56.2',
    });
    expect(runningSwitches(p.root)).toHaveLength(1);
  });

  it('every pair pings, both ways', async () => {
    const ips: Record<string, string> = { web: '192.168.56.10', db: '192.168.56.11', cache: '192.168.56.2' };
    for (const from of Object.keys(ips))
      for (const to of Object.keys(ips)) {
        if (from === to) continue;
        const r = await ping(from, ips[to]!);
        expect(r.code, `${from} -> ${to}: ${r.stdout}${r.stderr}`).toBe(0);
      }
  });

  it('machines know each other by name', async () => {
    const r = await ping('cache', 'web');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('192.168.56.10');
    expect((await p.ok(['ssh', 'db', '-c', 'cat /etc/hosts'])).stdout).toMatch(
      /# boxfest begin\n192\.168\.56\.10 web\.lab\.test web\n192\.168\.56\.2 cache\n# boxfest end/,
    );
  });

  it('the forwarded port answers on the host, bound to 127.0.0.1 only, and `port` lists it', async () => {
    expect(await httpGet(webPort)).toBe('web.lab.test');
    expect(listenAddress(webPort)).toBe('127.0.0.1');
    const rows = JSON.parse((await p.ok(['port', 'web', '--json'])).stdout) as PortRow[];
    expect(rows[0]?.ports).toEqual([
      expect.objectContaining({ guest: 22, host_ip: '127.0.0.1', ssh: true }),
      { guest: 80, host: webPort, host_ip: '127.0.0.1', protocol: 'tcp' },
    ]);
  });

  it('a halted machine comes back with the same address and rejoins; the switch stays for the others', async () => {
    // Dress `cache` up as a Debian-style guest: the next boot must also write ifupdown's config.
    await p.ok([
      'ssh',
      'cache',
      '-c',
      'echo ID=debian > /etc/os-release && mkdir -p /etc/network/interfaces.d',
    ]);
    await p.ok(['halt', 'cache']);
    expect(runningSwitches(p.root)).toHaveLength(1);
    await p.ok(['up', 'cache']);
    expect(addressOf(await status(), 'cache')).toBe('192.168.56.2/24');
    for (const to of ['192.168.56.10', '192.168.56.11']) expect((await ping('cache', to)).code).toBe(0);
    expect((await ping('web', '192.168.56.2')).code).toBe(0);
    const conf = await p.ok(['ssh', 'cache', '-c', 'cat /etc/network/interfaces.d/60-boxfest']);
    expect(conf.stdout).toBe('auto eth1\niface eth1 inet static\n  address 192.168.56.2/24\n\n');
  });

  it('the last machine halted stops the switch; up starts it again', async () => {
    await p.ok(['halt']);
    expect(runningSwitches(p.root)).toEqual([]);
    await p.ok(['up', 'web', 'db']);
    expect(runningSwitches(p.root)).toHaveLength(1);
    expect((await ping('db', '192.168.56.10')).code).toBe(0);
    expect(await httpGet(webPort)).toBe('web.lab.test');
  });

  it('a switch that dies under running machines is reported, and a reload reconnects them', async () => {
    // web and db run on the switch; cache is halted.
    const [old] = runningSwitches(p.root);
    process.kill(old!, 'SIGKILL');
    await waitUntil(() => runningSwitches(p.root).length === 0, 5_000);
    // cache boots: a new switch starts, which web's and db's QEMU never plug into again.
    await p.ok(['up', 'cache']);
    expect(runningSwitches(p.root)).toHaveLength(1);
    const rows = JSON.parse((await p.ok(['status', '--json'])).stdout) as (StatusRow & {
      cut_off?: string[];
      next: string;
    })[];
    expect(rows.map((r) => [r.name, r.state, r.cut_off, r.next])).toEqual([
      ['web', 'running', ['backend'], 'reload'],
      ['db', 'running', ['backend'], 'reload'],
      ['cache', 'running', undefined, 'none'],
    ]);
    expect((await ping('cache', '192.168.56.10')).code).not.toBe(0);
    const refused = await p.run(['up', 'web']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('the switch of network backend died under it');
    expect(refused.stderr).toContain('--reload');

    await p.ok(['up', '--reload']);
    const after = JSON.parse((await p.ok(['status', '--json'])).stdout) as {
      cut_off?: string[];
      next: string;
    }[];
    expect(after.map((r) => [r.cut_off, r.next])).toEqual([
      [undefined, 'none'],
      [undefined, 'none'],
      [undefined, 'none'],
    ]);
    for (const [from, to] of [
      ['cache', '192.168.56.10'],
      ['web', '192.168.56.11'],
      ['db', '192.168.56.2'],
    ] as const)
      expect((await ping(from, to)).code, `${from} -> ${to}`).toBe(0);
  });

  it('destroy leaves no switch, no lease, no state', async () => {
    await p.ok(['destroy', '--force']);
    expect(runningSwitches(p.root)).toEqual([]);
    expect(p.qemuPids()).toEqual([]);
    expect(() => readFileSync(networkPaths(p.root, 'backend').leases)).toThrow(/ENOENT/);
  });
});

describe('forwarded port collisions', () => {
  const held: Server[] = [];
  const projects: TestProject[] = [];
  afterAll(async () => {
    for (const s of held) s.close();
    // Last made first: a project sharing another's home must be destroyed before that home goes
    // (its `destroy` would write the home anew, and leave it behind).
    for (const p of [...projects].reverse()) await p.cleanup();
  });
  const project = (port: number, autoCorrect: boolean, home?: string) => {
    const p = new TestProject(
      {
        'Boxfile.yaml': `version: 1
defaults: { box: tiny, memory: 256 }
machines:
  web:
    forwarded_ports: [{ guest: 80, host: ${port}${autoCorrect ? ', auto_correct: true' : ''} }]
    provision:${HTTP_RESPONDER}
`,
      },
      home === undefined ? {} : { home },
    );
    projects.push(p);
    return p;
  };

  it('a fixed host port that is taken fails before any VM starts, naming it', async () => {
    const port = await freePort();
    held.push(await hold(port));
    const p = project(port, false);
    await p.addTinyBox();
    const r = await p.run(['up']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `error (machine web): host port tcp 127.0.0.1:${port} (forwarded to guest port 80) is already in use by another program [PORT_IN_USE]`,
    );
    expect(r.stderr).toContain('no machine was started');
    expect(p.qemuPids()).toEqual([]);
    expect((await p.ok(['status', '--json'])).stdout).toContain('"state": "not_created"');
  });

  it('auto_correct picks free ports from the range, distinct across two projects started at once', async () => {
    const port = await freePort();
    held.push(await hold(port));
    const first = project(port, true);
    await first.addTinyBox();
    // One boxfest home (one user), two projects asking for the same taken port at the same time.
    const second = project(port, true, first.home);
    const [a, b] = await Promise.all([first.run(['up']), second.run(['up'])]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    const hostPort = async (p: TestProject) => {
      const rows = JSON.parse((await p.ok(['port', '--json'])).stdout) as PortRow[];
      const fwd = rows[0]?.ports.find((x) => x.guest === 80);
      expect(fwd).toMatchObject({ requested: port, host_ip: '127.0.0.1' });
      return fwd!.host;
    };
    const [pa, pb] = [await hostPort(first), await hostPort(second)];
    expect(pa).not.toBe(pb);
    for (const x of [pa, pb]) expect(x).toBeGreaterThanOrEqual(2200);
    for (const x of [pa, pb]) expect(x).toBeLessThanOrEqual(2250);
    expect(a.stdout + a.stderr).toContain(
      `host port ${port} is taken: guest port 80 is forwarded from 127.0.0.1:${pa} instead`,
    );
    expect([await httpGet(pa), await httpGet(pb)]).toEqual(['web', 'web']);
  });
});

describe('bring-up order', () => {
  const p = new TestProject({
    'Boxfile.yaml': `version: 1
defaults: { box: tiny, memory: 256 }
machines:
  first: {}
  second: {}
`,
  });
  afterAll(async () => {
    await p.cleanup();
  });

  it('--no-parallel brings machines up one at a time, in Boxfile order', async () => {
    await p.addTinyBox();
    const r = await p.ok(['up', '--no-parallel']);
    // Plain-line output (not a terminal): each line names its machine.
    const lines = r.stdout.split('\n');
    const firstReady = lines.findIndex((l) => /first: ready/.test(l));
    const secondStarts = lines.findIndex((l) => /second: /.test(l));
    expect(firstReady).toBeGreaterThanOrEqual(0);
    expect(secondStarts).toBeGreaterThan(firstReady);
  });
});
