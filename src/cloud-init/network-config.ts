// cloud-init network-config (version 2) for a machine: its management NIC (the provider's NAT,
// DHCP) and one entry per `networks:` attachment, each matched by its MAC and given a fixed name
// (cloud-init 22.4's networkd renderer writes `Name=<key>` next to `MACAddress=`, so the key must
// be the name the NIC ends up with: `set-name` renames it at every boot). Private networks get
// their static or boxfest-allocated address, bridged ones DHCP from the LAN, so nothing is left
// for configure-network to set on such a guest. Pure.
import type { Nic } from '../network/nics.js';

export type SeedNic = Nic | { index: 0; kind: 'management'; mac: string };

/** The name a NIC gets in the guest: eth0 (management), eth1... in attachment order. */
export const guestIfaceName = (nic: { index: number }): string => `eth${nic.index}`;

export function networkConfig(nics: readonly SeedNic[]): Record<string, unknown> {
  const ethernets: Record<string, unknown> = {};
  for (const n of [...nics].sort((a, b) => a.index - b.index)) {
    const name = guestIfaceName(n);
    const common = { match: { macaddress: n.mac.toLowerCase() }, 'set-name': name };
    ethernets[name] =
      n.kind === 'private'
        ? { ...common, dhcp4: false, addresses: [`${n.ip}/${n.prefix}`] }
        : { ...common, dhcp4: true };
  }
  return { version: 2, ethernets };
}
