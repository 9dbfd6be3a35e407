// The XML of the libvirt networks boxfest creates, and what it reads back from networks. Pure.
import { attr, child, children, esc, parseXml } from './xml.js';

export interface DhcpHost {
  mac: string;
  ip: string;
  name: string;
}

/**
 * The management network: NAT to the host's uplink, DHCP for every guest, the host on `.1`.
 * It carries SSH (the guest's lease address is routable from the host) and the guests' way out.
 * dnsmasq is told `no-ping`: before offering an address from the range it otherwise pings it and
 * waits for no answer, which held every new guest's first lease back by about 2 s (measured: the
 * tiny box's boot ended at 6.2 s of guest uptime against 4.2 s on QEMU's own DHCP). The range is
 * a subnet boxfest picked free on the host for this network alone, so nothing else holds its
 * addresses. (libvirt ≥ 5.6 reads the option; older daemons ignore the element.)
 */
export function managementNetworkXml(
  name: string,
  gateway: string,
  prefix: number,
  range: [string, string],
): string {
  return [
    `<network xmlns:dnsmasq='${DNSMASQ_NS}'>`,
    `  <name>${esc(name)}</name>`,
    `  <forward mode='nat'/>`,
    `  <bridge stp='on' delay='0'/>`,
    `  <ip address='${esc(gateway)}' prefix='${prefix}'>`,
    `    <dhcp>`,
    `      <range start='${esc(range[0])}' end='${esc(range[1])}'/>`,
    `    </dhcp>`,
    `  </ip>`,
    `  <dnsmasq:options>`,
    `    <dnsmasq:option value='no-ping'/>`,
    `  </dnsmasq:options>`,
    `</network>`,
    '',
  ].join('\n');
}

/** libvirt's namespace for options passed to the network's dnsmasq as they are. */
const DNSMASQ_NS = 'http://libvirt.org/schemas/network/dnsmasq/1.0';

/**
 * A private network: isolated (no <forward>: nothing leaves it). Without DHCP it has no address
 * of the host either, like QEMU's switch, so two projects may use the same CIDR. With `dhcp: true`
 * the host is its `.1` and dnsmasq answers each machine with the address boxfest allocated for it
 * (one <host> per NIC, no range: nothing else gets an address).
 */
export function privateNetworkXml(
  name: string,
  dhcp: { gateway: string; prefix: number; hosts: DhcpHost[] } | undefined,
  mtu?: number,
): string {
  return [
    `<network>`,
    `  <name>${esc(name)}</name>`,
    `  <bridge stp='on' delay='0'/>`,
    // Given to the guests' virtio NICs (host_mtu): a network carried between hosts in VXLAN has
    // 50 bytes less room per frame than the wire, and a full-size frame would be dropped.
    ...(mtu === undefined ? [] : [`  <mtu size='${mtu}'/>`]),
    ...(dhcp === undefined
      ? []
      : [
          `  <ip address='${esc(dhcp.gateway)}' prefix='${dhcp.prefix}'>`,
          `    <dhcp>`,
          ...dhcp.hosts.map((h) => `      ${dhcpHostXml(h)}`),
          `    </dhcp>`,
          `  </ip>`,
        ]),
    `</network>`,
    '',
  ].join('\n');
}

export function dhcpHostXml(h: DhcpHost): string {
  return `<host mac='${esc(h.mac)}' name='${esc(h.name)}' ip='${esc(h.ip)}'/>`;
}

export interface NetworkFacts {
  forward: string | undefined;
  bridge: string | undefined;
  /** Its IPv4 addresses as `a.b.c.d/prefix` (the host's side). */
  addresses: string[];
  hasDhcp: boolean;
  hosts: DhcpHost[];
  /** `<mtu size>`, when set. */
  mtu: number | undefined;
}

const PREFIX_OF_MASK = (mask: string) =>
  mask
    .split('.')
    .map((o) => Number(o).toString(2))
    .join('')
    .replace(/0/g, '').length;

export function networkFacts(xml: string): NetworkFacts {
  const n = parseXml(xml);
  const ips = children(n, 'ip').filter((ip) => (attr(ip, 'family') ?? 'ipv4') === 'ipv4');
  const dhcps = ips.flatMap((ip) => children(ip, 'dhcp'));
  return {
    forward: attr(child(n, 'forward'), 'mode'),
    bridge: attr(child(n, 'bridge'), 'name'),
    addresses: ips.flatMap((ip) => {
      const a = attr(ip, 'address');
      const prefix =
        attr(ip, 'prefix') ??
        (attr(ip, 'netmask') === undefined ? undefined : String(PREFIX_OF_MASK(attr(ip, 'netmask')!)));
      return a === undefined || prefix === undefined ? [] : [`${a}/${prefix}`];
    }),
    hasDhcp: dhcps.length > 0,
    mtu: attr(child(n, 'mtu'), 'size') === undefined ? undefined : Number(attr(child(n, 'mtu'), 'size')),
    hosts: dhcps.flatMap((d) =>
      children(d, 'host').map((h) => ({
        mac: attr(h, 'mac') ?? '',
        ip: attr(h, 'ip') ?? '',
        name: attr(h, 'name') ?? '',
      })),
    ),
  };
}
