// Address allocation on private networks: pure functions, asserted value by value.

import { describe, expect, it } from 'vitest';
import type { Environment, MachineNetwork, Network } from '../../../src/config/types.js';
import { BoxfestError } from '../../../src/errors.js';
import {
  allocate,
  dhcpMachines,
  prefixOf,
  staticAddresses,
  type Leases,
} from '../../../src/network/addresses.js';
import { environment, spec } from '../helpers.js';

type PrivateNetwork = Extract<Network, { type: 'private' }>;

const net = (cidr = '192.168.56.0/24', name = 'backend'): PrivateNetwork => ({
  name,
  type: 'private',
  cidr,
  dhcp: true,
});

const onNet = (ip?: string, network = 'backend'): MachineNetwork =>
  ip === undefined ? { network, dhcp: true } : { network, ip, dhcp: false };

/** An environment whose machines each have the given attachments. */
function envWith(machines: Record<string, MachineNetwork[]>, networks: Network[] = [net()]): Environment {
  return {
    ...environment(Object.entries(machines).map(([name, nets]) => spec(name, { networks: nets }))),
    networks,
  };
}

describe('staticAddresses', () => {
  it('maps every static address on the network to its machine, ignoring dhcp and other networks', () => {
    const env = envWith(
      {
        web: [onNet('192.168.56.10'), onNet('10.0.0.5', 'other')],
        db: [onNet()],
        cache: [onNet('192.168.56.20')],
      },
      [net(), net('10.0.0.0/24', 'other')],
    );
    expect([...staticAddresses(env, 'backend')]).toEqual([
      ['192.168.56.10', 'web'],
      ['192.168.56.20', 'cache'],
    ]);
    expect([...staticAddresses(env, 'other')]).toEqual([['10.0.0.5', 'web']]);
    expect([...staticAddresses(env, 'nowhere')]).toEqual([]);
  });
});

describe('dhcpMachines', () => {
  it.each<[string, Record<string, MachineNetwork[]>, string[]]>([
    ['none attached', { web: [], db: [] }, []],
    ['static only', { web: [onNet('192.168.56.10')] }, []],
    [
      'dhcp machines in order',
      { web: [onNet()], db: [onNet('192.168.56.9')], cache: [onNet()] },
      ['web', 'cache'],
    ],
    ['dhcp on another network only', { web: [onNet(undefined, 'other')] }, []],
  ])('%s', (_, machines, expected) => {
    expect(dhcpMachines(envWith(machines).machines, 'backend')).toEqual(expected);
  });
});

describe('prefixOf', () => {
  it.each([
    ['192.168.56.0/24', 24],
    ['10.0.0.0/8', 8],
    ['172.16.4.0/30', 30],
  ])('%s has prefix %i', (cidr, prefix) => {
    expect(prefixOf(net(cidr))).toBe(prefix);
  });

  it('throws on an invalid cidr (validation should have caught it)', () => {
    expect(() => prefixOf(net('nope'))).toThrow('internal: invalid cidr nope passed validation');
  });
});

describe('allocate', () => {
  it.each<[string, string, Record<string, MachineNetwork[]>, string[], Leases, Leases]>([
    [
      'lowest free addresses after the gateway, in wanted order',
      '192.168.56.0/24',
      { web: [onNet()], db: [onNet()] },
      ['web', 'db'],
      {},
      { web: '192.168.56.2', db: '192.168.56.3' },
    ],
    [
      'skips static addresses',
      '192.168.56.0/24',
      { web: [onNet('192.168.56.2')], db: [onNet()], cache: [onNet()] },
      ['db', 'cache'],
      {},
      { db: '192.168.56.3', cache: '192.168.56.4' },
    ],
    [
      'keeps existing leases and fills the gaps around them',
      '192.168.56.0/24',
      { web: [onNet()], db: [onNet()] },
      ['web', 'db'],
      { db: '192.168.56.2' },
      { db: '192.168.56.2', web: '192.168.56.3' },
    ],
    [
      'keeps a lease of a machine not wanted now',
      '192.168.56.0/24',
      { web: [onNet()], db: [onNet()] },
      ['db'],
      { web: '192.168.56.2' },
      { web: '192.168.56.2', db: '192.168.56.3' },
    ],
    [
      'moves a lease that a static address now claims',
      '192.168.56.0/24',
      { web: [onNet()], db: [onNet('192.168.56.2')] },
      ['web'],
      { web: '192.168.56.2' },
      { web: '192.168.56.3' },
    ],
    [
      'drops leases outside the usable range (gateway, broadcast, other network, garbage)',
      '192.168.56.0/24',
      { a: [onNet()], b: [onNet()], c: [onNet()], d: [onNet()] },
      ['a', 'b', 'c', 'd'],
      { a: '192.168.56.1', b: '192.168.56.255', c: 'garbage', d: '192.168.56.0' },
      { a: '192.168.56.2', b: '192.168.56.3', c: '192.168.56.4', d: '192.168.56.5' },
    ],
    [
      'a new CIDR: leases from the old one are given again from the new one',
      '10.9.0.0/24',
      { a: [onNet()], b: [onNet()] },
      ['a', 'b'],
      { a: '192.168.56.2', b: '10.8.0.3' },
      { a: '10.9.0.2', b: '10.9.0.3' },
    ],
    [
      'a machine not booting keeps its lease from the old CIDR (its guest still uses it)',
      '10.9.0.0/24',
      { a: [onNet()], b: [onNet()] },
      ['b'],
      { a: '192.168.56.2', b: '192.168.56.3' },
      { a: '192.168.56.2', b: '10.9.0.2' },
    ],
    [
      'two leases on the same address: the first one keeps it',
      '192.168.56.0/24',
      { a: [onNet()], b: [onNet()] },
      ['a', 'b'],
      { a: '192.168.56.7', b: '192.168.56.7' },
      { a: '192.168.56.7', b: '192.168.56.2' },
    ],
    [
      'a /30 has exactly one address for machines',
      '10.1.2.0/30',
      { a: [onNet()] },
      ['a'],
      {},
      { a: '10.1.2.2' },
    ],
    [
      'host bits in the cidr do not matter',
      '192.168.56.77/24',
      { a: [onNet()] },
      ['a'],
      {},
      { a: '192.168.56.2' },
    ],
  ])('%s', (_, cidr, machines, wanted, current, expected) => {
    const network = net(cidr);
    expect(allocate(network, envWith(machines, [network]), wanted, current)).toEqual(expected);
  });

  it('does not modify the current leases', () => {
    const current: Leases = { web: '192.168.56.9' };
    allocate(net(), envWith({ web: [onNet()], db: [onNet()] }), ['web', 'db'], current);
    expect(current).toEqual({ web: '192.168.56.9' });
  });

  it('throws NETWORK_FULL naming the network and the machine', () => {
    const network = net('10.1.2.0/30');
    const env = envWith({ a: [onNet()], b: [onNet()] }, [network]);
    let error: unknown;
    try {
      allocate(network, env, ['a', 'b'], {});
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(BoxfestError);
    const e = error as BoxfestError;
    expect(e.code).toBe('NETWORK_FULL');
    expect(e.message).toBe('network `backend` (10.1.2.0/30) has no free address left');
    expect(e.machine).toBe('b');
  });

  it('throws NETWORK_FULL when statics fill the network', () => {
    const network = net('10.1.2.0/30');
    const env = envWith({ s: [onNet('10.1.2.2')], a: [onNet()] }, [network]);
    expect(() => allocate(network, env, ['a'], {})).toThrow(BoxfestError);
  });

  it('throws on an invalid cidr', () => {
    const network = net('1.2.3.4');
    expect(() => allocate(network, envWith({}, [network]), [], {})).toThrow(
      'internal: invalid cidr 1.2.3.4 passed validation',
    );
  });
});
