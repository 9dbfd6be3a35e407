// Networks: definitions (a usable CIDR), attachments (an existing network, an address inside it
// that is not reserved and not taken, DHCP only where there is a server), MACs, forwarded ports.
//
// Conventions: IPv4 only. On a private network the first address of the CIDR (`.1` of a /24) is
// the gateway, the host's own address; machines get the addresses between it and the broadcast
// address. DHCP (an attachment without `ip`) needs `dhcp: true` on a private network; a bridged
// network always takes its address from the LAN's DHCP, so `ip` is not allowed there.

import { DNS_LABEL, hasControlChars, LINUX_IFNAME, quoteForMessage } from '../names.js';
import { didYouMean } from '../schema.js';
import type { Network } from '../types.js';
import type { KeyPath } from '../load.js';
import type { Rule } from './context.js';
import { writtenAt } from './context.js';
import { formatIp, gatewayOf, parseCidr, parseIp } from './ipv4.js';
import type { Cidr } from './ipv4.js';

export const networkDefinitions: Rule = ({ env, add }) => {
  const seen: { name: string; cidr: Cidr }[] = [];
  for (const net of env.networks) {
    // The name is a directory under .boxfest/networks/ and names the switch: `../x` must never be one.
    if (!DNS_LABEL.test(net.name))
      add(
        ['networks', net.name],
        'key',
        `network name ${quoteForMessage(net.name)} is not a valid DNS label`,
        'use lowercase letters, digits and hyphens (at most 63, not starting or ending with a hyphen)',
      );
    if (net.type === 'bridged') {
      const problem = interfaceProblem(net.interface, env.provider);
      if (problem !== undefined) add(['networks', net.name, 'interface'], 'value', problem[0], problem[1]);
      continue;
    }
    const cidr = parseCidr(net.cidr);
    const at = ['networks', net.name, 'cidr'];
    if (cidr === undefined) continue; // the schema's pattern already said so
    if (cidr.prefix > 30) {
      add(
        at,
        'value',
        `\`${net.cidr}\` leaves no address for machines`,
        'use a prefix of /30 or shorter, e.g. `/24`',
      );
      continue;
    }
    if (cidr.address !== cidr.network) {
      add(
        at,
        'value',
        `\`${net.cidr}\` is not a network address (host bits are set)`,
        `did you mean \`${formatIp(cidr.network)}/${cidr.prefix}\`?`,
      );
    }
    const overlap = seen.find((s) => s.cidr.network <= cidr.broadcast && cidr.network <= s.cidr.broadcast);
    if (overlap !== undefined) {
      add(
        at,
        'value',
        `\`${net.cidr}\` overlaps network \`${overlap.name}\``,
        'give each private network its own address range',
      );
    }
    seen.push({ name: net.name, cidr });
  }
};

/**
 * Why a bridged `interface` cannot be used, with a hint. QEMU passes it inside an option string to
 * its bridge helper, so it must be a Linux interface name; VirtualBox gets it as SOAP data, where
 * host NIC names may have spaces (`en0: Wi-Fi`), but never control characters.
 */
function interfaceProblem(name: string, provider: string): [string, string] | undefined {
  if (provider === 'qemu' && !LINUX_IFNAME.test(name))
    return [
      `${quoteForMessage(name)} is not a Linux interface name`,
      "use the bridge's name as `ip -br link show type bridge` prints it: at most 15 letters, digits, `_`, `.` or `-`",
    ];
  if (hasControlChars(name) || name.length > 255)
    return [
      `${quoteForMessage(name)} is not a host interface name`,
      'use the name VirtualBox lists for the host NIC',
    ];
  return undefined;
}

/** Why a fixed MAC cannot be a NIC's own address: multicast and broadcast reach many, zero none. */
export function macProblem(mac: string): string | undefined {
  const first = Number.parseInt(mac.slice(0, 2), 16);
  if (/^(00:){5}00$/.test(mac)) return 'is all zeros, which no NIC may use';
  if (/^(ff:){5}ff$/i.test(mac)) return 'is the broadcast address';
  if ((first & 1) === 1) return 'is a multicast address (its first byte is odd)';
  return undefined;
}

export const attachments: Rule = ({ env, written, listOrigin, add }) => {
  const byName = new Map<string, Network>(env.networks.map((n) => [n.name, n]));
  const taken = new Map<string, string>(); // `network ip` → machine
  const macs = new Map<string, string>(); // mac → machine
  for (const m of env.machines) {
    for (const [i, a] of m.networks.entries()) {
      const path = listOrigin(m, 'networks', i);
      const net = byName.get(a.network);
      if (net === undefined) {
        const known = [...byName.keys()];
        const hint =
          known.length === 0
            ? `define it under \`networks:\`, e.g. \`${a.network}: { type: private, cidr: 192.168.56.0/24 }\``
            : didYouMean(a.network, known)?.replace('allowed keys here', 'networks defined');
        add([...path, 'network'], 'value', `no network named \`${a.network}\``, hint);
        continue;
      }
      const macBad = a.mac === undefined ? undefined : macProblem(a.mac);
      if (a.mac !== undefined && macBad !== undefined)
        add(
          [...path, 'mac'],
          'value',
          `MAC address \`${a.mac}\` ${macBad}`,
          'use a unicast, locally administered address, e.g. `52:54:00:12:34:56`',
        );
      else if (a.mac !== undefined) {
        const other = macs.get(a.mac);
        if (other !== undefined)
          add(
            [...path, 'mac'],
            'value',
            `MAC address \`${a.mac}\` is already used by \`${other}\``,
            'give each attachment its own MAC, or remove `mac`',
          );
        else macs.set(a.mac, m.name);
      }
      const dhcpWritten = writtenAt<boolean>(written, [...path, 'dhcp']);
      if (a.ip !== undefined && dhcpWritten === true) {
        add(
          [...path, 'dhcp'],
          'key',
          'sets both `ip` and `dhcp: true`',
          'keep `ip` for a static address, or `dhcp: true` for DHCP',
        );
        continue;
      }
      if (a.ip === undefined && dhcpWritten === false) {
        add(
          [...path, 'dhcp'],
          'value',
          '`dhcp: false` without `ip` leaves the machine without an address',
          'add an `ip`, or remove `dhcp: false`',
        );
        continue;
      }
      if (net.type === 'bridged') {
        if (a.ip !== undefined) {
          add(
            [...path, 'ip'],
            'value',
            `bridged network \`${net.name}\` takes its address from the LAN's DHCP`,
            'remove `ip`',
          );
        }
        continue;
      }
      const cidr = parseCidr(net.cidr);
      if (cidr === undefined || cidr.prefix > 30) continue;
      const range = `${formatIp(gatewayOf(cidr) + 1)} to ${formatIp(cidr.broadcast - 1)}`;
      if (a.ip === undefined) {
        if (!net.dhcp) {
          add(
            path,
            'value',
            `network \`${net.name}\` has no DHCP server`,
            `give the machine an \`ip\` from ${range}, or set \`dhcp: true\` on the network`,
          );
        }
        continue;
      }
      const ip = parseIp(a.ip);
      if (ip === undefined) continue;
      const at = [...path, 'ip'];
      const usable = `machines on \`${net.name}\` use ${range}`;
      if (ip < cidr.network || ip > cidr.broadcast)
        add(at, 'value', `\`${a.ip}\` is outside network \`${net.name}\` (${net.cidr})`, usable);
      else if (ip === cidr.network)
        add(at, 'value', `\`${a.ip}\` is the network address of \`${net.name}\``, usable);
      else if (ip === cidr.broadcast)
        add(at, 'value', `\`${a.ip}\` is the broadcast address of \`${net.name}\``, usable);
      else if (ip === gatewayOf(cidr))
        add(at, 'value', `\`${a.ip}\` is the gateway (the host's address) on \`${net.name}\``, usable);
      else {
        const key = `${net.name} ${a.ip}`;
        const other = taken.get(key);
        if (other !== undefined)
          add(
            at,
            'value',
            `\`${a.ip}\` is already used by \`${other}\` on \`${net.name}\``,
            'give each machine its own address',
          );
        else taken.set(key, m.name);
      }
    }
  }
};

export const forwardedPorts: Rule = ({ env, listOrigin, add }) => {
  const bound: {
    hostIp: string;
    host: number;
    protocol: string;
    autoCorrect: boolean;
    machine: string;
    path: KeyPath;
  }[] = [];
  const clash = (path: KeyPath, p: { protocol: string; hostIp: string; host: number }, other: string): void =>
    add(
      [...path, 'host'],
      'value',
      `host port ${p.protocol} ${p.hostIp}:${p.host} is already forwarded for \`${other}\``,
      path[0] === 'defaults'
        ? 'a port in `defaults` is forwarded for every machine; move it to one machine'
        : 'pick another `host` port, or set `auto_correct: true` to take a free one at `up`',
    );
  for (const m of env.machines) {
    for (const [i, p] of m.forwardedPorts.entries()) {
      const path = listOrigin(m, 'forwarded_ports', i);
      const first = bound.find(
        (b) =>
          b.host === p.host &&
          b.protocol === p.protocol &&
          (b.hostIp === p.hostIp || b.hostIp === '0.0.0.0' || p.hostIp === '0.0.0.0'),
      );
      if (first === undefined) {
        bound.push({ ...p, machine: m.name, path });
        continue;
      }
      if (p.autoCorrect) continue;
      // Both forwards are at fault (neither moves): each is reported where it is written.
      clash(path, p, first.machine);
      if (!first.autoCorrect && first.path.join('\0') !== path.join('\0')) clash(first.path, first, m.name);
    }
  }
};
