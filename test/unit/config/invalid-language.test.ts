// The v1 language's own mistakes: sizes, `${VAR}`, profiles, networks and addresses, forwarded
// ports, provisioner kinds, `primary`. Rules run against a provider that can do everything
// (PERMISSIVE), so each case shows only the rule it is about; capabilities.test.ts covers what
// the real providers refuse.

import { describe, expect, it } from 'vitest';
import { PERMISSIVE, fakeFs, problems, yaml } from './helpers.js';

interface Case {
  name: string;
  text: string;
  want: string[];
}

const head = ['version: 1', 'defaults: { box: debian-12 }'];
const NET = yaml(
  'networks:',
  '  backend: { type: private, cidr: 192.168.56.0/24 }',
  '  lan: { type: bridged, interface: eth0 }',
).trimEnd();

const cases: Case[] = [
  // --- sizes ---
  {
    name: 'size with an unknown unit',
    text: yaml(...head, 'machines:', '  web:', '    memory: 2 gigs'),
    want: [
      '5:13 machines.web.memory: "2 gigs" is not a size (write a number of MiB, e.g. `memory: 2048`, or a size with a unit, e.g. `2GiB`, `512MiB`)',
    ],
  },
  {
    name: 'size with a decimal unit on disk_size',
    text: yaml(...head, 'machines:', '  web:', '    disk_size: 20GB'),
    want: [
      '5:16 machines.web.disk_size: "20GB" is not a size (did you mean `20GiB`? sizes use binary units: MiB, GiB or TiB)',
    ],
  },
  {
    name: 'size with a unit below the minimum',
    text: yaml(...head, 'machines:', '  web:', '    memory: 32MiB'),
    want: ['5:13 machines.web.memory: `32MiB` is less than the minimum, 64 MiB'],
  },
  {
    name: 'disk_size as a small number: MiB, not GiB',
    text: yaml(...head, 'machines:', '  web:', '    disk_size: 20'),
    want: [
      '5:16 machines.web.disk_size: 20 is below 1024 (disk_size is a number of MiB, e.g. `disk_size: 20480`, or a size such as `20GiB`)',
    ],
  },
  // --- ${VAR} ---
  {
    name: 'unset variable without a default',
    text: yaml(...head, 'machines:', '  web:', '    hostname: ${HOST}'),
    want: [
      '5:15 machines.web.hostname: environment variable `HOST` is not set (set it, or give a default: `${HOST:-value}`)',
    ],
  },
  {
    name: 'unclosed reference',
    text: yaml(...head, 'machines:', '  web:', '    box: "${BOX"'),
    want: [
      '5:10 machines.web.box: unclosed `${` in value (close it with `}`, or write `$${` for a literal `${`)',
    ],
  },
  {
    name: 'not a variable name',
    text: yaml(...head, 'machines:', '  web:', '    box: ${1BOX}'),
    want: [
      '5:10 machines.web.box: `${1BOX}` is not a variable reference (write `${NAME}` or `${NAME:-default}` (letters, digits, `_`), or `$${` for a literal `${`)',
    ],
  },
  {
    name: 'interpolated value still checked by the schema',
    text: yaml(...head, 'machines:', '  web:', '    cpus: ${CPUS:-lots}'),
    want: ['5:11 machines.web.cpus: "lots" (from `${CPUS:-lots}`) is not an integer'],
  },
  // --- profiles ---
  {
    name: 'unknown profile, near miss',
    text: yaml(...head, 'profiles:', '  small: { cpus: 1 }', 'machines:', '  web:', '    profile: smal'),
    want: ['7:14 machines.web.profile: no profile named `smal` (did you mean `small`?)'],
  },
  {
    name: 'unknown profile, none defined',
    text: yaml(...head, 'machines:', '  web:', '    profile: small'),
    want: [
      '5:14 machines.web.profile: no profile named `small` (define it under `profiles:`, e.g. `profiles: { small: { cpus: 1, memory: 512 } }`)',
    ],
  },
  {
    name: 'profile with a key profiles do not have',
    text: yaml(...head, 'profiles:', '  small: { cpus: 1, hostname: x }', 'machines: { web: }'),
    want: [
      '4:21 profiles.small.hostname: unknown key `hostname` (allowed keys here: cpus, memory, disk_size)',
    ],
  },
  // --- networks ---
  {
    name: 'network type missing and unknown',
    text: yaml(
      ...head,
      'networks:',
      '  a: { cidr: 10.0.0.0/24 }',
      '  b: { type: nat }',
      'machines: { web: }',
    ),
    want: [
      '4:6 networks.a.type: missing required key `type` (a network is `type: private` (with `cidr`) or `type: bridged` (with `interface`))',
      '5:14 networks.b.type: "nat" is not one of private, bridged',
    ],
  },
  {
    name: 'private network without cidr, bridged without interface',
    text: yaml(
      ...head,
      'networks:',
      '  a: { type: private }',
      '  b: { type: bridged }',
      'machines: { web: }',
    ),
    want: [
      '4:6 networks.a.cidr: missing required key `cidr` (a private network needs `cidr`, e.g. `cidr: 192.168.56.0/24`)',
      '5:6 networks.b.interface: missing required key `interface` (a bridged network needs the host `interface` to bridge, e.g. `interface: eth0`)',
    ],
  },
  {
    name: 'keys of the other network type',
    text: yaml(
      ...head,
      'networks:',
      '  a: { type: private, cidr: 10.0.0.0/24, interface: eth0 }',
      '  b: { type: bridged, interface: eth0, dhcp: true }',
      'machines: { web: }',
    ),
    want: [
      '4:42 networks.a.interface: `interface` applies to bridged networks only (remove it)',
      "5:40 networks.b.dhcp: `dhcp` applies to private networks only (a bridged network uses the LAN's DHCP) (remove it)",
    ],
  },
  {
    name: 'malformed cidr',
    text: yaml(...head, 'networks:', '  a: { type: private, cidr: 192.168.56.0 }', 'machines: { web: }'),
    want: [
      '4:29 networks.a.cidr: "192.168.56.0" is not a valid cidr (write an IPv4 network with its prefix length, e.g. `192.168.56.0/24`)',
    ],
  },
  {
    name: 'cidr with host bits set, and too small',
    text: yaml(
      ...head,
      'networks:',
      '  a: { type: private, cidr: 192.168.56.10/24 }',
      '  b: { type: private, cidr: 10.0.0.0/31 }',
      'machines: { web: }',
    ),
    want: [
      '4:29 networks.a.cidr: `192.168.56.10/24` is not a network address (host bits are set) (did you mean `192.168.56.0/24`?)',
      '5:29 networks.b.cidr: `10.0.0.0/31` leaves no address for machines (use a prefix of /30 or shorter, e.g. `/24`)',
    ],
  },
  {
    name: 'overlapping private networks',
    text: yaml(
      ...head,
      'networks:',
      '  a: { type: private, cidr: 10.0.0.0/16 }',
      '  b: { type: private, cidr: 10.0.5.0/24 }',
      'machines: { web: }',
    ),
    want: [
      '5:29 networks.b.cidr: `10.0.5.0/24` overlaps network `a` (give each private network its own address range)',
    ],
  },
  {
    name: 'attachment to an unknown network',
    text: yaml(...head, NET, 'machines:', '  web:', '    networks: [{ network: backnd, ip: 192.168.56.10 }]'),
    want: ['8:27 machines.web.networks[0].network: no network named `backnd` (did you mean `backend`?)'],
  },
  {
    name: 'attachment with no networks defined',
    text: yaml(...head, 'machines:', '  web:', '    networks: [{ network: backend, ip: 192.168.56.10 }]'),
    want: [
      '5:27 machines.web.networks[0].network: no network named `backend` (define it under `networks:`, e.g. `backend: { type: private, cidr: 192.168.56.0/24 }`)',
    ],
  },
  {
    name: 'attachment without network',
    text: yaml(...head, NET, 'machines:', '  web:', '    networks: [{ ip: 192.168.56.10 }]'),
    want: [
      '8:16 machines.web.networks[0].network: missing required key `network` (name the network to attach to, e.g. `network: backend`)',
    ],
  },
  {
    name: 'malformed ip and mac',
    text: yaml(
      ...head,
      NET,
      'machines:',
      '  web:',
      '    networks: [{ network: backend, ip: 192.168.56.300, mac: 52:54:00:12:34 }]',
    ),
    want: [
      '8:40 machines.web.networks[0].ip: "192.168.56.300" is not a valid IPv4 address (write four numbers from 0 to 255, e.g. `192.168.56.10`)',
      '8:61 machines.web.networks[0].mac: "52:54:00:12:34" is not a valid MAC address (write six hex pairs separated by colons, e.g. `52:54:00:12:34:56`)',
    ],
  },
  {
    name: 'ip outside the cidr, and its reserved addresses',
    text: yaml(
      ...head,
      NET,
      'machines:',
      '  a: { networks: [{ network: backend, ip: 10.0.0.5 }] }',
      '  b: { networks: [{ network: backend, ip: 192.168.56.0 }] }',
      '  c: { networks: [{ network: backend, ip: 192.168.56.255 }] }',
      '  d: { networks: [{ network: backend, ip: 192.168.56.1 }] }',
    ),
    want: [
      '7:43 machines.a.networks[0].ip: `10.0.0.5` is outside network `backend` (192.168.56.0/24) (machines on `backend` use 192.168.56.2 to 192.168.56.254)',
      '8:43 machines.b.networks[0].ip: `192.168.56.0` is the network address of `backend` (machines on `backend` use 192.168.56.2 to 192.168.56.254)',
      '9:43 machines.c.networks[0].ip: `192.168.56.255` is the broadcast address of `backend` (machines on `backend` use 192.168.56.2 to 192.168.56.254)',
      "10:43 machines.d.networks[0].ip: `192.168.56.1` is the gateway (the host's address) on `backend` (machines on `backend` use 192.168.56.2 to 192.168.56.254)",
    ],
  },
  {
    name: 'two machines with one ip',
    text: yaml(
      ...head,
      NET,
      'machines:',
      '  web: { networks: [{ network: backend, ip: 192.168.56.10 }] }',
      '  db: { networks: [{ network: backend, ip: 192.168.56.10 }] }',
    ),
    want: [
      '8:44 machines.db.networks[0].ip: `192.168.56.10` is already used by `web` on `backend` (give each machine its own address)',
    ],
  },
  {
    name: 'dhcp on a private network without a DHCP server',
    text: yaml(...head, NET, 'machines:', '  web: { networks: [{ network: backend, dhcp: true }] }'),
    want: [
      '7:21 machines.web.networks[0]: network `backend` has no DHCP server (give the machine an `ip` from 192.168.56.2 to 192.168.56.254, or set `dhcp: true` on the network)',
    ],
  },
  {
    name: 'ip and dhcp together; dhcp false without ip',
    text: yaml(
      ...head,
      NET,
      'machines:',
      '  web: { networks: [{ network: backend, ip: 192.168.56.10, dhcp: true }] }',
      '  db: { networks: [{ network: lan, dhcp: false }] }',
    ),
    want: [
      '7:60 machines.web.networks[0].dhcp: sets both `ip` and `dhcp: true` (keep `ip` for a static address, or `dhcp: true` for DHCP)',
      '8:42 machines.db.networks[0].dhcp: `dhcp: false` without `ip` leaves the machine without an address (add an `ip`, or remove `dhcp: false`)',
    ],
  },
  {
    name: 'static ip on a bridged network',
    text: yaml(...head, NET, 'machines:', '  web: { networks: [{ network: lan, ip: 192.168.1.50 }] }'),
    want: [
      "7:41 machines.web.networks[0].ip: bridged network `lan` takes its address from the LAN's DHCP (remove `ip`)",
    ],
  },
  {
    name: 'one MAC on two machines',
    text: yaml(
      ...head,
      NET,
      'machines:',
      '  web: { networks: [{ network: lan, mac: "52:54:00:00:00:01" }] }',
      '  db: { networks: [{ network: lan, mac: "52:54:00:00:00:01" }] }',
    ),
    want: [
      '8:41 machines.db.networks[0].mac: MAC address `52:54:00:00:00:01` is already used by `web` (give each attachment its own MAC, or remove `mac`)',
    ],
  },
  // --- forwarded ports ---
  {
    name: 'forwarded port without host, bad protocol',
    text: yaml(...head, 'machines:', '  web:', '    forwarded_ports: [{ guest: 80, protocol: sctp }]'),
    want: [
      '5:23 machines.web.forwarded_ports[0].host: missing required key `host` (a forwarded port needs `guest` and `host`, e.g. `{ guest: 80, host: 8080 }`)',
      '5:46 machines.web.forwarded_ports[0].protocol: "sctp" is not one of tcp, udp',
    ],
  },
  {
    name: 'port out of range',
    text: yaml(...head, 'machines:', '  web:', '    forwarded_ports: [{ guest: 80, host: 70000 }]'),
    want: ['5:42 machines.web.forwarded_ports[0].host: 70000 is above 65535'],
  },
  {
    name: 'two machines forward one host port',
    text: yaml(
      ...head,
      'machines:',
      '  web: { forwarded_ports: [{ guest: 80, host: 8080 }] }',
      '  db: { forwarded_ports: [{ guest: 5432, host: 8080 }] }',
      '  api: { forwarded_ports: [{ guest: 80, host: 8080, protocol: udp }] }',
    ),
    // Neither moves: each is reported where it is written.
    want: [
      '4:47 machines.web.forwarded_ports[0].host: host port tcp 127.0.0.1:8080 is already forwarded for `db` (pick another `host` port, or set `auto_correct: true` to take a free one at `up`)',
      '5:48 machines.db.forwarded_ports[0].host: host port tcp 127.0.0.1:8080 is already forwarded for `web` (pick another `host` port, or set `auto_correct: true` to take a free one at `up`)',
    ],
  },
  {
    name: '0.0.0.0 collides with every address; auto_correct is let through',
    text: yaml(
      ...head,
      'machines:',
      '  web: { forwarded_ports: [{ guest: 80, host: 8080, host_ip: 0.0.0.0 }] }',
      '  db: { forwarded_ports: [{ guest: 80, host: 8080, host_ip: 10.1.1.1 }] }',
      '  api: { forwarded_ports: [{ guest: 80, host: 8080, auto_correct: true }] }',
    ),
    want: [
      '4:47 machines.web.forwarded_ports[0].host: host port tcp 0.0.0.0:8080 is already forwarded for `db` (pick another `host` port, or set `auto_correct: true` to take a free one at `up`)',
      '5:46 machines.db.forwarded_ports[0].host: host port tcp 10.1.1.1:8080 is already forwarded for `web` (pick another `host` port, or set `auto_correct: true` to take a free one at `up`)',
    ],
  },
  {
    name: 'a port in defaults collides with itself',
    text: yaml(
      'version: 1',
      'defaults: { box: debian-12, forwarded_ports: [{ guest: 80, host: 8080 }] }',
      'machines: { web: , db: , api: }',
    ),
    want: [
      '2:66 defaults.forwarded_ports[0].host: host port tcp 127.0.0.1:8080 is already forwarded for `web` (a port in `defaults` is forwarded for every machine; move it to one machine)',
    ],
  },
  // --- provisioners ---
  {
    name: 'two kinds in one provisioner',
    text: yaml(
      ...head,
      'machines:',
      '  web:',
      '    provision:',
      '      - { shell: make, file: ./app, dest: /app }',
    ),
    want: [
      '6:9 machines.web.provision[0]: sets `shell` and `file`; use only one of them (split it into one provisioner each)',
    ],
  },
  {
    name: 'file without dest, dest without file',
    text: yaml(
      ...head,
      'machines:',
      '  web:',
      '    provision:',
      '      - file: ./app',
      '      - { shell: x, dest: /x }',
    ),
    want: [
      '6:9 machines.web.provision[0].dest: `file` needs `dest` (a `file` provisioner uploads to `dest`, an absolute guest path)',
      '7:9 machines.web.provision[1].file: `dest` needs `file` (`dest` is where a `file` provisioner uploads; add `file: HOST_PATH`)',
    ],
  },
  {
    name: 'shell options on a file provisioner',
    text: yaml(
      ...head,
      'machines:',
      '  web:',
      '    provision:',
      '      - { file: ./app, dest: /app, args: [x] }',
    ),
    want: [
      '6:36 machines.web.provision[0].args: `args` applies to `shell` and `shell_path` provisioners only (remove it)',
    ],
  },
  {
    name: 'env with a bad name and a number value',
    text: yaml(
      ...head,
      'machines:',
      '  web:',
      '    provision:',
      '      - shell: x',
      '        env: { 1X: a, PORT: 80 }',
    ),
    want: [
      '7:16 machines.web.provision[0].env.1X: `1X` is not a valid environment variable name (use letters, digits and `_`, not starting with a digit)',
      '7:29 machines.web.provision[0].env.PORT: 80 is not a string (quote it: `PORT: "80"`, or write `{ value: ..., secret: true }`)',
    ],
  },
  {
    name: 'missing script and upload sources, relative upload dest',
    text: yaml(
      ...head,
      'machines:',
      '  web:',
      '    provision:',
      '      - shell_path: scripts/setup.sh',
      '      - { file: /etc/nothing, dest: etc/x }',
    ),
    want: [
      '6:21 machines.web.provision[0].shell_path: `scripts/setup.sh` does not exist (resolved to /proj/scripts/setup.sh) (create the file on the host or fix the path)',
      '7:17 machines.web.provision[1].file: `/etc/nothing` does not exist (create the file on the host or fix the path)',
      '7:37 machines.web.provision[1].dest: must be an absolute path in the guest (did you mean `/etc/x`?)',
    ],
  },
  {
    name: 'generated names are per kind and position',
    text: yaml(
      ...head,
      'machines:',
      '  web:',
      '    provision:',
      '      - { file: ./app, dest: /app }',
      '      - { name: file-1, shell: x }',
    ),
    want: [
      '7:17 machines.web.provision[1].name: duplicate provisioner name `file-1` (give each provisioner of a machine its own `name`)',
    ],
  },
  // --- synced folders ---
  {
    name: 'synced folder options of the wrong type; disabled folders need no src',
    text: yaml(
      ...head,
      'machines:',
      '  web:',
      '    synced_folders:',
      '      - { src: ./app, dest: /app, exclude: node_modules, chown: "a b" }',
      '      - { src: ./gone, dest: /gone, disabled: true }',
    ),
    want: [
      '6:44 machines.web.synced_folders[0].exclude: "node_modules" is not a list',
      '6:65 machines.web.synced_folders[0].chown: "a b" is not a valid owner (write `user` or `user:group`, e.g. `www-data:www-data`)',
    ],
  },
  // --- primary, ssh, provider blocks ---
  {
    name: 'two primary machines',
    text: yaml(
      ...head,
      'machines:',
      '  web: { primary: true }',
      '  db: { primary: true }',
      '  api: { primary: true }',
    ),
    want: [
      '5:18 machines.db.primary: only one machine can be primary; `web` already is (set `primary: true` on one machine only)',
      '6:19 machines.api.primary: only one machine can be primary; `web` already is (set `primary: true` on one machine only)',
    ],
  },
  {
    name: 'primary in defaults',
    text: yaml('version: 1', 'defaults: { box: debian-12, primary: true }', 'machines: { web: , db: }'),
    want: [
      '2:38 defaults.primary: `primary` in `defaults` makes every machine primary (set `primary: true` on one machine only)',
    ],
  },
  {
    name: 'bad values in provider blocks and ssh',
    text: yaml(
      ...head,
      'machines:',
      '  web:',
      '    ssh: { port: 0 }',
      '    qemu: { accel: hvf, extra_arg: [] }',
      '    virtualbox: { gui: yes }',
    ),
    want: [
      '5:18 machines.web.ssh.port: 0 is below 1',
      '6:20 machines.web.qemu.accel: "hvf" is not one of auto, kvm, tcg',
      '6:25 machines.web.qemu.extra_arg: unknown key `extra_arg` (did you mean `extra_args`?)',
      '7:24 machines.web.virtualbox.gui: "yes" is not true or false',
    ],
  },
];

describe('v1 language problems', () => {
  it.each(cases)('$name', ({ text, want }) => {
    expect(problems(text, fakeFs('/proj/app'), '/proj', { capabilities: PERMISSIVE })).toEqual(want);
  });
});
