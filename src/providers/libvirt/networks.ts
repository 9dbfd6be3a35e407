// The libvirt networks of a machine's NICs: the management network (NAT + DHCP, carries SSH),
// one isolated network per private network of the project (created on first use, removed when
// no domain uses it), and bridged NICs resolved to a bridge or a macvtap on a host interface.
import { existsSync, readFileSync } from 'node:fs';
import type { Environment, Network } from '../../config/types.js';
import { parseCidr, parseIp } from '../../config/rules/ipv4.js';
import { BoxfestError } from '../../errors.js';
import type { Nic } from '../../network/nics.js';
import type { LibvirtClient } from './client.js';
import type { NetworkCopy } from './dhcp-home.js';
import type { DomainNic } from './domain-xml.js';
import { domainFacts } from './domain-xml.js';
import { isCode } from './errors.js';
import { isPrivateNetworkOf, privateNetworkName } from './names.js';
import {
  dhcpHostXml,
  managementNetworkXml,
  networkFacts,
  privateNetworkXml,
  type DhcpHost,
} from './network-xml.js';
import { Flags } from './rpc/procedures.js';
import type { NetworkRef } from './rpc/wire.js';
import { attr, parseXml } from './xml.js';

export async function findNetwork(c: LibvirtClient, name: string): Promise<NetworkRef | undefined> {
  try {
    return await c.api.lookupNetwork(name);
  } catch (e) {
    if (isCode(e, 'LIBVIRT_NO_NETWORK')) return undefined;
    throw e;
  }
}

/** Starts a defined network; a subnet or bridge already taken on the host is said so. */
async function start(c: LibvirtClient, net: NetworkRef, what: string): Promise<void> {
  if (await c.api.networkIsActive(net)) return;
  try {
    await c.api.startNetwork(net);
  } catch (e) {
    // Another boxfest started it meanwhile.
    if (await c.api.networkIsActive(net)) return;
    if (e instanceof BoxfestError && /already in use|in use by/i.test(e.message))
      throw new BoxfestError(
        'LIBVIRT_NETWORK_IN_USE',
        `${what} cannot start: ${e.message.replace(/^libvirt: /, '')}`,
        {
          details: e.details,
          hint: 'another network on the libvirt host has that address range: give this network another `cidr`, or stop the other one',
        },
      );
    throw e;
  }
}

/** Defines a network; when another process defined it meanwhile, that one. */
async function define(c: LibvirtClient, name: string, xml: string): Promise<NetworkRef> {
  try {
    return await c.api.defineNetwork(xml);
  } catch (e) {
    const now = await findNetwork(c, name);
    if (now !== undefined) return now;
    throw e;
  }
}

/** IPv4 ranges taken on the libvirt host: every libvirt network's, and this host's routes when it is local. */
async function takenRanges(c: LibvirtClient): Promise<{ network: number; broadcast: number }[]> {
  const out: { network: number; broadcast: number }[] = [];
  for (const n of await c.api.listAllNetworks())
    for (const a of networkFacts(await c.api.networkXml(n)).addresses) {
      const cidr = parseCidr(a);
      if (cidr !== undefined) out.push({ network: cidr.network, broadcast: cidr.broadcast });
    }
  if (c.uri.transport === 'unix' && existsSync('/proc/net/route'))
    for (const line of readFileSync('/proc/net/route', 'utf8').split('\n').slice(1)) {
      const [, dest, , , , , , mask] = line.trim().split(/\s+/);
      if (dest === undefined || mask === undefined || mask === '00000000') continue;
      const le = (hex: string) => Buffer.from(hex, 'hex').readUInt32LE(0);
      const network = le(dest);
      const bits = le(mask);
      out.push({ network, broadcast: (network | (~bits >>> 0)) >>> 0 });
    }
  return out;
}

/** The first 192.168.N.0/24 (N from 124) that no network or route on the libvirt host overlaps. */
async function freeSubnet(c: LibvirtClient): Promise<{ gateway: string; first: string; last: string }> {
  const taken = await takenRanges(c);
  for (let n = 124; n < 255; n++) {
    const net = parseIp(`192.168.${n}.0`)!;
    const bc = net + 255;
    if (taken.some((t) => t.network <= bc && net <= t.broadcast)) continue;
    return { gateway: `192.168.${n}.1`, first: `192.168.${n}.2`, last: `192.168.${n}.254` };
  }
  throw new BoxfestError('LIBVIRT_NETWORK_IN_USE', 'no free 192.168.N.0/24 left for the management network', {
    hint: 'create a NAT network with DHCP yourself and name it in `libvirt.management_network`',
  });
}

/**
 * The management network, running: the one the Boxfile names, created (NAT + DHCP on a free
 * /24, autostarted) when missing. It must hand out DHCP leases: that is how boxfest finds guests.
 */
export async function ensureManagementNetwork(c: LibvirtClient, name: string): Promise<NetworkRef> {
  let net = await findNetwork(c, name);
  if (net === undefined) {
    const s = await freeSubnet(c);
    net = await define(c, name, managementNetworkXml(name, s.gateway, 24, [s.first, s.last]));
    await c.api.setNetworkAutostart(net, true);
  } else if (!networkFacts(await c.api.networkXml(net)).hasDhcp)
    throw new BoxfestError('LIBVIRT_NO_ADDRESS', `the management network \`${name}\` has no DHCP server`, {
      hint: 'boxfest finds guests by their DHCP lease: add <dhcp> to that network, or name another one in `libvirt.management_network`',
    });
  await start(c, net, `the management network \`${name}\``);
  return net;
}

/** The address a private NIC gets from dnsmasq when its network has `dhcp: true`. */
export function dhcpHostsOf(machine: string, nics: readonly Nic[], network: string): DhcpHost[] {
  return nics.flatMap((n) =>
    n.kind === 'private' && n.network === network ? [{ mac: n.mac, ip: n.ip, name: machine }] : [],
  );
}

/** Names of the networks any domain on the host is attached to (defined or running). */
async function networksInUse(c: LibvirtClient, running: boolean): Promise<Set<string>> {
  const used = new Set<string>();
  for (const d of await c.api.listAllDomains(running ? 1 : 0)) {
    let xml: string;
    try {
      xml = await c.api.domainXml(d, running ? 0 : Flags.XML_INACTIVE);
    } catch (e) {
      if (isCode(e, 'LIBVIRT_NO_DOMAIN')) continue; // undefined meanwhile (another machine's destroy)
      throw e;
    }
    for (const n of domainFacts(xml).networks) used.add(n);
  }
  return used;
}

/**
 * A private network of the project, running, as `copy` says this host's copy of it is (its DHCP
 * server or none, its MTU: dhcp-home.ts), with a DHCP host entry for each of `hosts` (a machine's
 * NICs on it) when it serves DHCP. A network whose definition changed (CIDR, DHCP, MTU, the
 * spanning network's DHCP home) is made anew when no running domain is on it.
 */
export async function ensurePrivateNetwork(
  c: LibvirtClient,
  env: Environment,
  net: Extract<Network, { type: 'private' }>,
  copy: NetworkCopy,
  hosts: DhcpHost[],
): Promise<string> {
  const name = privateNetworkName(env, net.name);
  const { dhcp, mtu } = copy;
  let ref = await findNetwork(c, name);
  if (ref !== undefined) {
    const facts = networkFacts(await c.api.networkXml(ref, Flags.NETWORK_XML_INACTIVE));
    const same =
      facts.mtu === mtu &&
      (dhcp === undefined
        ? facts.addresses.length === 0
        : facts.hasDhcp &&
          facts.addresses.length === 1 &&
          facts.addresses[0] === `${dhcp.gateway}/${dhcp.prefix}`);
    if (!same) {
      if ((await networksInUse(c, true)).has(name))
        throw new BoxfestError(
          'LIBVIRT_NETWORK_IN_USE',
          `network \`${net.name}\` changed, but running machines are still on it`,
          {
            hint: 'halt every machine on it (`boxfest halt`), then `boxfest up`',
          },
        );
      await removeNetwork(c, ref);
      ref = undefined;
    } else if (dhcp !== undefined) {
      for (const h of hosts) {
        const old = facts.hosts.find((x) => x.mac === h.mac);
        if (old !== undefined && old.ip === h.ip && old.name === h.name) continue;
        const live = await c.api.networkIsActive(ref);
        const affect = Flags.NETWORK_UPDATE_AFFECT_CONFIG | (live ? Flags.NETWORK_UPDATE_AFFECT_LIVE : 0);
        if (old !== undefined)
          await c.api.updateNetwork(
            ref,
            Flags.NETWORK_UPDATE_DELETE,
            Flags.NETWORK_SECTION_IP_DHCP_HOST,
            dhcpHostXml(old),
            affect,
          );
        // Another machine's entry holding this address (it was destroyed while the network stayed).
        const squatter = facts.hosts.find((x) => x.ip === h.ip && x.mac !== h.mac);
        if (squatter !== undefined)
          await c.api.updateNetwork(
            ref,
            Flags.NETWORK_UPDATE_DELETE,
            Flags.NETWORK_SECTION_IP_DHCP_HOST,
            dhcpHostXml(squatter),
            affect,
          );
        await c.api.updateNetwork(
          ref,
          Flags.NETWORK_UPDATE_ADD_LAST,
          Flags.NETWORK_SECTION_IP_DHCP_HOST,
          dhcpHostXml(h),
          affect,
        );
      }
    }
  }
  if (ref === undefined)
    ref = await define(
      c,
      name,
      privateNetworkXml(name, dhcp === undefined ? undefined : { ...dhcp, hosts }, mtu),
    );
  await start(c, ref, `network \`${net.name}\``);
  return name;
}

/** Stops and undefines a network; one that another boxfest removed meanwhile is not an error. */
async function removeNetwork(c: LibvirtClient, ref: NetworkRef): Promise<void> {
  try {
    if (await c.api.networkIsActive(ref)) await c.api.destroyNetwork(ref);
    await c.api.undefineNetwork(ref);
  } catch (e) {
    if ((await findNetwork(c, ref.name)) !== undefined) throw e;
  }
}

/**
 * Whether a network no domain on the host uses must stay all the same: `keep(name, its DHCP
 * reservations)` (a spanning network's DHCP home serving other hosts: dhcp-home.ts).
 */
export type KeepNetwork = (name: string, reservations: DhcpHost[]) => boolean;

/**
 * Private networks of the project that no running domain uses are stopped (kept defined), as the
 * QEMU provider's switches stop with their last machine; the next boot on them starts them again.
 */
export async function stopUnusedPrivateNetworks(
  c: LibvirtClient,
  env: Environment,
  keep: KeepNetwork = () => false,
): Promise<string[]> {
  const ours = (await c.api.listAllNetworks()).filter((n) => isPrivateNetworkOf(env, n.name));
  if (ours.length === 0) return [];
  const used = await networksInUse(c, true);
  const stopped: string[] = [];
  for (const n of ours) {
    if (used.has(n.name) || !(await c.api.networkIsActive(n))) continue;
    if (keep(n.name, networkFacts(await c.api.networkXml(n, Flags.NETWORK_XML_INACTIVE)).hosts)) continue;
    try {
      await c.api.destroyNetwork(n);
      stopped.push(n.name);
    } catch (e) {
      if (await c.api.networkIsActive(n)) throw e;
    }
  }
  return stopped;
}

/**
 * After a machine is gone: its DHCP host entries (its `macs`, or named for `machine`: its
 * reservations on another host's copy, dhcp-home.ts) leave the project's networks, and a network
 * of the project that no domain on the host uses any more is removed, unless `keep` says it stays.
 */
export async function releasePrivateNetworks(
  c: LibvirtClient,
  env: Environment,
  gone: { macs: readonly string[]; machine: string },
  keep: KeepNetwork = () => false,
): Promise<string[]> {
  const ours = (await c.api.listAllNetworks()).filter((n) => isPrivateNetworkOf(env, n.name));
  if (ours.length === 0) return [];
  const used = await networksInUse(c, false);
  const removed: string[] = [];
  const isGone = (h: DhcpHost) => gone.macs.includes(h.mac.toLowerCase()) || h.name === gone.machine;
  for (const n of ours) {
    const facts = networkFacts(await c.api.networkXml(n, Flags.NETWORK_XML_INACTIVE));
    if (
      !used.has(n.name) &&
      !keep(
        n.name,
        facts.hosts.filter((h) => !isGone(h)),
      )
    ) {
      await removeNetwork(c, n);
      removed.push(n.name);
      continue;
    }
    const live = await c.api.networkIsActive(n);
    for (const h of facts.hosts.filter(isGone))
      await c.api.updateNetwork(
        n,
        Flags.NETWORK_UPDATE_DELETE,
        Flags.NETWORK_SECTION_IP_DHCP_HOST,
        dhcpHostXml(h),
        Flags.NETWORK_UPDATE_AFFECT_CONFIG | (live ? Flags.NETWORK_UPDATE_AFFECT_LIVE : 0),
      );
  }
  return removed;
}

/**
 * A bridged NIC on the libvirt host's interface: `<interface type='bridge'>` when it is a Linux
 * bridge, else macvtap (`type='direct'`, mode bridge) on it. Asked of libvirt's interface driver;
 * where that driver is missing, a local host's /sys says.
 */
export async function bridgedNic(
  c: LibvirtClient,
  machine: string,
  network: string,
  iface: string,
  mac: string,
): Promise<DomainNic> {
  let isBridge: boolean;
  try {
    const xml = await c.api.interfaceXml(await c.api.lookupInterface(iface));
    isBridge = attr(parseXml(xml), 'type') === 'bridge';
  } catch (e) {
    if (isCode(e, 'LIBVIRT_NO_INTERFACE'))
      throw new BoxfestError(
        'LIBVIRT_NO_INTERFACE',
        `bridged network \`${network}\`: the libvirt host has no interface \`${iface}\``,
        {
          machine,
          hint: "set `networks.NAME.interface` to one of the host's interfaces (`virsh iface-list --all`, or `ip link` on the host)",
        },
      );
    if (!isCode(e, 'LIBVIRT_UNSUPPORTED') || c.uri.transport !== 'unix') throw e;
    if (!existsSync(`/sys/class/net/${iface}`))
      throw new BoxfestError(
        'LIBVIRT_NO_INTERFACE',
        `bridged network \`${network}\`: this host has no interface \`${iface}\``,
        {
          machine,
          hint: "set `networks.NAME.interface` to one of the host's interfaces (`ip link`)",
        },
      );
    isBridge = existsSync(`/sys/class/net/${iface}/bridge`);
  }
  return isBridge ? { kind: 'bridge', bridge: iface, mac } : { kind: 'direct', dev: iface, mac };
}
