// Private networks that span hosts (#16): when the machines of one `networks:` entry run on
// several libvirt hosts, each host has its own copy of the libvirt network (an isolated bridge
// without an address, but for the one host that serves its DHCP: dhcp-home.ts), and a VXLAN
// device on each host's bridge carries the one layer-2 segment to the other hosts, so the
// machines keep the addresses they would have on one host.
//
// Why VXLAN: it is in every Linux kernel, unicast (each host lists its peers in the device's
// forwarding table: no multicast), stateless UDP between the hosts (port 4789), and needs no
// process: the lab keeps talking when the laptop that ran `up` goes away, which a VDE or socket
// link carried over boxfest's SSH connections would not. GRE would need one tunnel per pair of
// hosts. The device does not outlive a host's reboot, and neither does the running network it
// hangs on: boxfest makes the device again whenever it starts a machine on that network, so the
// `up` after a reboot converges. Ownership: the device's name and VNI come from a hash of the
// project root and network, and its alias says whose it is; a device with the name but another
// alias is never touched.
import { createHash } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { Environment } from '../../config/types.js';
import { BoxfestError, errorMessage } from '../../errors.js';
import type { LibvirtClient } from './client.js';
import { rootPrefix, runOnHost } from './host-exec.js';
import { sshHost, usableUri } from './uri.js';

/** VXLAN's IANA port. */
const VXLAN_PORT = 4789;
/** What VXLAN over IPv4 adds to a frame: the guests' MTU on a spanning network is 1500 minus it. */
export const VXLAN_OVERHEAD = 50;

const digest = (env: Pick<Environment, 'root'>, network: string) =>
  createHash('sha256').update(`${env.root}\0${network}`).digest();

/** The VXLAN device of a network on every host: `bfx` and 10 hex digits (Linux allows 15 characters). */
export const spanDevice = (env: Pick<Environment, 'root'>, network: string): string =>
  `bfx${digest(env, network).toString('hex').slice(0, 10)}`;

/** Its VXLAN network identifier (24 bits, never 0). */
export const spanVni = (env: Pick<Environment, 'root'>, network: string): number =>
  (digest(env, network).readUInt32BE(8) % 0xfffffe) + 1;

/** The alias that marks the device as this project's: the only proof boxfest acts on. */
export const spanAlias = (env: Pick<Environment, 'root'>, network: string): string =>
  `boxfest-span:${createHash('sha256').update(env.root).digest('hex').slice(0, 16)}:${network}`;

/** The `hosts:` names a private network's machines run on. */
export function hostsOf(env: Environment, network: string): string[] {
  const on = env.machines
    .filter((m) => m.networks.some((a) => a.network === network))
    .flatMap((m) => (m.libvirt.host === undefined ? [] : [m.libvirt.host]));
  return [...new Set(on)];
}

/** Whether machines of `network` run on more than one host. */
export const spans = (env: Environment, network: string): boolean => hostsOf(env, network).length > 1;

/** Where the other hosts reach `host`: its `address`, else its URI's host name resolved here. */
async function addressOf(env: Environment, host: string): Promise<string> {
  const m = env.machines.find((x) => x.libvirt.host === host);
  if (m?.libvirt.address !== undefined) return m.libvirt.address;
  const parsed = usableUri(m?.libvirt.uri ?? '');
  const name = parsed.ok && parsed.uri.transport === 'ssh' ? sshHost(parsed.uri) : host;
  if (isIP(name) === 4) return name;
  try {
    return (await lookup(name, { family: 4 })).address;
  } catch (e) {
    throw new BoxfestError(
      'LIBVIRT_SPAN_FAILED',
      `host \`${host}\`: cannot resolve ${name}: ${errorMessage(e)}`,
      {
        hint: `set \`hosts.${host}.address\` to the IPv4 address the other hosts reach it at`,
      },
    );
  }
}

/**
 * Makes (or checks) the network's VXLAN device on this host, on `bridge`, up, its forwarding
 * table naming exactly `peers`. Idempotent. It runs as the login user: only the commands that
 * change the host are run through `$root` (nothing for root, else `sudo -n`: rootPrefix), so a
 * sudo rule for `ip` and `bridge` alone is enough; what it reads (/sys, `bridge fdb show`) needs
 * no root. A user's PATH often lacks /usr/sbin (Debian's), where `bridge` is.
 */
export const ENSURE_SPAN = `set -eu
export PATH="$PATH:/usr/sbin:/sbin"
root=$1 dev=$2 alias=$3 vni=$4 port=$5 bridge=$6; shift 6
if [ -e "/sys/class/net/$dev" ]; then
  [ "$(cat "/sys/class/net/$dev/ifalias" 2>/dev/null)" = "$alias" ] || { echo "$dev exists on this host and is not this project's (its alias is not $alias): left alone" >&2; exit 3; }
else
  $root ip link add "$dev" type vxlan id "$vni" dstport "$port" nolearning
  $root ip link set dev "$dev" alias "$alias"
fi
$root ip link set dev "$dev" master "$bridge"
$root ip link set dev "$dev" up
have=$(bridge fdb show dev "$dev" | awk '$1 == "00:00:00:00:00:00" && $2 == "dst" { printf "%s ", $3 }')
for ip in $have; do
  case " $* " in *" $ip "*) ;; *) $root bridge fdb del 00:00:00:00:00:00 dev "$dev" dst "$ip" ;; esac
done
for ip in "$@"; do
  case " $have " in *" $ip "*) ;; *) $root bridge fdb append 00:00:00:00:00:00 dev "$dev" dst "$ip" ;; esac
done`;

/** Removes the network's VXLAN device when it is there and this project's (as the login user, like ENSURE_SPAN). */
export const REMOVE_SPAN = `set -eu
export PATH="$PATH:/usr/sbin:/sbin"
root=$1 dev=$2 alias=$3
[ -e "/sys/class/net/$dev" ] || exit 0
[ "$(cat "/sys/class/net/$dev/ifalias" 2>/dev/null)" = "$alias" ] || { echo "$dev is not this project's (its alias is not $alias): left alone" >&2; exit 3; }
$root ip link del "$dev"`;

const failed = (c: LibvirtClient, network: string, what: string, e: unknown) =>
  new BoxfestError(
    'LIBVIRT_SPAN_FAILED',
    `network \`${network}\` on ${c.uri.text}: ${what} its VXLAN link to the other hosts failed: ${errorMessage(e)}`,
    {
      hint: 'boxfest runs `ip link` and `bridge fdb` on each host as root: log in as root, or let the user run `ip` and `bridge` with `sudo` without a password; the hosts must reach each other on UDP port 4789',
    },
  );

/**
 * The network's link to the other hosts, on this host (`host`, the `hosts:` name of `c`): made
 * when its machines run on other hosts too, removed when they no longer do.
 */
export async function reconcileSpan(
  c: LibvirtClient,
  env: Environment,
  network: string,
  host: string,
  bridge: string | undefined,
): Promise<void> {
  const peers = hostsOf(env, network).filter((h) => h !== host);
  if (peers.length === 0 || bridge === undefined) return removeSpan(c, env, network);
  const addresses = await Promise.all(peers.map((h) => addressOf(env, h)));
  const args = [spanDevice(env, network), spanAlias(env, network), String(spanVni(env, network))];
  await runOnHost(c, [
    'sh',
    '-c',
    ENSURE_SPAN,
    'boxfest-span',
    rootPrefix(c.uri).join(' '),
    ...args,
    String(VXLAN_PORT),
    bridge,
    ...addresses,
  ]).catch((e: unknown) => {
    throw failed(c, network, 'making', e);
  });
}

export async function removeSpan(c: LibvirtClient, env: Environment, network: string): Promise<void> {
  await runOnHost(c, [
    'sh',
    '-c',
    REMOVE_SPAN,
    'boxfest-span',
    rootPrefix(c.uri).join(' '),
    spanDevice(env, network),
    spanAlias(env, network),
  ]).catch((e: unknown) => {
    throw failed(c, network, 'removing', e);
  });
}
