// A machine's NICs and the peers it should know by name: pure functions of the environment.

import { describe, expect, it } from 'vitest';
import type { Environment, MachineNetwork, MachineSpec, Network } from '../../../src/config/types.js';
import type { Leases } from '../../../src/network/addresses.js';
import { peerHosts } from '../../../src/network/hosts.js';
import { machineNics, macFor } from '../../../src/network/nics.js';
import { environment, spec } from '../helpers.js';

const NETWORKS: Network[] = [
  { name: 'backend', type: 'private', cidr: '192.168.56.0/24', dhcp: true },
  { name: 'storage', type: 'private', cidr: '10.9.0.0/16', dhcp: false },
  { name: 'lan', type: 'bridged', interface: 'br0' },
];

const env = (machines: MachineSpec[]): Environment => ({ ...environment(machines), networks: NETWORKS });

const leases: Record<string, Leases> = {
  backend: { web: '192.168.56.2', db: '192.168.56.3' },
  storage: {},
};
const leasesOf = (network: string): Leases => leases[network] ?? {};

const attach = (network: string, over: Partial<MachineNetwork> = {}): MachineNetwork => ({
  network,
  dhcp: over.ip === undefined,
  ...over,
});

describe('macFor', () => {
  it('is the pinned formula the QEMU args use', () => {
    expect(macFor('/proj', 'web', 1)).toBe('52:54:00:18:cf:aa');
  });
});

describe('machineNics', () => {
  it('gives no NICs to a machine without networks', () => {
    const web = spec('web');
    expect(machineNics(env([web]), web, leasesOf)).toEqual([]);
  });

  it('numbers the NICs from 1, in attachment order, with static, allocated and bridged kinds', () => {
    const web = spec('web', {
      networks: [attach('backend'), attach('storage', { ip: '10.9.1.5' }), attach('lan')],
    });
    expect(machineNics(env([web]), web, leasesOf)).toEqual([
      {
        index: 1,
        network: 'backend',
        kind: 'private',
        mac: macFor('/proj', 'web', 1),
        ip: '192.168.56.2',
        prefix: 24,
        allocated: true,
      },
      {
        index: 2,
        network: 'storage',
        kind: 'private',
        mac: macFor('/proj', 'web', 2),
        ip: '10.9.1.5',
        prefix: 16,
        allocated: false,
      },
      { index: 3, network: 'lan', kind: 'bridged', mac: macFor('/proj', 'web', 3), bridge: 'br0' },
    ]);
  });

  it('keeps a MAC fixed in the Boxfile', () => {
    const web = spec('web', {
      networks: [
        attach('lan', { mac: 'aa:bb:cc:dd:ee:ff' }),
        attach('backend', { mac: '02:00:00:00:00:01' }),
      ],
    });
    expect(machineNics(env([web]), web, leasesOf).map((n) => n.mac)).toEqual([
      'aa:bb:cc:dd:ee:ff',
      '02:00:00:00:00:01',
    ]);
  });

  it('takes a static address over a lease', () => {
    const web = spec('web', { networks: [attach('backend', { ip: '192.168.56.50' })] });
    const [nic] = machineNics(env([web]), web, leasesOf);
    expect(nic).toMatchObject({ kind: 'private', ip: '192.168.56.50', allocated: false });
  });

  it('derives MACs from the project root and the machine name', () => {
    const db = spec('db', { networks: [attach('backend')] });
    const e = { ...env([db]), root: '/elsewhere' };
    expect(machineNics(e, db, leasesOf)[0]?.mac).toBe(macFor('/elsewhere', 'db', 1));
  });

  it.each<[string, MachineNetwork, string]>([
    ['an unknown network', attach('nowhere'), 'internal: unknown network nowhere passed validation'],
    [
      'a dhcp attachment without a lease',
      attach('storage'),
      'internal: no address allocated for web on storage',
    ],
  ])('throws on %s', (_, attachment, message) => {
    const web = spec('web', { networks: [attachment] });
    expect(() => machineNics(env([web]), web, leasesOf)).toThrow(message);
  });
});

describe('peerHosts', () => {
  it.each<[string, MachineSpec[], string, { ip: string; names: string[] }[]]>([
    [
      'peers on a shared private network, at their static or leased address, self excluded',
      [
        spec('web', { networks: [attach('backend')] }),
        spec('db', { networks: [attach('backend')] }),
        spec('cache', { networks: [attach('backend', { ip: '192.168.56.40' })] }),
      ],
      'web',
      [
        { ip: '192.168.56.3', names: ['db'] },
        { ip: '192.168.56.40', names: ['cache'] },
      ],
    ],
    [
      'hostname, its short form and the machine name, without duplicates',
      [
        spec('web', { networks: [attach('backend')] }),
        spec('db', { hostname: 'db1.example.test', networks: [attach('backend')] }),
        spec('cache', { hostname: 'cache.local', networks: [attach('backend', { ip: '192.168.56.40' })] }),
      ],
      'web',
      [
        { ip: '192.168.56.3', names: ['db1.example.test', 'db1', 'db'] },
        { ip: '192.168.56.40', names: ['cache.local', 'cache'] },
      ],
    ],
    [
      'not peers that share only a bridged network or none',
      [
        spec('web', { networks: [attach('backend'), attach('lan')] }),
        spec('db', { networks: [attach('lan')] }),
        spec('cache', { networks: [attach('storage', { ip: '10.9.0.9' })] }),
      ],
      'web',
      [],
    ],
    [
      'one entry per peer: the first shared network',
      [
        spec('web', { networks: [attach('backend'), attach('storage', { ip: '10.9.0.2' })] }),
        spec('db', { networks: [attach('storage', { ip: '10.9.0.3' }), attach('backend')] }),
      ],
      'web',
      [{ ip: '10.9.0.3', names: ['db'] }],
    ],
    [
      'skips a network the peer has no lease on yet, but uses the next shared one',
      [
        spec('web', { networks: [attach('backend'), attach('storage', { ip: '10.9.0.2' })] }),
        spec('queue', { networks: [attach('backend'), attach('storage', { ip: '10.9.0.4' })] }),
        spec('late', { networks: [attach('backend')] }),
      ],
      'web',
      [{ ip: '10.9.0.4', names: ['queue'] }],
    ],
  ])('%s', (_, machines, self, expected) => {
    const e = env(machines);
    const me = machines.find((m) => m.name === self);
    if (me === undefined) throw new Error('no self');
    expect(peerHosts(e, me, leasesOf)).toEqual(expected);
  });
});
