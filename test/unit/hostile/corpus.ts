// The hostile Boxfile corpus: syntax, aliases, huge inputs, unicode, traversal, injection,
// numeric edge cases and every key's wrong types. Each case is a Boxfile (or what stands at
// Boxfile.yaml); what `boxfest validate` must say about it, exactly, is in expected.ts, and for
// a Boxfile that is fine, `ok` checks what it means.
import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync } from 'node:fs';
import type { Environment } from '../../../src/config/types.js';

export interface Case {
  name: string;
  /** The Boxfile's text; or a function that puts something at `file` (a link, a FIFO). */
  text: string | Buffer | ((file: string) => void);
  /** Other files of the project (relative paths) that the Boxfile refers to. */
  files?: Record<string, string>;
  /** Environment variables for `${VAR}`. */
  env?: Record<string, string>;
  /** The Boxfile is valid (expected.ts says `valid`): what the loaded environment must show. */
  ok?: (env: Environment) => void;
  /** Strings that must appear nowhere in what boxfest prints (secrets). */
  never?: string[];
}

const lines = (...l: string[]) => l.join('\n') + '\n';
/** `version: 1` and one machine `web` with `box: tiny` and the given lines of its own. */
const web = (...own: string[]) =>
  lines('version: 1', 'machines:', '  web:', '    box: tiny', ...own.map((l) => `    ${l}`));

const syntax: Case[] = [];
const aliases: Case[] = [];
const huge: Case[] = [];
const unicode: Case[] = [];
const traversal: Case[] = [];
const injection: Case[] = [];
const numeric: Case[] = [];
const files: Case[] = [];

// ---- syntax ----------------------------------------------------------------------------------
syntax.push(
  { name: 'unclosed double quote', text: web('hostname: "web') },
  { name: 'unclosed single quote', text: web("hostname: 'web") },
  { name: 'unclosed flow mapping', text: lines('version: 1', 'machines: { web: { box: tiny }') },
  { name: 'unclosed flow sequence', text: web('networks: [ { network: a }') },
  { name: 'tab indentation', text: 'version: 1\nmachines:\n\tweb: {}\n' },
  { name: 'a value that is a mapping on one line', text: lines('version: 1', 'machines: web: box: tiny') },
  {
    name: 'duplicate top-level key',
    text: lines('version: 1', 'version: 1', 'machines: { web: { box: tiny } }'),
  },
  {
    name: 'duplicate machine',
    text: lines('version: 1', 'machines:', '  web: { box: a }', '  web: { box: b }'),
  },
  { name: 'duplicate key in a flow mapping', text: web('ssh: { user: a, user: b }') },
  {
    name: 'two documents',
    text: lines('version: 1', 'machines: { web: { box: tiny } }', '---', 'version: 1'),
  },
  { name: 'an invalid escape in double quotes', text: web('hostname: "w\\qeb"') },
  { name: 'text after the document end marker', text: lines('version: 1', '...', 'machines: {}') },
  { name: 'a bare word', text: 'just some text\n' },
  { name: 'an empty file', text: '' },
  { name: 'only whitespace', text: '   \n\n  \n' },
  { name: 'only comments', text: '# a Boxfile\n# to be written\n' },
  { name: 'a null document', text: '~\n' },
  { name: 'a list at the top', text: lines('- web', '- db') },
  {
    name: 'JSON syntax is YAML',
    text: '{"version": 1, "machines": {"web": {"box": "tiny", "cpus": 2}}}\n',
    ok: (e) =>
      expectEq(
        e.machines.map((m) => [m.name, m.cpus]),
        [['web', 2]],
      ),
  },
  {
    name: 'CRLF line endings',
    text: 'version: 1\r\nmachines:\r\n  web:\r\n    box: tiny\r\n    hostname: crlf\r\n',
    ok: (e) => expectEq(e.machines[0]?.hostname, 'crlf'),
  },
  {
    name: 'a byte order mark',
    text: '\ufeffversion: 1\nmachines:\n  web: { box: tiny }\n',
    ok: (e) => expectEq(e.machines[0]?.box, 'tiny'),
  },
  { name: 'a NUL byte', text: 'version: 1\nmachines:\n  web: { box: "ti\0ny" }\n' },
  {
    name: 'bytes that are not UTF-8',
    text: Buffer.concat([
      Buffer.from('version: 1\nmachines:\n  web: { box: t'),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('y }\n'),
    ]),
  },
  { name: 'an unknown tag', text: web('hostname: !!python/object:os.system "ls"') },
  { name: 'a binary value for a string', text: web('hostname: !!binary aGVsbG8=') },
  { name: 'a complex key', text: lines('version: 1', 'machines:', '  ? [web, db]', '  : { box: tiny }') },
  {
    name: 'a YAML 1.1 directive',
    text: '%YAML 1.1\n---\nversion: 1\nmachines:\n  web: { box: tiny }\n',
    ok: (e) => expectEq(e.machines.length, 1),
  },
  { name: 'an unknown directive', text: '%FOO bar\n---\nversion: 1\nmachines:\n  web: { box: tiny }\n' },
  {
    name: 'a comment line of 200 000 characters',
    text: `# ${'x'.repeat(200_000)}\nversion: 1\nmachines:\n  web: { box: tiny }\n`,
    ok: (e) => expectEq(e.machines.length, 1),
  },
);

// ---- aliases ---------------------------------------------------------------------------------
aliases.push(
  { name: 'an alias without an anchor', text: lines('version: 1', 'machines:', '  web: *base') },
  { name: 'a mapping that contains its own alias', text: lines('version: 1', 'machines: &m { web: *m }') },
  {
    name: 'a list that contains its own alias',
    text: lines('version: 1', 'x-loop: &a [1, *a]', 'machines: { web: { box: tiny } }'),
  },
  {
    name: 'a mapping that merges itself',
    text: lines('version: 1', 'defaults: &d { <<: *d }', 'machines: { web: { box: tiny } }'),
  },
  {
    name: 'an alias bomb',
    text: lines(
      'version: 1',
      'x-a: &a [x, x, x, x, x, x, x, x, x, x]',
      'x-b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]',
      'x-c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]',
      'x-d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]',
      'machines: { web: { box: tiny, qemu: { extra_args: *d } } }',
    ),
  },
  {
    name: 'merging a scalar',
    text: lines('version: 1', 'x-s: &s just-text', 'machines:', '  web:', '    <<: *s', '    box: tiny'),
  },
  {
    name: 'merging a list of mappings',
    text: lines(
      'version: 1',
      'x-small: &small { cpus: 1, memory: 256 }',
      'x-named: &named { box: tiny, hostname: merged }',
      'machines:',
      '  web: { <<: [*named, *small], cpus: 2 }',
    ),
    ok: (e) =>
      expectEq([e.machines[0]?.cpus, e.machines[0]?.memory, e.machines[0]?.hostname], [2, 256, 'merged']),
  },
  {
    name: 'an anchor kept under an x- key',
    text: lines(
      'version: 1',
      'x-common: &c { box: tiny, cpus: 2 }',
      'machines:',
      '  a: { <<: *c }',
      '  b: { <<: *c, cpus: 3 }',
    ),
    ok: (e) =>
      expectEq(
        e.machines.map((m) => [m.name, m.box, m.cpus]),
        [
          ['a', 'tiny', 2],
          ['b', 'tiny', 3],
        ],
      ),
  },
  {
    name: 'one machine reused for another',
    text: lines('version: 1', 'machines:', '  a: &a { box: tiny, memory: 300 }', '  b: *a'),
    ok: (e) =>
      expectEq(
        e.machines.map((m) => m.memory),
        [300, 300],
      ),
  },
  {
    name: 'an alias before its anchor',
    text: lines('version: 1', 'machines:', '  a: *later', '  b: &later { box: tiny }'),
  },
);

// ---- huge inputs -----------------------------------------------------------------------------
huge.push(
  { name: 'a Boxfile over 1 MiB', text: web(`hostname: ${'a'.repeat(1024 * 1024)}`) },
  {
    name: 'flow collections 250 deep',
    text: lines(
      'version: 1',
      `x-deep: ${'['.repeat(250)}${']'.repeat(250)}`,
      'machines: { web: { box: tiny } }',
    ),
  },
  { name: 'flow collections 400 000 deep', text: `x: ${'['.repeat(400_000)}\n` },
  {
    name: 'flow collections 150 deep, under the limit',
    text: lines(
      'version: 1',
      `x-deep: ${'['.repeat(150)}${']'.repeat(150)}`,
      'machines: { web: { box: tiny } }',
    ),
    ok: (e) => expectEq(e.machines.length, 1),
  },
  {
    name: '2000 machines',
    text: lines(
      'version: 1',
      'defaults: { box: tiny }',
      'machines:',
      ...Array.from({ length: 2000 }, (_, i) => `  m${i}: {}`),
    ),
    ok: (e) => expectEq([e.machines.length, e.machines.at(-1)?.name], [2000, 'm1999']),
  },
  {
    name: 'a machine name of 100 000 characters',
    text: lines('version: 1', 'machines:', `  ${'w'.repeat(100_000)}: { box: tiny }`),
  },
  { name: 'a hostname of 100 000 characters', text: web(`hostname: ${'h'.repeat(100_000)}`) },
  {
    name: '300 unknown keys',
    text: web(...Array.from({ length: 300 }, (_, i) => `unknown${i}: 1`)),
  },
);

// ---- unicode ---------------------------------------------------------------------------------
unicode.push(
  { name: 'an accented machine name', text: lines('version: 1', 'machines:', '  wéb: { box: tiny }') },
  {
    name: 'a Cyrillic homoglyph in a machine name',
    text: lines('version: 1', 'machines:', '  w\u0435b: { box: tiny }'),
  },
  {
    name: 'a right-to-left override in a machine name',
    text: lines('version: 1', 'machines:', '  "ab\u202ecd": { box: tiny }'),
  },
  { name: 'a zero-width space in a box name', text: web().replace('box: tiny', 'box: "ti\u200bny"') },
  { name: 'an emoji box name', text: web().replace('box: tiny', 'box: "📦"') },
  { name: 'a hostname with an umlaut', text: web('hostname: münchen') },
  { name: 'a full-width digit for cpus', text: web('cpus: ２') },
  { name: 'a full-width letter in a key', text: lines('ｖersion: 1', 'machines: { web: { box: tiny } }') },
  {
    name: 'an accented network name',
    text: lines(
      'version: 1',
      'networks:',
      '  réseau: { type: private, cidr: 10.9.0.0/24 }',
      'machines: { web: { box: tiny } }',
    ),
  },
  {
    name: 'unicode in an env value',
    text: web('provision:', '  - shell: echo "$GREETING"', '    env: { GREETING: "grüß dich ✓" }'),
    ok: (e) => {
      const p = e.machines[0]?.provision[0];
      expectEq(p?.kind === 'shell' ? p.env['GREETING'] : undefined, 'grüß dich ✓');
    },
  },
);

// ---- traversal -------------------------------------------------------------------------------
traversal.push(
  { name: 'box ../../x', text: web().replace('box: tiny', 'box: ../../x') },
  { name: 'box ..', text: web().replace('box: tiny', 'box: ..') },
  { name: 'box /etc/passwd', text: web().replace('box: tiny', 'box: /etc/passwd') },
  {
    name: 'box in defaults as org/name (a Vagrant Cloud name, valid)',
    text: lines('version: 1', 'defaults: { box: acme/base }', 'machines: { web: {} }'),
    ok: (e) => expectEq(e.machines[0]?.box, 'acme/base'),
  },
  {
    name: 'box with three segments',
    text: lines('version: 1', 'defaults: { box: a/b/c }', 'machines: { web: {} }'),
  },
  { name: 'box_version ../1', text: web('box_version: ../1') },
  {
    name: 'network ../x',
    text: lines(
      'version: 1',
      'networks:',
      '  ../x: { type: private, cidr: 10.9.0.0/24 }',
      'machines: { web: { box: tiny } }',
    ),
  },
  {
    name: 'network ..',
    text: lines(
      'version: 1',
      'networks:',
      '  "..": { type: private, cidr: 10.9.0.0/24 }',
      'machines: { web: { box: tiny } }',
    ),
  },
  { name: 'machine ../x', text: lines('version: 1', 'machines:', '  ../x: { box: tiny }') },
  { name: 'synced folder into /', text: web('synced_folders: [{ src: ., dest: / }]') },
  { name: 'synced folder into //', text: web('synced_folders: [{ src: ., dest: // }]') },
  { name: 'synced folder into /srv/../..', text: web('synced_folders: [{ src: ., dest: /srv/../.. }]') },
  {
    name: 'synced folder into /srv/./',
    text: web('synced_folders: [{ src: ., dest: /srv/./ }]'),
    ok: (e) => expectEq(e.machines[0]?.syncedFolders[0]?.dest, '/srv/./'),
  },
  {
    name: 'file provisioner to /tmp/../etc/passwd',
    text: web('provision: [{ file: ./conf, dest: /tmp/../etc/passwd }]'),
    files: { conf: 'x\n' },
  },
  {
    name: 'shell_path that is a directory',
    text: web('provision: [{ shell_path: ./scripts }]'),
    files: { 'scripts/a.sh': 'true\n' },
  },
  {
    name: 'a synced folder src that is a file',
    text: web('synced_folders: [{ src: ./notes.txt, dest: /srv/notes }]'),
    files: { 'notes.txt': 'x\n' },
  },
  {
    name: 'a private key that is a directory',
    text: web('ssh: { private_key: ./keys }'),
    files: { 'keys/id': 'x\n' },
  },
  {
    name: 'a synced folder from outside the project (allowed: the Boxfile is trusted)',
    text: web('synced_folders: [{ src: ../outside, dest: /srv/outside }]'),
    ok: (e) => expectEq(e.machines[0]?.syncedFolders[0]?.dest, '/srv/outside'),
  },
);

// ---- injection -------------------------------------------------------------------------------
const bridged = (iface: string) =>
  lines(
    'version: 1',
    'networks:',
    `  lan: { type: bridged, interface: ${iface} }`,
    'machines: { web: { box: tiny, networks: [{ network: lan }] } }',
  );
injection.push(
  { name: 'a bridge name carrying a QEMU option', text: bridged('"br0,helper=/tmp/x"') },
  { name: 'a bridge name with a space', text: bridged('"br0 -x"') },
  { name: 'a bridge name with a newline', text: bridged('"br0\\nallow all"') },
  { name: 'a bridge name of 16 characters', text: bridged('br0123456789abcd') },
  {
    name: 'an SSH user with a newline and a ProxyCommand',
    text: web('ssh: { user: "root\\nProxyCommand sh -c evil" }'),
  },
  { name: 'an SSH user with a space', text: web('ssh: { user: "a b" }') },
  { name: 'an SSH user that is an option', text: web('ssh: { user: -oProxyCommand=evil }') },
  {
    name: 'an SSH user in defaults',
    text: lines('version: 1', 'defaults: { box: tiny, ssh: { user: "x;y" } }', 'machines: { web: {} }'),
  },
  { name: 'a hostname with a command', text: web('hostname: "web;rm -rf /"') },
  {
    name: 'a chown with a command',
    text: web('synced_folders: [{ src: ., dest: /srv, chown: "root;reboot" }]'),
  },
  {
    name: 'the broadcast MAC',
    text: lines(
      'version: 1',
      'networks: { n: { type: private, cidr: 10.9.0.0/24 } }',
      'machines: { web: { box: tiny, networks: [{ network: n, ip: 10.9.0.5, mac: "ff:ff:ff:ff:ff:ff" }] } }',
    ),
  },
  {
    name: 'a multicast MAC',
    text: lines(
      'version: 1',
      'networks: { n: { type: private, cidr: 10.9.0.0/24 } }',
      'machines: { web: { box: tiny, networks: [{ network: n, ip: 10.9.0.5, mac: "01:00:5e:00:00:01" }] } }',
    ),
  },
  {
    name: 'the all-zero MAC',
    text: lines(
      'version: 1',
      'networks: { n: { type: private, cidr: 10.9.0.0/24 } }',
      'machines: { web: { box: tiny, networks: [{ network: n, ip: 10.9.0.5, mac: "00:00:00:00:00:00" }] } }',
    ),
  },
  { name: 'an env name with a semicolon', text: web('provision: [{ shell: env, env: { "A;B": x } }]') },
  { name: 'an env name starting with a digit', text: web('provision: [{ shell: env, env: { 1ABC: x } }]') },
  {
    name: 'credentials in the VirtualBox URL',
    text: lines(
      'version: 1',
      'provider: virtualbox',
      'virtualbox: { url: "http://admin:hunter2@vbox:18083/" }',
      'machines: { web: { box: tiny } }',
    ),
  },
  {
    name: 'a javascript: VirtualBox URL',
    text: lines(
      'version: 1',
      'provider: virtualbox',
      'virtualbox: { url: "javascript:alert(1)" }',
      'machines: { web: { box: tiny } }',
    ),
  },
  {
    name: 'a synced folder dest with a newline',
    text: web('synced_folders: [{ src: ., dest: "/srv/a\\nb" }]'),
  },
  {
    name: 'a machine named like an option',
    text: lines('version: 1', 'machines:', '  -oProxyCommand: { box: tiny }'),
  },
  {
    name: 'a ${VAR} that brings a newline into the hostname',
    text: web('hostname: "${HN}"'),
    env: { HN: 'web\nProxyCommand evil' },
  },
  {
    name: 'a secret from the environment in a value of the wrong type is never echoed',
    text: web('provision:', '  - shell: echo', '    env:', '      PIN: ${PIN}'),
    env: { PIN: '424242' },
    never: ['424242'],
  },
  {
    name: 'a shell body keeps ${#VAR}, ${VAR%x} and ${HOME} for the shell',
    text: web('provision:', '  - shell: |', '      echo "${#TOKEN} ${TOKEN%x} ${HOME} $${X}"'),
    env: { HOME: '/host/home' },
    ok: (e) => {
      const p = e.machines[0]?.provision[0];
      expectEq(
        p?.kind === 'shell' && 'inline' in p.source ? p.source.inline : '',
        'echo "${#TOKEN} ${TOKEN%x} ${HOME} $${X}"\n',
      );
    },
  },
  {
    name: '${VAR} still applies to every other value, and host values reach scripts through env',
    text: web(
      'hostname: ${HN}',
      'provision:',
      '  - shell: echo "$HOST_HOME"',
      '    env: { HOST_HOME: "${HOME}" }',
    ),
    env: { HN: 'from-env', HOME: '/host/home' },
    ok: (e) => {
      const p = e.machines[0]?.provision[0];
      expectEq(
        [e.machines[0]?.hostname, p?.kind === 'shell' ? p.env['HOST_HOME'] : ''],
        ['from-env', '/host/home'],
      );
    },
  },
  {
    name: "qemu extra_args and rsync args are the user's own (trusted, like a Vagrantfile)",
    text: web(
      'qemu: { extra_args: ["-device", "usb-tablet"] }',
      'synced_folders: [{ src: ., dest: /srv, args: ["--checksum"] }]',
    ),
    ok: (e) => expectEq(e.machines[0]?.qemu.extraArgs, ['-device', 'usb-tablet']),
  },
);

// ---- numeric edge cases ----------------------------------------------------------------------
for (const [v, what] of [
  ['0', 'zero'],
  ['-1', 'negative'],
  ['65', 'too many'],
  ['1.5', 'a fraction'],
  ['1e3', 'an exponent'],
  ['.inf', 'infinity'],
  ['-.inf', 'minus infinity'],
  ['.nan', 'NaN'],
  ['9007199254740993', 'beyond 2^53'],
  ['"2"', 'a quoted number'],
  ['true', 'a boolean'],
  ['1_000', 'digits with underscores (a string in YAML 1.2)'],
] as const)
  numeric.push({ name: `cpus: ${what}`, text: web(`cpus: ${v}`) });
numeric.push(
  { name: 'cpus: hexadecimal', text: web('cpus: 0x10'), ok: (e) => expectEq(e.machines[0]?.cpus, 16) },
  { name: 'cpus: octal', text: web('cpus: 0o7'), ok: (e) => expectEq(e.machines[0]?.cpus, 7) },
  { name: 'memory below the minimum', text: web('memory: 63') },
  { name: 'memory above the maximum', text: web('memory: 1048577') },
  { name: 'memory of 0GiB', text: web('memory: 0GiB') },
  { name: 'memory of -1GiB', text: web('memory: -1GiB') },
  { name: 'memory with an exponent', text: web('memory: 1e3MiB') },
  {
    name: 'memory of 2 GiB with a space',
    text: web('memory: 2 GiB'),
    ok: (e) => expectEq(e.machines[0]?.memory, 2048),
  },
  { name: 'memory of 2TiB', text: web('memory: 2TiB') },
  { name: 'host port 0', text: web('forwarded_ports: [{ guest: 80, host: 0 }]') },
  { name: 'host port 65536', text: web('forwarded_ports: [{ guest: 80, host: 65536 }]') },
  { name: 'guest port -1', text: web('forwarded_ports: [{ guest: -1, host: 8080 }]') },
  { name: 'host port 22.5', text: web('forwarded_ports: [{ guest: 80, host: 22.5 }]') },
  { name: 'boot_timeout 0', text: web('boot_timeout: 0') },
  {
    name: 'version 1.0',
    text: lines('version: 1.0', 'machines: { web: { box: tiny } }'),
    ok: (e) => expectEq(e.machines.length, 1),
  },
  { name: 'version "1"', text: lines('version: "1"', 'machines: { web: { box: tiny } }') },
  {
    name: 'one fixed host port on two machines',
    text: lines(
      'version: 1',
      'machines:',
      '  a: { box: tiny, forwarded_ports: [{ guest: 80, host: 8080 }] }',
      '  b: { box: tiny, forwarded_ports: [{ guest: 81, host: 8080 }] }',
    ),
  },
  {
    name: 'an address octet of 256',
    text: lines(
      'version: 1',
      'networks: { n: { type: private, cidr: 10.9.0.0/24 } }',
      'machines: { web: { box: tiny, networks: [{ network: n, ip: 10.9.0.256 }] } }',
    ),
  },
);

// ---- what stands at Boxfile.yaml ----------------------------------------------------------------
files.push(
  { name: 'Boxfile.yaml is a directory', text: (f) => mkdirSync(f) },
  { name: 'Boxfile.yaml is a dangling symlink', text: (f) => symlinkSync('nowhere.yaml', f) },
  { name: 'Boxfile.yaml is a symlink loop', text: (f) => symlinkSync('Boxfile.yaml', f) },
  { name: 'Boxfile.yaml is a FIFO', text: (f) => void execFileSync('mkfifo', [f]) },
  { name: 'Boxfile.yaml is a device', text: (f) => symlinkSync('/dev/zero', f) },
);

// ---- every key's wrong types --------------------------------------------------------------------
/** [the key path as YAML lines under `web:` (or at the top), a wrong value] */
const machineKeys: [string, string][] = [
  ['box', '1'],
  ['box_version', '[]'],
  ['profile', '{}'],
  ['cpus', '"x"'],
  ['memory', '[]'],
  ['disk_size', '{}'],
  ['hostname', '5'],
  ['networks', '{}'],
  ['forwarded_ports', 'x'],
  ['synced_folders', '1'],
  ['provision', '{}'],
  ['ssh', '[]'],
  ['boot_timeout', 'x'],
  ['autostart', 'yes'],
  ['primary', '1'],
  ['instant', 'no'],
  ['qemu', '[]'],
  ['virtualbox', 'x'],
];
const nested: [string, string, string][] = [
  // [container line under web, the key, a wrong value]
  ['ssh', 'user', '1'],
  ['ssh', 'port', 'x'],
  ['ssh', 'private_key', '1'],
  ['qemu', 'accel', '1'],
  ['qemu', 'restrict_network', 'x'],
  ['qemu', 'disk_interface', '1'],
  ['qemu', 'extra_args', 'x'],
  ['virtualbox', 'url', '1'],
  ['virtualbox', 'gui', 'x'],
  ['virtualbox', 'linked_clone', 'x'],
  ['virtualbox', 'os_type', '1'],
];
const listItems: [string, string, string, string][] = [
  // [list, the other required keys of an item, the key, a wrong value]
  ['forwarded_ports', 'guest: 80, host: 8080', 'host_ip', '1'],
  ['forwarded_ports', 'guest: 80, host: 8080', 'protocol', '1'],
  ['forwarded_ports', 'guest: 80, host: 8080', 'auto_correct', 'x'],
  ['forwarded_ports', 'host: 8080', 'guest', 'x'],
  ['synced_folders', 'src: ., dest: /srv', 'exclude', 'x'],
  ['synced_folders', 'src: ., dest: /srv', 'delete', 'x'],
  ['synced_folders', 'src: ., dest: /srv', 'chown', '1'],
  ['synced_folders', 'src: ., dest: /srv', 'args', 'x'],
  ['synced_folders', 'src: ., dest: /srv', 'auto', '1'],
  ['synced_folders', 'src: ., dest: /srv', 'disabled', '1'],
  ['synced_folders', 'dest: /srv', 'src', '1'],
  ['provision', 'shell: env', 'name', '1'],
  ['provision', 'shell: env', 'run', '1'],
  ['provision', 'shell: env', 'args', 'x'],
  ['provision', 'shell: env', 'env', '[]'],
  ['provision', 'shell: env', 'privileged', 'x'],
  ['provision', 'dest: /x', 'file', '1'],
  ['provision', 'name: a', 'shell', '1'],
  ['provision', 'name: a', 'shell_path', '[]'],
  ['networks', 'network: n', 'ip', '1'],
  ['networks', 'network: n', 'dhcp', 'x'],
  ['networks', 'network: n', 'mac', '1'],
  ['networks', 'ip: 10.9.0.5', 'network', '1'],
];
const topKeys: [string, string][] = [
  ['version', 'one'],
  ['provider', '1'],
  ['virtualbox', '[]'],
  ['defaults', '[]'],
  ['profiles', '[]'],
  ['networks', '[]'],
  ['machines', '[]'],
];
const networkKeys: [string, string, string][] = [
  ['type: private, cidr: 10.9.0.0/24', 'dhcp', 'x'],
  ['type: private', 'cidr', '1'],
  ['type: bridged', 'interface', '[]'],
  ['cidr: 10.9.0.0/24', 'type', '1'],
];

export const wrongTypes: { name: string; text: string; line: number; value: string; path: string }[] = [
  ...machineKeys.map(([key, value]) => ({
    name: `machines.web.${key}: ${value}`,
    text:
      key === 'box'
        ? lines('version: 1', 'machines:', '  web:', '    hostname: web', `    box: ${value}`)
        : web(`${key}: ${value}`),
    line: 5,
    value,
    path: `machines.web.${key}`,
  })),
  ...nested.map(([block, key, value]) => ({
    name: `machines.web.${block}.${key}: ${value}`,
    text: web(`${block}: { ${key}: ${value} }`),
    line: 5,
    value,
    path: `machines.web.${block}.${key}`,
  })),
  ...listItems.map(([list, rest, key, value]) => ({
    name: `machines.web.${list}[0].${key}: ${value}`,
    text: lines(
      'version: 1',
      'networks: { n: { type: private, cidr: 10.9.0.0/24 } }',
      'machines:',
      '  web:',
      '    box: tiny',
      `    ${list}: [{ ${rest}, ${key}: ${value} }]`,
    ),
    line: 6,
    value,
    path: `machines.web.${list}[0].${key}`,
  })),
  ...topKeys.map(([key, value]) => ({
    name: `${key}: ${value}`,
    text:
      key === 'version'
        ? lines(`version: ${value}`, 'machines: { web: { box: tiny } }')
        : key === 'machines'
          ? lines('version: 1', `machines: ${value}`)
          : lines('version: 1', `${key}: ${value}`, 'machines: { web: { box: tiny } }'),
    line: key === 'version' ? 1 : 2,
    value,
    path: key,
  })),
  ...networkKeys.map(([rest, key, value]) => ({
    name: `networks.n.${key}: ${value}`,
    text: lines(
      'version: 1',
      `networks: { n: { ${rest}, ${key}: ${value} } }`,
      'machines: { web: { box: tiny } }',
    ),
    line: 2,
    value,
    path: `networks.n.${key}`,
  })),
  {
    name: 'an env value mapping with a wrong value',
    text: web('provision: [{ shell: env, env: { A: { value: 1 } } }]'),
    line: 5,
    value: '1',
    path: 'machines.web.provision[0].env.A.value',
  },
  {
    name: 'an env value mapping with a wrong secret flag',
    text: web('provision: [{ shell: env, env: { A: { value: a, secret: x } } }]'),
    line: 5,
    value: 'x',
    path: 'machines.web.provision[0].env.A.secret',
  },
];

export const corpus: [string, Case[]][] = [
  ['syntax', syntax],
  ['aliases', aliases],
  ['huge inputs', huge],
  ['unicode', unicode],
  ['traversal', traversal],
  ['injection', injection],
  ['numeric edge cases', numeric],
  ['what stands at Boxfile.yaml', files],
];

function expectEq(actual: unknown, want: unknown): void {
  if (JSON.stringify(actual) !== JSON.stringify(want))
    throw new Error(`expected ${JSON.stringify(want)}, got ${JSON.stringify(actual)}`);
}
