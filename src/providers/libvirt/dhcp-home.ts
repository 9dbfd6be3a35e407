// DHCP on a private network that spans hosts (#16). Each host has its own copy of the libvirt
// network (span.ts); exactly one of them, the network's "home", serves DHCP: its copy carries the
// gateway (.1) and dnsmasq with the reservation (MAC → the address boxfest allocated) of every
// machine on the network, whatever host it runs on. The other copies stay address-less bridges,
// as for a static network, and the VXLAN carries the DHCP broadcasts to the home and back. The
// addresses are the ones boxfest allocates on the laptop (network/leases.ts), so they are what
// the machines would get on one host.
//
// Why one server and not one per host with the same reservations: two dnsmasqs on one segment
// would both answer every DISCOVER, and each host's copy would hold the same gateway address on
// one segment (an ARP conflict). Why the first host by name: it depends only on which hosts
// the network's machines run on, not on the order of `machines:` or `hosts:` in the Boxfile, so
// reordering the file never moves the server; it moves only when a machine moves to or from a
// host that sorts first, which remakes the copies anyway (their addresses change).
//
// Pure: which host is home, and what each host's copy says.
import { formatIp, gatewayOf, parseCidr } from '../../config/rules/ipv4.js';
import type { Environment, Network } from '../../config/types.js';
import { BoxfestError, errorMessage } from '../../errors.js';
import type { DhcpHost } from './network-xml.js';
import { privateNetworkName } from './names.js';
import { hostsOf, VXLAN_OVERHEAD } from './span.js';

type PrivateNetwork = Extract<Network, { type: 'private' }>;

/** The host that serves a network's DHCP: the first by name of the hosts its machines run on. */
export function dhcpHome(env: Environment, network: string): string | undefined {
  return [...hostsOf(env, network)].sort()[0];
}

/** What one host's copy of a private network says: its DHCP server (or none) and its MTU. */
export interface NetworkCopy {
  dhcp: { gateway: string; prefix: number } | undefined;
  mtu: number | undefined;
}

/**
 * The copy of `net` on `host` (undefined: no `hosts:`, the one daemon). Without `hosts:` or on one
 * host, as ever: DHCP when the network has it. Spanning: DHCP on the home host only, and every
 * copy's MTU leaves room for VXLAN.
 */
export function networkCopy(env: Environment, net: PrivateNetwork, host: string | undefined): NetworkCopy {
  const on = hostsOf(env, net.name);
  const spanning = on.length > 1;
  const serves = net.dhcp && (host === undefined || !spanning || dhcpHome(env, net.name) === host);
  return {
    dhcp: serves ? gatewayPrefix(net) : undefined,
    mtu: spanning ? 1500 - VXLAN_OVERHEAD : undefined,
  };
}

function gatewayPrefix(net: PrivateNetwork): { gateway: string; prefix: number } {
  const cidr = parseCidr(net.cidr);
  if (cidr === undefined) throw new Error(`internal: invalid cidr ${net.cidr} passed validation`);
  return { gateway: formatIp(gatewayOf(cidr)), prefix: cidr.prefix };
}

/**
 * The home host a machine on `host` must also reach for `net` at its boot: another host's, when
 * the network spans with DHCP and its home is elsewhere; else undefined.
 */
export function remoteDhcpHome(
  env: Environment,
  net: PrivateNetwork,
  host: string | undefined,
): string | undefined {
  if (!net.dhcp || host === undefined || hostsOf(env, net.name).length < 2) return undefined;
  const home = dhcpHome(env, net.name);
  return home === host ? undefined : home;
}

/**
 * Whether `host`'s copy of the libvirt network `libvirtName` still serves machines on other hosts:
 * it is their network's DHCP home and holds a reservation of a machine the Boxfile puts on another
 * host. Such a copy stays (running) when the host's own machines on it halt or go, so a guest
 * elsewhere that reboots by itself still gets its lease; it goes with the last of those
 * reservations (each machine's destroy removes its own, wherever it ran).
 */
export function servesOtherHosts(
  env: Environment,
  host: string | undefined,
  libvirtName: string,
  reservations: readonly DhcpHost[],
): boolean {
  if (host === undefined) return false;
  const net = env.networks.find(
    (n) => n.type === 'private' && privateNetworkName(env, n.name) === libvirtName,
  );
  if (net?.type !== 'private' || networkCopy(env, net, host).dhcp === undefined) return false;
  if (hostsOf(env, net.name).length < 2) return false;
  return reservations.some((r) => {
    const on = env.machines.find((m) => m.name === r.name)?.libvirt.host;
    return on !== undefined && on !== host;
  });
}

/** The URI of a `hosts:` entry, as its machines have it. */
export function hostUri(env: Environment, host: string): string {
  const m = env.machines.find((x) => x.libvirt.host === host);
  if (m === undefined) throw new Error(`internal: no machine runs on host ${host}`);
  return m.libvirt.uri;
}

/**
 * What making a network's DHCP home ready (or removing a reservation there) failed for `machine`
 * on another host: the original error's code (SSH_HOST_UNREACHABLE, say) and hint, and what it
 * was for. The machine's boot stops there, before its guest starts: a guest that would wait for a
 * lease no server gives.
 */
export function dhcpHomeFailed(
  machine: string,
  network: string,
  home: string,
  e: unknown,
  doing = "making it ready there for this machine's lease",
): BoxfestError {
  const cause = e instanceof BoxfestError ? e : undefined;
  return new BoxfestError(
    cause?.code ?? 'LIBVIRT_SPAN_FAILED',
    `network \`${network}\` has its DHCP server on host \`${home}\` (the first by name of the hosts it spans), and ${doing} failed: ${errorMessage(e)}`,
    {
      machine,
      ...(cause?.details === undefined ? {} : { details: cause.details }),
      hint: `${cause?.hint === undefined ? '' : `${cause.hint}; or `}bring host \`${home}\` back, or remove \`dhcp: true\` from \`${network}\` and give its machines static \`ip\` addresses`,
      cause: e,
    },
  );
}
