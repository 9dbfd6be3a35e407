// DHCP on a private network that spans hosts (dhcp-home.ts): which host serves it, and the network
// XML each host's copy gets: the home's carries the gateway, dnsmasq and every machine's
// reservation; the others are address-less bridges; all leave room for VXLAN.
import { describe, expect, it } from 'vitest';
import type { Network } from '../../../src/config/types.js';
import { BoxfestError } from '../../../src/errors.js';
import {
  dhcpHome,
  dhcpHomeFailed,
  networkCopy,
  remoteDhcpHome,
  servesOtherHosts,
} from '../../../src/providers/libvirt/dhcp-home.js';
import { networkFacts, privateNetworkXml } from '../../../src/providers/libvirt/network-xml.js';
import { privateNetworkName } from '../../../src/providers/libvirt/names.js';
import { environment, yaml } from '../config/helpers.js';

/** A Boxfile with hosts zeta, rack2, rack1 (in that order) and `machines` as `name: host` (static: each an `ip`). */
const envWith = (dhcp: boolean, machines: Record<string, string>) =>
  environment(
    yaml(
      'version: 1',
      'provider: libvirt',
      'hosts:',
      '  zeta: { uri: "qemu+ssh://ops@zeta.lan/system" }',
      '  rack2: { uri: "qemu+ssh://ops@rack2.lan/system" }',
      '  rack1: { uri: "qemu+ssh://ops@rack1.lan/system" }',
      `networks: { backend: { type: private, cidr: 10.20.0.0/24, dhcp: ${dhcp} } }`,
      'machines:',
      ...Object.entries(machines).map(
        ([m, h], i) =>
          `  ${m}: { box: tiny, host: ${h}, networks: [{ network: backend${dhcp ? '' : `, ip: 10.20.0.${10 + i}`} }] }`,
      ),
    ),
  );

const backend = (env: ReturnType<typeof envWith>) =>
  env.networks.find((n) => n.name === 'backend') as Extract<Network, { type: 'private' }>;

describe('the DHCP home of a spanning network', () => {
  it.each<[string, Record<string, string>, string | undefined]>([
    ['one host: that one', { a: 'rack2', b: 'rack2' }, 'rack2'],
    ['the first by name, not by machine order', { a: 'rack2', b: 'rack1' }, 'rack1'],
    ['nor by the order of `hosts:`', { a: 'zeta', b: 'rack2' }, 'rack2'],
    ['three hosts', { a: 'zeta', b: 'rack2', c: 'rack1' }, 'rack1'],
  ])('%s', (_name, machines, home) => {
    expect(dhcpHome(envWith(true, machines), 'backend')).toBe(home);
  });

  it('is the same whatever order the machines are written in', () => {
    const one = envWith(true, { a: 'zeta', b: 'rack2', c: 'rack1' });
    const other = envWith(true, { c: 'rack1', a: 'zeta', b: 'rack2' });
    expect(dhcpHome(one, 'backend')).toBe(dhcpHome(other, 'backend'));
  });
});

describe("each host's copy of the network", () => {
  const reservations = [
    { mac: '52:54:00:00:00:01', ip: '10.20.0.2', name: 'a' },
    { mac: '52:54:00:00:00:02', ip: '10.20.0.3', name: 'b' },
  ];
  /** The facts of the XML a host's copy is defined with. */
  const copyOn = (env: ReturnType<typeof envWith>, host: string | undefined) => {
    const copy = networkCopy(env, backend(env), host);
    const xml = privateNetworkXml(
      privateNetworkName(env, 'backend'),
      copy.dhcp === undefined ? undefined : { ...copy.dhcp, hosts: reservations },
      copy.mtu,
    );
    const f = networkFacts(xml);
    return { addresses: f.addresses, dhcp: f.hasDhcp, reserved: f.hosts.map((h) => h.name), mtu: f.mtu };
  };
  const serving = { addresses: ['10.20.0.1/24'], dhcp: true, reserved: ['a', 'b'] };
  const bare = { addresses: [], dhcp: false, reserved: [] };

  it.each<[string, boolean, Record<string, string>, string, object]>([
    [
      'one host, DHCP: served there, full MTU',
      true,
      { a: 'rack1', b: 'rack1' },
      'rack1',
      { ...serving, mtu: undefined },
    ],
    ['spanning, DHCP, the home', true, { a: 'rack2', b: 'rack1' }, 'rack1', { ...serving, mtu: 1450 }],
    ['spanning, DHCP, another host', true, { a: 'rack2', b: 'rack1' }, 'rack2', { ...bare, mtu: 1450 }],
    ['spanning, static, the first host', false, { a: 'rack2', b: 'rack1' }, 'rack1', { ...bare, mtu: 1450 }],
    ['one host, static', false, { a: 'rack1' }, 'rack1', { ...bare, mtu: undefined }],
  ])('%s', (_name, dhcp, machines, host, want) => {
    expect(copyOn(envWith(dhcp, machines), host)).toEqual(want);
  });

  it('without `hosts:` (one daemon) a DHCP network is served as ever', () => {
    const env = environment(
      yaml(
        'version: 1',
        'provider: libvirt',
        'networks: { backend: { type: private, cidr: 10.20.0.0/24, dhcp: true } }',
        'machines:',
        '  a: { box: tiny, networks: [{ network: backend }] }',
      ),
    );
    expect(networkCopy(env, backend(env), undefined)).toEqual({
      dhcp: { gateway: '10.20.0.1', prefix: 24 },
      mtu: undefined,
    });
    expect(remoteDhcpHome(env, backend(env), undefined)).toBeUndefined();
  });
});

describe('what a machine reaches, and what the home keeps', () => {
  const env = envWith(true, { a: 'rack1', b: 'rack2', c: 'zeta' });
  const name = privateNetworkName(env, 'backend');
  const r = (machine: string) => ({ mac: '52:54:00:00:00:09', ip: '10.20.0.9', name: machine });

  it.each<[string, string, string | undefined]>([
    ['the home itself', 'rack1', undefined],
    ['another host', 'rack2', 'rack1'],
    ['a third host', 'zeta', 'rack1'],
  ])('a machine on %s boots with the home made ready on: %s', (_name, host, want) => {
    expect(remoteDhcpHome(env, backend(env), host)).toBe(want);
  });

  it('a static spanning network has no home to reach', () => {
    const s = envWith(false, { a: 'rack1', b: 'rack2' });
    expect(remoteDhcpHome(s, backend(s), 'rack2')).toBeUndefined();
  });

  it.each<[string, string, string[], boolean]>([
    ['home, a reservation of a machine elsewhere', 'rack1', ['b'], true],
    ['home, only its own machine', 'rack1', ['a'], false],
    ['home, no reservations left', 'rack1', [], false],
    ['home, a machine no longer in the Boxfile', 'rack1', ['gone'], false],
    ['not the home', 'rack2', ['a', 'c'], false],
  ])('the copy stays without its own domains: %s', (_name, host, reserved, keep) => {
    expect(servesOtherHosts(env, host, name, reserved.map(r))).toBe(keep);
  });

  it('another network of the project is never kept', () => {
    expect(servesOtherHosts(env, 'rack1', privateNetworkName(env, 'other'), [r('b')])).toBe(false);
  });
});

describe('a DHCP home that cannot be reached', () => {
  it.each<[string, unknown, string, string]>([
    [
      "the host's own error: its code and hint kept, what it was for said",
      new BoxfestError('SSH_HOST_UNREACHABLE', 'cannot reach 10.77.0.1:22: connection refused', {
        hint: 'is the host up?',
      }),
      'SSH_HOST_UNREACHABLE',
      'is the host up?; or bring host `rack1` back, or remove `dhcp: true` from `backend` and give its machines static `ip` addresses',
    ],
    [
      'anything else',
      new Error('socket hang up'),
      'LIBVIRT_SPAN_FAILED',
      'bring host `rack1` back, or remove `dhcp: true` from `backend` and give its machines static `ip` addresses',
    ],
  ])('%s', (_name, cause, code, hint) => {
    const e = dhcpHomeFailed('b', 'backend', 'rack1', cause);
    expect([e.code, e.machine, e.hint]).toEqual([code, 'b', hint]);
    expect(e.message).toMatch(
      /^network `backend` has its DHCP server on host `rack1` \(the first by name of the hosts it spans\), and making it ready there for this machine's lease failed: (cannot reach|socket hang up)/,
    );
  });
});
