// Addresses on private networks. `dhcp: true` on a network whose provider runs no DHCP server
// (QEMU's VDE switch) means boxfest hands out the address itself: deterministically (the lowest
// free one, machines in Boxfile order), recorded in the network's leases file, and never given
// to another machine while the first one holds it. Pure functions here; leases.ts does the I/O.
import type { Environment, MachineSpec, Network } from '../config/types.js';
import { formatIp, gatewayOf, parseCidr, parseIp } from '../config/rules/ipv4.js';
import { BoxfestError } from '../errors.js';

/** machine → address, for one network. */
export type Leases = Record<string, string>;

type PrivateNetwork = Extract<Network, { type: 'private' }>;

/** Static addresses the Boxfile gives on `network` (every machine, selected or not). */
export function staticAddresses(env: Environment, network: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of env.machines)
    for (const a of m.networks) if (a.network === network && a.ip !== undefined) out.set(a.ip, m.name);
  return out;
}

/** Machines that need an allocated address on `network` (an attachment without `ip`). */
export function dhcpMachines(machines: readonly MachineSpec[], network: string): string[] {
  return machines.filter((m) => m.networks.some((a) => a.network === network && a.dhcp)).map((m) => m.name);
}

/**
 * Leases after giving every machine in `wanted` (in order) an address it does not have yet.
 * Existing leases are kept, unless a static address in the Boxfile now claims one or it is not in
 * the network's range (a wanted machine then gets a new address). Throws when the network is full.
 */
export function allocate(
  net: PrivateNetwork,
  env: Environment,
  wanted: readonly string[],
  current: Leases,
): Leases {
  const cidr = parseCidr(net.cidr);
  if (cidr === undefined) throw new Error(`internal: invalid cidr ${net.cidr} passed validation`);
  const statics = staticAddresses(env, net.name);
  const next: Leases = {};
  const taken = new Set<number>([...statics.keys()].map((ip) => parseIp(ip) ?? -1));
  const booting = new Set(wanted);
  for (const [machine, ip] of Object.entries(current)) {
    const n = parseIp(ip);
    // A machine not booting now keeps its lease as it is: its guest uses that address until its
    // next boot (even after a CIDR change, which needs that boot).
    if (!booting.has(machine)) {
      next[machine] = ip;
      if (n !== undefined) taken.add(n);
      continue;
    }
    if (n === undefined || statics.has(ip) || taken.has(n) || n <= gatewayOf(cidr) || n >= cidr.broadcast)
      continue;
    next[machine] = ip;
    taken.add(n);
  }
  for (const machine of wanted) {
    if (next[machine] !== undefined) continue;
    let n = gatewayOf(cidr) + 1;
    while (n < cidr.broadcast && taken.has(n)) n++;
    if (n >= cidr.broadcast)
      throw new BoxfestError(
        'NETWORK_FULL',
        `network \`${net.name}\` (${net.cidr}) has no free address left`,
        {
          machine,
          hint: 'use a larger CIDR, or destroy machines that no longer need an address on it',
        },
      );
    next[machine] = formatIp(n);
    taken.add(n);
  }
  return next;
}

export function prefixOf(net: PrivateNetwork): number {
  const cidr = parseCidr(net.cidr);
  if (cidr === undefined) throw new Error(`internal: invalid cidr ${net.cidr} passed validation`);
  return cidr.prefix;
}
