// The guest half of networking: a shell script, run as root after every boot, that gives each
// private NIC its address (found by MAC, so guest interface names do not matter), waits for the
// DHCP address of each bridged NIC, keeps a managed block of the other machines in /etc/hosts,
// and on Debian-style guests writes a persistent config too. Pure: unit tests read the script,
// integration tests run it in real guests. Everything from the Boxfile is shell-quoted.
import { shellQuote as q } from '../util/quote.js';
import type { GuestFamily } from './family.js';

export type GuestNic =
  | { network: string; mac: string; kind: 'private'; cidr: string; how: 'static' | 'allocated' }
  | { network: string; mac: string; kind: 'bridged' };

export interface HostEntry {
  ip: string;
  names: string[];
}

export interface NetworkPlan {
  family: GuestFamily;
  nics: GuestNic[];
  hosts: HostEntry[];
  /** Seconds to wait for a bridged NIC's DHCP address. */
  dhcpWaitS: number;
  /**
   * `cloud-init`: the guest's cloud-init applied the addresses from boxfest's network-config at
   * boot; the script only checks each private NIC has its address (and writes no config of its own).
   */
  configuredBy?: 'boxfest' | 'cloud-init';
}

/** One line per NIC on stdout: `boxfest-nic NETWORK IFACE MAC CIDR|- HOW`. */
export const NIC_LINE = 'boxfest-nic';

const HELPERS = [
  // The interface with this MAC (lower case, as /sys shows it).
  'iface_of() { for d in /sys/class/net/*; do [ "$(cat "$d/address" 2>/dev/null)" = "$1" ] && { echo "${d##*/}"; return 0; }; done; return 1; }',
  'v4_of() { ip -4 -o addr show dev "$1" scope global 2>/dev/null | awk \'{print $4; exit}\'; }',
  'need_iface() { iface_of "$1" || { echo "no network interface with MAC $1 (network $2)" >&2; exit 3; }; }',
];

function privateNic(n: Extract<GuestNic, { kind: 'private' }>, family: GuestFamily): string[] {
  return [
    `i=$(need_iface ${q(n.mac)} ${q(n.network)}) || exit 3`,
    // busybox's boot script runs udhcpc on every NIC without a static address: it must not
    // flush the address we set when its retries end.
    ...(family === 'busybox'
      ? ['for p in $(pgrep -f "udhcpc -i $i " 2>/dev/null); do kill "$p" 2>/dev/null; done']
      : []),
    'ip link set "$i" up',
    `[ "$(v4_of "$i")" = ${q(n.cidr)} ] || { ip -4 addr flush dev "$i"; ip addr add ${q(n.cidr)} dev "$i"; }`,
    `echo ${NIC_LINE} ${q(n.network)} "$i" ${q(n.mac)} ${q(n.cidr)} ${n.how}`,
  ];
}

/** cloud-init applied it: check, and say which address it has. */
function checkedNic(n: Extract<GuestNic, { kind: 'private' }>): string[] {
  return [
    `i=$(need_iface ${q(n.mac)} ${q(n.network)}) || exit 3`,
    `a=$(v4_of "$i"); [ "$a" = ${q(n.cidr)} ] || { echo "network ${n.network}: $i has \${a:-no address}, not ${n.cidr}: cloud-init did not apply boxfest's network-config" >&2; exit 5; }`,
    `echo ${NIC_LINE} ${q(n.network)} "$i" ${q(n.mac)} ${q(n.cidr)} ${n.how}`,
  ];
}

function bridgedNic(n: Extract<GuestNic, { kind: 'bridged' }>, waitS: number): string[] {
  return [
    `i=$(need_iface ${q(n.mac)} ${q(n.network)}) || exit 3`,
    'ip link set "$i" up',
    // The guest's own DHCP client normally asks already; kick one if none seems to run.
    'if ! pgrep -f "(udhcpc|dhclient|dhcpcd).*$i" >/dev/null 2>&1; then',
    '  if command -v udhcpc >/dev/null 2>&1; then udhcpc -i "$i" -b -t 10 -T 1 -S >/dev/null 2>&1',
    '  elif command -v dhclient >/dev/null 2>&1; then dhclient -nw "$i" >/dev/null 2>&1',
    '  elif command -v networkctl >/dev/null 2>&1; then networkctl reconfigure "$i" >/dev/null 2>&1; fi',
    'fi',
    `n=0; while [ -z "$(v4_of "$i")" ] && [ $n -lt ${waitS * 4} ]; do sleep 0.25; n=$((n+1)); done`,
    `a=$(v4_of "$i"); echo ${NIC_LINE} ${q(n.network)} "$i" ${q(n.mac)} "\${a:--}" dhcp`,
  ];
}

/** Debian/Ubuntu: the same addresses in whichever network configuration the guest uses. */
function persistent(nics: GuestNic[]): string[] {
  if (nics.length === 0) return [];
  const netplan = [
    'network:',
    '  version: 2',
    '  ethernets:',
    ...nics.flatMap((n, k) => [
      `    boxfest${k + 1}:`,
      `      match: { macaddress: "${n.mac}" }`,
      ...(n.kind === 'private' ? [`      addresses: [${n.cidr}]`] : ['      dhcp4: true']),
    ]),
  ];
  const ifupdown = nics.flatMap((n) => [
    `i=$(iface_of ${q(n.mac)})`,
    n.kind === 'private'
      ? `printf 'auto %s\\niface %s inet static\\n  address %s\\n\\n' "$i" "$i" ${q(n.cidr)}`
      : `printf 'allow-hotplug %s\\niface %s inet dhcp\\n\\n' "$i" "$i"`,
  ]);
  const networkd = nics.map(
    (n, k) =>
      `printf '%s\\n' '[Match]' ${q(`MACAddress=${n.mac}`)} '[Network]' ${q(n.kind === 'private' ? `Address=${n.cidr}` : 'DHCP=ipv4')} > /etc/systemd/network/60-boxfest-${k + 1}.network`,
  );
  return [
    'if [ -d /etc/netplan ]; then',
    `  (umask 077; printf '%s\\n' ${netplan.map(q).join(' ')} > /etc/netplan/60-boxfest.yaml)`,
    'elif [ -d /etc/network/interfaces.d ]; then',
    `  { ${ifupdown.join('; ')}; } > /etc/network/interfaces.d/60-boxfest`,
    'elif [ -d /etc/systemd/network ]; then',
    `  rm -f /etc/systemd/network/60-boxfest-*.network; ${networkd.join('; ')}`,
    'fi',
  ];
}

const BEGIN = '# boxfest begin';
const END = '# boxfest end';

function hostsBlock(hosts: HostEntry[]): string[] {
  const lines = [BEGIN, ...hosts.map((h) => `${h.ip} ${h.names.join(' ')}`), END];
  return [
    't=$(mktemp)',
    `awk ${q(`$0=="${BEGIN}"{skip=1} !skip{print} $0=="${END}"{skip=0}`)} /etc/hosts > "$t" 2>/dev/null || true`,
    `{ cat "$t"; printf '%s\\n' ${lines.map(q).join(' ')}; } > /etc/hosts`,
    'rm -f "$t"',
  ];
}

export function networkScript(p: NetworkPlan): string {
  return [
    'set -e',
    ...HELPERS,
    'command -v ip >/dev/null 2>&1 || { echo "the guest has no \\`ip\\` command (iproute2 or busybox)" >&2; exit 4; }',
    ...p.nics.flatMap((n) =>
      n.kind !== 'private'
        ? bridgedNic(n, p.dhcpWaitS)
        : p.configuredBy === 'cloud-init'
          ? checkedNic(n)
          : privateNic(n, p.family),
    ),
    ...(p.family === 'debian' && p.configuredBy !== 'cloud-init' ? persistent(p.nics) : []),
    ...(p.hosts.length > 0 || p.nics.length > 0 ? hostsBlock(p.hosts) : []),
  ].join('\n');
}

export interface SeenNic {
  network: string;
  iface: string;
  mac: string;
  /** '' when a bridged NIC got no address. */
  cidr: string;
  how: 'static' | 'allocated' | 'dhcp';
}

export function parseNicLines(out: string): SeenNic[] {
  return out
    .split('\n')
    .filter((l) => l.startsWith(`${NIC_LINE} `))
    .map((l) => {
      const [, network = '', iface = '', mac = '', cidr = '', how = ''] = l.trim().split(/\s+/);
      return {
        network,
        iface,
        mac,
        cidr: cidr === '-' ? '' : cidr,
        how: how === 'static' || how === 'allocated' ? how : 'dhcp',
      };
    });
}
