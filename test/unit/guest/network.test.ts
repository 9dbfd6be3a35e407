// The guest network script is read, not run (integration tests run it in real guests): assert the
// commands it holds per NIC kind and guest family, and that Boxfile values reach the shell quoted.
// Only its /etc/hosts block is run here, against a temp file instead of /etc/hosts.

import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseFacts, type GuestFacts, type GuestFamily } from '../../../src/guest/family.js';
import {
  NIC_LINE,
  networkScript,
  parseNicLines,
  type GuestNic,
  type HostEntry,
  type NetworkPlan,
  type SeenNic,
} from '../../../src/guest/network.js';
import { tempDir } from '../helpers.js';

describe('parseFacts', () => {
  it.each<[string, string, GuestFacts]>([
    ['Debian', 'id=debian\nlike=\nhas-ip\n', { family: 'debian', id: 'debian', hasIp: true }],
    [
      'Ubuntu (ID_LIKE=debian)',
      'id=ubuntu\nlike=debian\nhas-ip\n',
      { family: 'debian', id: 'ubuntu', hasIp: true },
    ],
    [
      'Linux Mint (ID_LIKE="ubuntu debian")',
      'id=linuxmint\nlike=ubuntu debian\nhas-ip\n',
      { family: 'debian', id: 'linuxmint', hasIp: true },
    ],
    ['Pop!_OS (ID_LIKE="ubuntu")', 'id=pop\nlike=ubuntu\n', { family: 'debian', id: 'pop', hasIp: false }],
    [
      'busybox: no os-release, busybox sh',
      'id=\nlike=\nhas-ip\nbusybox-sh\n',
      { family: 'busybox', id: 'busybox', hasIp: true },
    ],
    ['busybox without ip', 'id=\nlike=\nbusybox-sh\n', { family: 'busybox', id: 'busybox', hasIp: false }],
    [
      'Alpine: busybox sh but an os-release',
      'id=alpine\nlike=\nhas-ip\nbusybox-sh\n',
      { family: 'linux', id: 'alpine', hasIp: true },
    ],
    ['Fedora', 'id=fedora\nlike=\nhas-ip\n', { family: 'linux', id: 'fedora', hasIp: true }],
    [
      'Rocky (ID_LIKE="rhel centos fedora")',
      'id=rocky\nlike=rhel centos fedora\nhas-ip\n',
      { family: 'linux', id: 'rocky', hasIp: true },
    ],
    ['no os-release, no busybox sh', 'id=\nlike=\nhas-ip\n', { family: 'linux', id: 'unknown', hasIp: true }],
    ['empty output', '', { family: 'linux', id: 'unknown', hasIp: false }],
    [
      'has-ip only as a whole line',
      'id=fedora\nlike=\nno-has-ip\nhas-ip-not\n',
      { family: 'linux', id: 'fedora', hasIp: false },
    ],
    [
      'CRLF and stray spaces',
      'id=debian \r\nlike=\r\nhas-ip\n',
      { family: 'debian', id: 'debian', hasIp: true },
    ],
    [
      'a name merely containing debian',
      'id=notdebian\nlike=debianish\n',
      { family: 'linux', id: 'notdebian', hasIp: false },
    ],
  ])('%s', (_, out, facts) => {
    expect(parseFacts(out)).toEqual(facts);
  });
});

const PRIVATE: GuestNic = {
  network: 'backend',
  mac: '52:54:00:aa:bb:01',
  kind: 'private',
  cidr: '192.168.56.2/24',
  how: 'allocated',
};
const STATIC: GuestNic = {
  ...PRIVATE,
  network: 'storage',
  mac: '52:54:00:aa:bb:03',
  cidr: '10.9.0.5/16',
  how: 'static',
};
const BRIDGED: GuestNic = { network: 'lan', mac: '52:54:00:aa:bb:02', kind: 'bridged' };

const plan = (over: Partial<NetworkPlan> = {}): NetworkPlan => ({
  family: 'linux',
  nics: [],
  hosts: [],
  dhcpWaitS: 10,
  ...over,
});

const lines = (p: NetworkPlan) => networkScript(p).split('\n');

/** Lines of the script that contain `needle`. */
const grep = (p: NetworkPlan, needle: string) => lines(p).filter((l) => l.includes(needle));

/** `sh -n`: the script parses (nothing runs). */
function syntaxOk(script: string): { status: number | null; stderr: string } {
  const r = spawnSync('sh', ['-n', '-c', script], { encoding: 'utf8' });
  return { status: r.status, stderr: r.stderr };
}

describe('networkScript', () => {
  it('starts with set -e, the helpers and the ip check', () => {
    const l = lines(plan());
    expect(l[0]).toBe('set -e');
    expect(l.slice(1, 4).map((x) => x.split('(')[0])).toEqual(['iface_of', 'v4_of', 'need_iface']);
    expect(l[4]).toBe(
      'command -v ip >/dev/null 2>&1 || { echo "the guest has no \\`ip\\` command (iproute2 or busybox)" >&2; exit 4; }',
    );
  });

  it('does nothing else without NICs and hosts', () => {
    expect(lines(plan({ family: 'debian' }))).toHaveLength(5);
  });

  it.each<GuestFamily>(['linux', 'debian', 'busybox'])('is valid sh for family %s', (family) => {
    const script = networkScript(
      plan({ family, nics: [PRIVATE, BRIDGED, STATIC], hosts: [{ ip: '192.168.56.3', names: ['db'] }] }),
    );
    expect(syntaxOk(script)).toEqual({ status: 0, stderr: '' });
  });

  it('configures a private NIC by MAC, idempotently, and reports it', () => {
    const l = lines(plan({ nics: [PRIVATE] }));
    const at = l.indexOf('i=$(need_iface 52:54:00:aa:bb:01 backend) || exit 3');
    expect(at).toBeGreaterThan(0);
    expect(l.slice(at, at + 4)).toEqual([
      'i=$(need_iface 52:54:00:aa:bb:01 backend) || exit 3',
      'ip link set "$i" up',
      '[ "$(v4_of "$i")" = 192.168.56.2/24 ] || { ip -4 addr flush dev "$i"; ip addr add 192.168.56.2/24 dev "$i"; }',
      `echo ${NIC_LINE} backend "$i" 52:54:00:aa:bb:01 192.168.56.2/24 allocated`,
    ]);
  });

  it('reports a static NIC as static', () => {
    expect(grep(plan({ nics: [STATIC] }), `echo ${NIC_LINE}`)).toEqual([
      `echo ${NIC_LINE} storage "$i" 52:54:00:aa:bb:03 10.9.0.5/16 static`,
    ]);
  });

  it.each<[GuestFamily, number]>([
    ['busybox', 2],
    ['debian', 0],
    ['linux', 0],
  ])('kills busybox udhcpc on private NICs only for busybox (%s: %i lines)', (family, count) => {
    const p = plan({ family, nics: [PRIVATE, BRIDGED, STATIC] });
    const kills = grep(p, 'kill "$p"');
    expect(kills).toHaveLength(count);
    for (const k of kills)
      expect(k).toBe('for p in $(pgrep -f "udhcpc -i $i " 2>/dev/null); do kill "$p" 2>/dev/null; done');
    if (family === 'busybox') {
      // Before the address is set, right after finding the interface.
      const l = lines(p);
      const at = l.indexOf('i=$(need_iface 52:54:00:aa:bb:01 backend) || exit 3');
      expect(l[at + 1]).toBe(kills[0]);
      expect(l[at + 2]).toBe('ip link set "$i" up');
    }
  });

  it.each([
    [10, 40],
    [1, 4],
    [90, 360],
  ])('waits up to %is (%i quarter seconds) for a bridged NIC’s DHCP address', (dhcpWaitS, ticks) => {
    const l = lines(plan({ nics: [BRIDGED], dhcpWaitS }));
    const at = l.indexOf('i=$(need_iface 52:54:00:aa:bb:02 lan) || exit 3');
    expect(at).toBeGreaterThan(0);
    expect(l.slice(at, at + 10)).toEqual([
      'i=$(need_iface 52:54:00:aa:bb:02 lan) || exit 3',
      'ip link set "$i" up',
      'if ! pgrep -f "(udhcpc|dhclient|dhcpcd).*$i" >/dev/null 2>&1; then',
      '  if command -v udhcpc >/dev/null 2>&1; then udhcpc -i "$i" -b -t 10 -T 1 -S >/dev/null 2>&1',
      '  elif command -v dhclient >/dev/null 2>&1; then dhclient -nw "$i" >/dev/null 2>&1',
      '  elif command -v networkctl >/dev/null 2>&1; then networkctl reconfigure "$i" >/dev/null 2>&1; fi',
      'fi',
      `n=0; while [ -z "$(v4_of "$i")" ] && [ $n -lt ${ticks} ]; do sleep 0.25; n=$((n+1)); done`,
      `a=$(v4_of "$i"); echo ${NIC_LINE} lan "$i" 52:54:00:aa:bb:02 "\${a:--}" dhcp`,
      // then the /etc/hosts block
      't=$(mktemp)',
    ]);
  });

  it('handles NICs in plan order', () => {
    expect(grep(plan({ nics: [BRIDGED, PRIVATE, STATIC] }), 'need_iface 52:')).toEqual([
      'i=$(need_iface 52:54:00:aa:bb:02 lan) || exit 3',
      'i=$(need_iface 52:54:00:aa:bb:01 backend) || exit 3',
      'i=$(need_iface 52:54:00:aa:bb:03 storage) || exit 3',
    ]);
  });

  describe('persistent configuration', () => {
    const PERSISTENT = [
      '/etc/netplan/60-boxfest.yaml',
      '/etc/network/interfaces.d/60-boxfest',
      '/etc/systemd/network/60-boxfest-',
    ];

    it.each<[GuestFamily, boolean]>([
      ['debian', true],
      ['linux', false],
      ['busybox', false],
    ])('family %s writes it: %s', (family, written) => {
      const script = networkScript(plan({ family, nics: [PRIVATE, BRIDGED] }));
      for (const f of PERSISTENT) expect(script.includes(f)).toBe(written);
    });

    it('is not written on debian without NICs', () => {
      const script = networkScript(
        plan({ family: 'debian', hosts: [{ ip: '192.168.56.3', names: ['db'] }] }),
      );
      for (const f of PERSISTENT) expect(script).not.toContain(f);
    });

    it('writes netplan, else ifupdown, else systemd-networkd, after the NICs are up', () => {
      const l = lines(plan({ family: 'debian', nics: [PRIVATE, BRIDGED] }));
      const at = l.indexOf('if [ -d /etc/netplan ]; then');
      expect(at).toBeGreaterThan(l.findIndex((x) => x.includes('dhcp') && x.startsWith('a=$(v4_of')));
      expect(l.slice(at, at + 7)).toEqual([
        'if [ -d /etc/netplan ]; then',
        `  (umask 077; printf '%s\\n' network: '  version: 2' '  ethernets:' '    boxfest1:' '      match: { macaddress: "52:54:00:aa:bb:01" }' '      addresses: [192.168.56.2/24]' '    boxfest2:' '      match: { macaddress: "52:54:00:aa:bb:02" }' '      dhcp4: true' > /etc/netplan/60-boxfest.yaml)`,
        'elif [ -d /etc/network/interfaces.d ]; then',
        `  { i=$(iface_of 52:54:00:aa:bb:01); printf 'auto %s\\niface %s inet static\\n  address %s\\n\\n' "$i" "$i" 192.168.56.2/24; i=$(iface_of 52:54:00:aa:bb:02); printf 'allow-hotplug %s\\niface %s inet dhcp\\n\\n' "$i" "$i"; } > /etc/network/interfaces.d/60-boxfest`,
        'elif [ -d /etc/systemd/network ]; then',
        `  rm -f /etc/systemd/network/60-boxfest-*.network; printf '%s\\n' '[Match]' MACAddress=52:54:00:aa:bb:01 '[Network]' Address=192.168.56.2/24 > /etc/systemd/network/60-boxfest-1.network; printf '%s\\n' '[Match]' MACAddress=52:54:00:aa:bb:02 '[Network]' DHCP=ipv4 > /etc/systemd/network/60-boxfest-2.network`,
        'fi',
      ]);
    });

    it('produces the netplan YAML it means (run the printf part only)', () => {
      const line =
        grep(plan({ family: 'debian', nics: [PRIVATE, BRIDGED] }), '/etc/netplan/60-boxfest.yaml')[0] ?? '';
      const out = join(tempDir(), 'netplan.yaml');
      const cmd = line.trim().replace('/etc/netplan/60-boxfest.yaml', out);
      expect(spawnSync('sh', ['-c', cmd]).status).toBe(0);
      expect(readFileSync(out, 'utf8')).toBe(
        [
          'network:',
          '  version: 2',
          '  ethernets:',
          '    boxfest1:',
          '      match: { macaddress: "52:54:00:aa:bb:01" }',
          '      addresses: [192.168.56.2/24]',
          '    boxfest2:',
          '      match: { macaddress: "52:54:00:aa:bb:02" }',
          '      dhcp4: true',
          '',
        ].join('\n'),
      );
    });
  });

  describe('/etc/hosts', () => {
    const HOSTS: HostEntry[] = [
      { ip: '192.168.56.3', names: ['db1.example.test', 'db1', 'db'] },
      { ip: '192.168.56.4', names: ['cache'] },
    ];

    it('rewrites a managed block with one line per peer', () => {
      expect(lines(plan({ hosts: HOSTS })).slice(-4)).toEqual([
        't=$(mktemp)',
        `awk '$0=="# boxfest begin"{skip=1} !skip{print} $0=="# boxfest end"{skip=0}' /etc/hosts > "$t" 2>/dev/null || true`,
        `{ cat "$t"; printf '%s\\n' '# boxfest begin' '192.168.56.3 db1.example.test db1 db' '192.168.56.4 cache' '# boxfest end'; } > /etc/hosts`,
        'rm -f "$t"',
      ]);
    });

    it.each<[string, Partial<NetworkPlan>, boolean]>([
      ['no NICs, no hosts', {}, false],
      ['NICs but no peers (clears an old block)', { nics: [PRIVATE] }, true],
      ['peers', { hosts: HOSTS }, true],
    ])('%s → block written: %s', (_, over, written) => {
      expect(networkScript(plan(over)).includes('> /etc/hosts')).toBe(written);
    });

    /** Runs the script's /etc/hosts part on `before`, standing in for /etc/hosts. */
    function runHosts(p: NetworkPlan, before: string): string {
      const file = join(tempDir(), 'hosts');
      writeFileSync(file, before);
      const l = lines(p);
      const part = l.slice(l.indexOf('t=$(mktemp)')).join('\n').replaceAll('/etc/hosts', file);
      const r = spawnSync('sh', ['-e', '-c', part], { encoding: 'utf8' });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      return readFileSync(file, 'utf8');
    }

    it('replaces the old block, keeping the user’s own lines', () => {
      const before = [
        '127.0.0.1 localhost',
        '# boxfest begin',
        '192.168.56.9 old',
        '# boxfest end',
        '10.0.0.1 mine',
        '',
      ].join('\n');
      expect(runHosts(plan({ hosts: HOSTS }), before)).toBe(
        [
          '127.0.0.1 localhost',
          '10.0.0.1 mine',
          '# boxfest begin',
          '192.168.56.3 db1.example.test db1 db',
          '192.168.56.4 cache',
          '# boxfest end',
          '',
        ].join('\n'),
      );
    });

    it('is idempotent', () => {
      const once = runHosts(plan({ hosts: HOSTS }), '127.0.0.1 localhost\n');
      expect(runHosts(plan({ hosts: HOSTS }), once)).toBe(once);
    });

    it('writes names with shell metacharacters literally', () => {
      const hosts: HostEntry[] = [{ ip: '192.168.56.3', names: ['web;rm -rf /', "it's", '$(id)', '`id`'] }];
      expect(runHosts(plan({ hosts }), '')).toBe(
        "# boxfest begin\n192.168.56.3 web;rm -rf / it's $(id) `id`\n# boxfest end\n",
      );
    });
  });

  describe('quoting', () => {
    const EVIL = 'web;rm -rf /';

    /** Every occurrence of `raw` in the script lies inside an occurrence of `quoted`. */
    function onlyQuoted(script: string, raw: string, quoted: string) {
      expect(quoted).toContain(raw);
      expect(script).toContain(quoted);
      expect(script.split(raw).length).toBe(script.split(quoted).length);
    }

    it('quotes a hostname with shell metacharacters in the hosts block', () => {
      const script = networkScript(plan({ hosts: [{ ip: '192.168.56.3', names: [EVIL] }] }));
      onlyQuoted(script, EVIL, `'192.168.56.3 ${EVIL}'`);
    });

    it('escapes single quotes', () => {
      const script = networkScript(plan({ hosts: [{ ip: '192.168.56.3', names: ["o'brien"] }] }));
      onlyQuoted(script, "o'\\''brien", "'192.168.56.3 o'\\''brien'");
      expect(script).not.toContain("o'brien");
    });

    it.each<GuestFamily>(['linux', 'debian', 'busybox'])(
      'quotes a network name with shell metacharacters (%s)',
      (family) => {
        const net = 'x$(reboot)';
        const script = networkScript(
          plan({
            family,
            nics: [
              { ...PRIVATE, network: net },
              { ...BRIDGED, network: net },
            ],
          }),
        );
        onlyQuoted(script, net, `'${net}'`);
        expect(grep(plan({ family, nics: [{ ...PRIVATE, network: net }] }), 'need_iface 52:')).toEqual([
          `i=$(need_iface 52:54:00:aa:bb:01 'x$(reboot)') || exit 3`,
        ]);
        expect(syntaxOk(script).status).toBe(0);
      },
    );

    it.each<GuestFamily>(['linux', 'debian'])('quotes odd MACs and CIDRs too (%s)', (family) => {
      const mac = "aa:bb'; reboot; '";
      const cidr = '1.2.3.4/24 && reboot';
      const script = networkScript(plan({ family, nics: [{ ...PRIVATE, mac, cidr }] }));
      expect(script).not.toMatch(/[^'\\]; reboot; /);
      expect(script).not.toContain(' ip addr add 1.2.3.4/24 && reboot');
      expect(script).toContain(`ip addr add '1.2.3.4/24 && reboot' dev "$i"`);
      expect(syntaxOk(script).status).toBe(0);
    });
  });
});

describe('parseNicLines', () => {
  it.each<[string, string, SeenNic[]]>([
    ['nothing', '', []],
    [
      'a private NIC',
      'boxfest-nic backend eth1 52:54:00:aa:bb:01 192.168.56.2/24 allocated\n',
      [
        {
          network: 'backend',
          iface: 'eth1',
          mac: '52:54:00:aa:bb:01',
          cidr: '192.168.56.2/24',
          how: 'allocated',
        },
      ],
    ],
    [
      'a static NIC',
      'boxfest-nic storage enp0s5 52:54:00:aa:bb:03 10.9.0.5/16 static',
      [{ network: 'storage', iface: 'enp0s5', mac: '52:54:00:aa:bb:03', cidr: '10.9.0.5/16', how: 'static' }],
    ],
    [
      'a bridged NIC with an address',
      'boxfest-nic lan eth2 52:54:00:aa:bb:02 192.168.1.77/24 dhcp',
      [{ network: 'lan', iface: 'eth2', mac: '52:54:00:aa:bb:02', cidr: '192.168.1.77/24', how: 'dhcp' }],
    ],
    [
      "a bridged NIC without an address ('-')",
      'boxfest-nic lan eth2 52:54:00:aa:bb:02 - dhcp',
      [{ network: 'lan', iface: 'eth2', mac: '52:54:00:aa:bb:02', cidr: '', how: 'dhcp' }],
    ],
    [
      'several, among other output, CRLF and trailing spaces',
      [
        'some noise',
        'boxfest-nic backend eth1 52:54:00:aa:bb:01 192.168.56.2/24 allocated\r',
        '  boxfest-nic indented is ignored',
        'boxfest-nicely not ours',
        'boxfest-nic lan eth2 52:54:00:aa:bb:02 - dhcp   ',
        '',
      ].join('\n'),
      [
        {
          network: 'backend',
          iface: 'eth1',
          mac: '52:54:00:aa:bb:01',
          cidr: '192.168.56.2/24',
          how: 'allocated',
        },
        { network: 'lan', iface: 'eth2', mac: '52:54:00:aa:bb:02', cidr: '', how: 'dhcp' },
      ],
    ],
    [
      'an unknown HOW is dhcp; missing fields are empty',
      'boxfest-nic backend eth1\nboxfest-nic x y z 1.2.3.4/8 weird',
      [
        { network: 'backend', iface: 'eth1', mac: '', cidr: '', how: 'dhcp' },
        { network: 'x', iface: 'y', mac: 'z', cidr: '1.2.3.4/8', how: 'dhcp' },
      ],
    ],
  ])('%s', (_, out, expected) => {
    expect(parseNicLines(out)).toEqual(expected);
  });
});
