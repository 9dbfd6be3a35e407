// What a Boxfile for provider libvirt may say, refused at validate time with the reason: the
// capabilities libvirt lacks (instant up, disk_size, data disks, cloud-init), transports boxfest does not speak, a session daemon.
import { describe, expect, it } from 'vitest';
import { environment, fakeFs, problems, yaml } from '../config/helpers.js';

const head = ['version: 1', 'provider: libvirt'];

describe('libvirt Boxfiles', () => {
  it.each<[string, string[], string[]]>([
    ['a local system daemon and a pool', ['libvirt:', '  uri: qemu:///system', '  pool: default'], []],
    // Each version a machine uses is its own box volume in the pool.
    ['a box version constraint', ['defaults: { box_version: ">= 1.0, < 2" }'], []],
    [
      'a tcp transport',
      ['libvirt:', '  uri: qemu+tcp://h/system'],
      [
        '4:8 libvirt.uri: `qemu+tcp://h/system` uses the tcp transport, which boxfest does not speak (use a local qemu:///system)',
      ],
    ],
    [
      'a session daemon',
      ['libvirt:', '  uri: qemu:///session'],
      [
        '4:8 libvirt.uri: `qemu:///session` is a session daemon, which has no virtual networks for the management network (use qemu:///system (as root, or in the `libvirt` group))',
      ],
    ],
  ])('%s', (_name, lines, want) => {
    expect(problems(yaml(...head, ...lines, 'machines:', '  web: { box: tiny }'))).toEqual(want);
  });

  it('instant up is refused with the reason, before any VM is touched', () => {
    const got = problems(yaml(...head, 'machines:', '  web:', '    box: tiny', '    instant: true'));
    expect(got).toHaveLength(1);
    expect(got[0]).toMatch(/^6:5 machines\.web\.instant: provider `libvirt` cannot/);
    expect(got[0]).toContain('libvirt checks on restore');
    expect(got[0]).toContain('set `instant: false`, or use provider qemu');
  });

  it('disk_size and data disks are refused where written, all at once; cloud-init user-data is taken', () => {
    const got = problems(
      yaml(
        ...head,
        'defaults: { cloud_init: { packages: [htop] } }',
        'machines:',
        '  web:',
        '    box: tiny',
        '    disk_size: 2GiB',
        '    disks: [{ name: data, size: 1GiB }]',
      ),
    );
    const hint = (key: string) => `(remove \`${key}\`, or see the issue tracker for when it lands)`;
    expect(got).toEqual([
      `7:5 machines.web.disk_size: provider \`libvirt\` cannot do disk_size (growing the disk) yet ${hint('disk_size')}`,
      `8:5 machines.web.disks: provider \`libvirt\` cannot do extra data disks yet ${hint('disks')}`,
    ]);
  });

  it('a remote host over SSH: rsync folders and TCP ports are fine; UDP ports and live shares are refused where written, all at once', () => {
    const got = problems(
      yaml(
        ...head,
        'libvirt: { uri: "qemu+ssh://ops@rack1.lan/system?keyfile=~/.ssh/rack" }',
        'machines:',
        '  web:',
        '    box: tiny',
        '    forwarded_ports: [{ guest: 80, host: 8080 }, { guest: 53, host: 5353, protocol: udp }]',
        '    synced_folders:',
        '      - { src: ., dest: /srv/app }',
        '      - { src: ., dest: /srv/live, type: virtiofs }',
      ),
      fakeFs('/proj'),
    );
    expect(got).toEqual([
      "7:85 machines.web.forwarded_ports[1].protocol: a UDP port of a machine on a remote libvirt host (qemu+ssh://ops@rack1.lan/system?keyfile=~/.ssh/rack) cannot be forwarded: its ports are carried through the host's SSH server, which carries TCP only (forward a TCP port, or reach the guest from the host)",
      '10:42 machines.web.synced_folders[1].type: a `type: virtiofs` folder shares a directory of the host QEMU runs on, and qemu+ssh://ops@rack1.lan/system?keyfile=~/.ssh/rack is another host (use `type: rsync` (copied to the guest over SSH, through the libvirt host))',
    ]);
  });

  it('the libvirt block is project-wide: a machine cannot have one', () => {
    expect(
      problems(yaml(...head, 'machines:', '  web:', '    box: tiny', '    libvirt: { pool: x }')),
    ).toEqual([expect.stringMatching(/^6:5 machines\.web\.libvirt: unknown key `libvirt`/) as string]);
  });
});

describe('hosts: machines placed on libvirt hosts', () => {
  const hosts = [
    'hosts:',
    '  rack1: { uri: "qemu+ssh://ops@rack1.lan/system" }',
    '  rack2: { uri: "qemu+ssh://ops@rack2.lan/system", pool: fast, management_network: mgmt }',
    '  here: { uri: "qemu:///system" }',
  ];
  it.each<[string, string[], string[]]>([
    [
      'machines on two remote hosts sharing a static network',
      [
        ...hosts,
        'networks: { backend: { type: private, cidr: 10.20.0.0/24 } }',
        'defaults: { box: tiny, host: rack1 }',
        'machines:',
        '  db: { host: rack2, networks: [{ network: backend, ip: 10.20.0.10 }] }',
        '  web: { networks: [{ network: backend, ip: 10.20.0.11 }] }',
      ],
      [],
    ],
    [
      'a machine on no host, a host that does not exist, and libvirt.uri beside hosts: all at once',
      [
        'libvirt: { uri: "qemu:///system" }',
        ...hosts,
        'machines:',
        '  a: { box: tiny }',
        '  b: { box: tiny, host: rack9 }',
      ],
      [
        '3:12 libvirt.uri: `libvirt.uri` and `hosts` both say where machines run (with `hosts`, each host has its own `uri`: move this one into a host, or remove `hosts`)',
        '9:3 machines.a: machine `a` runs on none of the 3 hosts (set its `host`, or `defaults.host` (hosts: rack1, rack2, here))',
        '10:25 machines.b.host: no host named `rack9` in `hosts` (hosts: rack1, rack2, here)',
      ],
    ],
    [
      'a host whose URI boxfest cannot use',
      ['hosts:', '  old: { uri: "qemu+tcp://old/system" }', 'machines:', '  a: { box: tiny }'],
      [
        '4:15 hosts.old.uri: `qemu+tcp://old/system` uses the tcp transport, which boxfest does not speak (use a local qemu:///system)',
      ],
    ],
    [
      '`host` without `hosts`',
      ['machines:', '  a: { box: tiny, host: rack1 }'],
      [
        '4:19 machines.a.host: `host` names one of `hosts`, and this Boxfile has none (add `hosts:`, or remove `host`)',
      ],
    ],
    [
      'a network spanning a local host without an address, with DHCP (served by one of them)',
      [
        ...hosts,
        'networks: { backend: { type: private, cidr: 10.20.0.0/24, dhcp: true } }',
        'machines:',
        '  a: { box: tiny, host: here, networks: [{ network: backend }] }',
        '  b: { box: tiny, host: rack1, networks: [{ network: backend }] }',
      ],
      [
        "6:3 hosts.here: network `backend` spans hosts here, rack1: the others need this host's address, and its URI (qemu:///system) names none (set `hosts.here.address`: the IPv4 address the other hosts reach it at)",
      ],
    ],
    [
      'UDP ports are refused only on the remote host',
      [
        ...hosts,
        'machines:',
        '  a: { box: tiny, host: here, forwarded_ports: [{ guest: 53, host: 5353, protocol: udp }] }',
        '  b: { box: tiny, host: rack1, forwarded_ports: [{ guest: 53, host: 5354, protocol: udp }, { guest: 80, host: 8080 }] }',
      ],
      [
        "9:85 machines.b.forwarded_ports[0].protocol: a UDP port of a machine on a remote libvirt host (qemu+ssh://ops@rack1.lan/system) cannot be forwarded: its ports are carried through the host's SSH server, which carries TCP only (forward a TCP port, or reach the guest from the host)",
      ],
    ],
  ])('%s', (_name, lines, want) => {
    expect(problems(yaml(...head, ...lines))).toEqual(want);
  });

  it("each machine gets its host's daemon, pool and management network; the only host needs no naming", () => {
    const env = environment(
      yaml(
        ...head,
        ...hosts,
        'libvirt: { pool: big }',
        'defaults: { box: tiny, host: rack1 }',
        'machines:',
        '  a: {}',
        '  b: { host: rack2 }',
        '  c: { host: here }',
      ),
      undefined,
      undefined,
      {},
    );
    expect(env.machines.map((m) => m.libvirt)).toEqual([
      {
        uri: 'qemu+ssh://ops@rack1.lan/system',
        uriFrom: 'hosts',
        host: 'rack1',
        pool: 'big',
        managementNetwork: 'boxfest',
      },
      {
        uri: 'qemu+ssh://ops@rack2.lan/system',
        uriFrom: 'hosts',
        host: 'rack2',
        pool: 'fast',
        managementNetwork: 'mgmt',
      },
      { uri: 'qemu:///system', uriFrom: 'hosts', host: 'here', pool: 'big', managementNetwork: 'boxfest' },
    ]);
    const one = environment(
      yaml(
        ...head,
        'hosts: { only: { uri: "qemu:///system", address: 10.0.0.5 } }',
        'machines: { a: { box: tiny } }',
      ),
    );
    expect(one.machines[0]?.libvirt).toMatchObject({
      host: 'only',
      address: '10.0.0.5',
      uri: 'qemu:///system',
    });
  });
});
