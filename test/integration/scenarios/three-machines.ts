// Three machines on one private network, on real guests: addresses static and allocated, every
// pair pinging both ways, names in /etc/hosts, a forwarded port that answers on the host's
// loopback, a halted machine rejoining, the network stopping with its last machine, destroy
// leaving nothing. Run for every provider (QEMU: one VDE switch; libvirt: an isolated network).
// No traffic leaves the machine.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../src/network/ports.js';
import { runningSwitches } from '../../../src/providers/qemu/switch.js';
import { networkPaths } from '../../../src/state/paths.js';
import { waitUntil } from '../../../src/state/process.js';
import { TestProject } from '../harness.js';
import { vmPids, type Target } from '../targets.js';
import { httpGet, HTTP_RESPONDER, listenAddress, type PortRow, type StatusRow } from './net-helpers.js';

export function threeMachinesScenario(t: Target): void {
  describe(`three machines on one private network (${t.name})`, () => {
    let webPort: number;
    let p: TestProject;
    const status = async () => JSON.parse((await p.ok(['status', '--json'])).stdout) as StatusRow[];
    const addressOf = (rows: StatusRow[], m: string) =>
      rows.find((r) => r.name === m)?.networks.find((n) => n.network === 'backend')?.address;
    const ping = (from: string, to: string) => p.run(['ssh', from, '-c', `ping -c 2 -w 6 ${to}`]);

    beforeAll(async () => {
      webPort = await freePort();
      p = new TestProject(
        {
          'Boxfile.yaml': t.boxfile(`version: 1
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
`),
        },
        { target: t },
      );
      await t.addBox(p);
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
      expect(t.networkInfra(p)).toHaveLength(1);
    });

    it('every pair pings, both ways', async () => {
      const ips: Record<string, string> = {
        web: '192.168.56.10',
        db: '192.168.56.11',
        cache: '192.168.56.2',
      };
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
        expect.objectContaining({
          guest: 22,
          host_ip: expect.stringMatching(t.sshHostIp) as string,
          ssh: true,
        }),
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
      expect(t.networkInfra(p)).toHaveLength(1);
      await p.ok(['up', 'cache']);
      expect(addressOf(await status(), 'cache')).toBe('192.168.56.2/24');
      for (const to of ['192.168.56.10', '192.168.56.11']) expect((await ping('cache', to)).code).toBe(0);
      expect((await ping('web', '192.168.56.2')).code).toBe(0);
      const conf = await p.ok(['ssh', 'cache', '-c', 'cat /etc/network/interfaces.d/60-boxfest']);
      expect(conf.stdout).toBe('auto eth1\niface eth1 inet static\n  address 192.168.56.2/24\n\n');
    });

    it('the last machine halted stops the switch; up starts it again', async () => {
      await p.ok(['halt']);
      expect(t.networkInfra(p)).toEqual([]);
      await p.ok(['up', 'web', 'db']);
      expect(t.networkInfra(p)).toHaveLength(1);
      expect((await ping('db', '192.168.56.10')).code).toBe(0);
      expect(await httpGet(webPort)).toBe('web.lab.test');
    });

    // The VDE switch of QEMU's private networks can die under its machines; a libvirt network is
    // the daemon's (it keeps its bridge while domains are on it).
    it.runIf(t.name === 'qemu')(
      'a switch that dies under running machines is reported, and a reload reconnects them',
      async () => {
        // web and db run on the switch; cache is halted.
        const [old] = runningSwitches(p.root);
        process.kill(old!, 'SIGKILL');
        await waitUntil(() => runningSwitches(p.root).length === 0, 5_000);
        // cache boots: a new switch starts, which web's and db's QEMU never plug into again.
        await p.ok(['up', 'cache']);
        expect(t.networkInfra(p)).toHaveLength(1);
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
      },
    );

    it('destroy leaves no switch, no lease, no state', async () => {
      await p.ok(['destroy', '--force']);
      expect(t.networkInfra(p)).toEqual([]);
      expect(vmPids(t, p)).toEqual([]);
      expect(t.leftovers(p)).toEqual([]);
      expect(() => readFileSync(networkPaths(p.root, 'backend').leases)).toThrow(/ENOENT/);
    });
  });
}
