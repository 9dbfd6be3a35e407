// A machine's network interfaces beyond the provider's own NAT (NIC 0, which carries SSH and the
// forwarded ports): one per `networks:` attachment, in order, each with a stable MAC so the
// guest-side configuration can find its interface by MAC whatever the guest names it.
import { createHash } from 'node:crypto';
import type { Environment, MachineSpec } from '../config/types.js';
import { prefixOf, type Leases } from './addresses.js';

export type Nic =
  | {
      /** 1-based position among the machine's NICs (0 is the NAT). */
      index: number;
      network: string;
      kind: 'private';
      mac: string;
      /** Static (`ip`) or allocated (`dhcp: true`). */
      ip: string;
      prefix: number;
      allocated: boolean;
    }
  | { index: number; network: string; kind: 'bridged'; mac: string; /** Host bridge. */ bridge: string };

/** A stable, locally administered MAC per project, machine and NIC (QEMU's 52:54:00 prefix). */
export function macFor(project: string, machine: string, nic: number): string {
  const h = createHash('sha256').update(`${project}\0${machine}\0${nic}`).digest();
  return ['52', '54', '00', ...[h[0], h[1], h[2]].map((b) => (b ?? 0).toString(16).padStart(2, '0'))].join(
    ':',
  );
}

/**
 * The NICs of `spec`; `leasesOf(network)` gives the allocated addresses (allocate them first).
 * A `dhcp` attachment without a lease is a bug in the caller's order.
 */
export function machineNics(
  env: Environment,
  spec: MachineSpec,
  leasesOf: (network: string) => Leases,
): Nic[] {
  return spec.networks.map((a, i): Nic => {
    const index = i + 1;
    const net = env.networks.find((n) => n.name === a.network);
    if (net === undefined) throw new Error(`internal: unknown network ${a.network} passed validation`);
    const mac = a.mac ?? macFor(env.root, spec.name, index);
    if (net.type === 'bridged')
      return { index, network: net.name, kind: 'bridged', mac, bridge: net.interface };
    const ip = a.ip ?? leasesOf(net.name)[spec.name];
    if (ip === undefined) throw new Error(`internal: no address allocated for ${spec.name} on ${net.name}`);
    return {
      index,
      network: net.name,
      kind: 'private',
      mac,
      ip,
      prefix: prefixOf(net),
      allocated: a.ip === undefined,
    };
  });
}
