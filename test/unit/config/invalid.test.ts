// Every way a Boxfile can be wrong, with the exact message and position the user sees.

import { describe, expect, it } from 'vitest';
import { fakeFs, problems, yaml } from './helpers.js';

interface Case {
  name: string;
  text: string;
  want: string[];
}

// YAML-level problems: reported by load, before the schema runs.
const yamlCases: Case[] = [
  {
    name: 'duplicate key, at the second occurrence',
    text: yaml(
      'version: 1',
      'machines:',
      '  web:',
      '    box: debian-12',
      '    memory: 1024',
      '    memory: 2048',
    ),
    want: [
      '6:5 machines.web.memory: duplicate key `memory` (each key may appear only once in a mapping; remove or merge the duplicates)',
    ],
  },
  {
    name: 'unclosed flow sequence',
    text: yaml('version: 1', 'machines:', '  web: [a, b', '  db: {}'),
    want: [
      // yaml notices where the next key starts
      '4:3 machines.db: flow sequence in block collection must be sufficiently indented and end with a ]',
    ],
  },
  {
    name: 'unclosed quote',
    text: yaml('version: 1', 'machines:', '  web:', '    box: "debian-12'),
    want: ['5:1 : missing closing "quote (a quote or bracket is not closed)'],
  },
  {
    name: 'tab indentation',
    text: yaml('version: 1', 'machines:', '  web:', '\tbox: debian-12'),
    want: ['4:1 : tab used for indentation (indent with spaces; YAML does not allow tabs for indentation)'],
  },
  {
    name: 'alias without an anchor',
    text: yaml('version: 1', 'machines:', '  web: *base'),
    want: ['3:8 machines.web: unknown alias `*base` (define the anchor `&base` before using it)'],
  },
  {
    name: 'two documents',
    text: yaml('version: 1', 'machines: {web: {box: a}}', '---', 'version: 1'),
    want: [
      '3:1 : source contains multiple documents; please use YAML.parseAllDocuments() (a Boxfile is a single YAML document; remove the `---` separator)',
    ],
  },
  {
    name: 'empty file',
    text: '# nothing here yet\n',
    want: [
      '1:1 : the Boxfile is empty (start with `version: 1` and a `machines:` mapping (see examples/quickstart))',
    ],
  },
];

// Shape problems: the schema, mapped to positions.
const schemaCases: Case[] = [
  {
    name: 'unknown key, near miss',
    text: yaml('version: 1', 'machines:', '  web:', '    box: debian-12', '    memroy: 1024'),
    want: ['5:5 machines.web.memroy: unknown key `memroy` (did you mean `memory`?)'],
  },
  {
    name: 'unknown key, nothing close',
    text: yaml('version: 1', 'machines:', '  web:', '    box: debian-12', '    ram: 1024'),
    want: [
      '5:5 machines.web.ram: unknown key `ram` (allowed keys here: host, box, box_version, box_url, box_checksum, profile, cpus, memory, disk_size, disks, hostname, networks, forwarded_ports, synced_folders, provision, triggers, ssh, boot_timeout, autostart, primary, instant, cloud_init, qemu, virtualbox)',
    ],
  },
  {
    name: 'unknown key, near miss of a new key',
    text: yaml('version: 1', 'machines:', '  web:', '    box: debian-12', '    network: []'),
    want: ['5:5 machines.web.network: unknown key `network` (did you mean `networks`?)'],
  },
  {
    name: 'unknown top-level key next to the missing one it should be',
    text: yaml('version: 1', 'machine:', '  web: {box: debian-12}'),
    want: [
      '1:1 machines: missing required key `machines` (add a `machines:` mapping with at least one machine)',
      '2:1 machine: unknown key `machine` (did you mean `machines`?)',
    ],
  },
  {
    name: 'wrong type',
    text: yaml('version: 1', 'machines:', '  web:', '    box: debian-12', '    cpus: two'),
    want: ['5:11 machines.web.cpus: "two" is not an integer'],
  },
  {
    name: 'memory with a decimal unit',
    text: yaml('version: 1', 'machines:', '  web:', '    box: debian-12', '    memory: 2G'),
    want: [
      '5:13 machines.web.memory: "2G" is not a size (did you mean `2GiB`? sizes use binary units: MiB, GiB or TiB)',
    ],
  },
  {
    name: 'out of range',
    text: yaml(
      'version: 1',
      'machines:',
      '  web:',
      '    box: debian-12',
      '    cpus: 0',
      '    boot_timeout: 7200',
    ),
    want: [
      '5:11 machines.web.cpus: 0 is below 1',
      '6:19 machines.web.boot_timeout: 7200 is above 3600 (boot_timeout is a number of seconds, e.g. `boot_timeout: 300`)',
    ],
  },
  {
    name: 'empty value of an optional key points at the key',
    text: yaml('version: 1', 'machines:', '  web:', '    box: debian-12', '    hostname:'),
    want: [
      '5:5 machines.web.hostname: an empty value is not a string (the value is empty; write one, or remove the key to use the default)',
    ],
  },
  {
    name: 'invalid hostname',
    text: yaml('version: 1', 'machines:', '  web:', '    box: debian-12', '    hostname: web_1'),
    want: [
      '5:15 machines.web.hostname: "web_1" is not a valid hostname (use letters, digits and hyphens, with dots between labels, e.g. `web-1.local`)',
    ],
  },
  {
    name: 'bad run value',
    text: yaml(
      'version: 1',
      'machines:',
      '  web:',
      '    box: debian-12',
      '    provision:',
      '      - shell: echo hi',
      '        run: sometimes',
    ),
    want: ['7:14 machines.web.provision[0].run: "sometimes" is not one of once, always, never'],
  },
  {
    name: 'provisioner without shell, shell_path or file, at the list item',
    text: yaml(
      'version: 1',
      'machines:',
      '  web:',
      '    box: debian-12',
      '    provision:',
      '      - name: setup',
    ),
    want: [
      '6:9 machines.web.provision[0]: needs one of `shell`, `shell_path`, `file`, `ansible` or `ansible_local` (a provisioner is `shell: SCRIPT`, `shell_path: FILE`, `file: FILE` with `dest: PATH`, `ansible: PLAYBOOK` or `ansible_local: PLAYBOOK`)',
    ],
  },
  {
    name: 'version missing',
    text: yaml('machines:', '  web: {box: debian-12}'),
    want: ['1:1 version: missing required key `version` (add `version: 1` at the top of the file)'],
  },
  {
    name: 'version 2',
    text: yaml('version: 2', 'machines:', '  web: {box: debian-12}'),
    want: ['1:10 version: 2 is not 1 (this version of boxfest reads Boxfile version 1)'],
  },
  {
    name: 'no machines',
    text: yaml('version: 1', 'machines: {}'),
    want: ['2:11 machines: must define at least one machine (add one, e.g. `web: { box: debian-12 }`)'],
  },
  {
    name: 'machines left empty',
    text: yaml('version: 1', 'machines:'),
    want: ['2:1 machines: an empty value is not a mapping (add one, e.g. `web: { box: debian-12 }`)'],
  },
  {
    name: 'a machine that is a string (missing colon after box)',
    text: yaml('version: 1', 'machines:', '  web:', '    box debian-12'),
    want: ['4:5 machines.web: "box debian-12" is not a mapping'],
  },
  {
    name: 'not a mapping at all',
    text: yaml('- web', '- db'),
    want: [': a list is not a mapping (a Boxfile is a mapping with `version: 1` and `machines:`)'].map(
      (s) => `1:1 ${s}`,
    ),
  },
  {
    name: 'unknown provider',
    text: yaml('version: 1', 'provider: vmware', 'machines:', '  web: {box: debian-12}'),
    want: ['2:11 provider: "vmware" is not one of qemu, virtualbox, libvirt'],
  },
  {
    name: 'flow style positions and a key with a slash',
    text: yaml('version: 1', 'machines: {"a/b": {box: x, cpu: 2}}'),
    want: ['2:28 machines."a/b".cpu: unknown key `cpu` (did you mean `cpus`?)'],
  },
  {
    name: 'error inside a merged anchor points at the anchor',
    text: yaml(
      'version: 1',
      'defaults: &base',
      '  box: debian-12',
      '  cpus: many',
      'machines:',
      '  web:',
      '    <<: *base',
    ),
    want: ['4:9 defaults.cpus: "many" is not an integer', '4:9 machines.web.cpus: "many" is not an integer'],
  },
  {
    name: 'several problems at once, in file order',
    text: yaml(
      'version: 1',
      'defaults:',
      '  box: debian-12',
      '  memroy: 1024',
      'machines:',
      '  web:',
      '    cpus: "2"',
      '    synced_folders:',
      '      - src: ./app',
      '    provision:',
      '      - shell: make',
      '        run: nightly',
      '  db:',
      '    hostname: db_1',
    ),
    want: [
      '4:3 defaults.memroy: unknown key `memroy` (did you mean `memory`?)',
      '7:11 machines.web.cpus: "2" is not an integer',
      '9:9 machines.web.synced_folders[0].dest: missing required key `dest` (a synced folder needs `src` (host directory) and `dest` (guest path))',
      '12:14 machines.web.provision[0].run: "nightly" is not one of once, always, never',
      '14:15 machines.db.hostname: "db_1" is not a valid hostname (use letters, digits and hyphens, with dots between labels, e.g. `web-1.local`)',
    ],
  },
];

// Semantic rules: checked after defaults are filled in. The host has /proj/app and nothing else.
const ruleCases: Case[] = [
  {
    name: 'machine without a box, at the machine key',
    text: yaml('version: 1', 'machines:', '  web:', '    cpus: 2', '  db:'),
    want: [
      '3:3 machines.web: machine `web` has no box (set `box:` on the machine or in `defaults`)',
      '5:3 machines.db: machine `db` has no box (set `box:` on the machine or in `defaults`)',
    ],
  },
  {
    name: 'machine name that is not a DNS label',
    text: yaml('version: 1', 'defaults: {box: debian-12}', 'machines:', '  Web_1:', '  -db:', '  ok-1:'),
    want: [
      '4:3 machines.Web_1: machine name "Web_1" is not a valid DNS label (use lowercase letters, digits and hyphens (at most 63, not starting or ending with a hyphen); the name is also the default hostname)',
      '5:3 machines.-db: machine name "-db" is not a valid DNS label (use lowercase letters, digits and hyphens (at most 63, not starting or ending with a hyphen); the name is also the default hostname)',
    ],
  },
  {
    name: 'relative guest path',
    text: yaml(
      'version: 1',
      'machines:',
      '  web:',
      '    box: debian-12',
      '    synced_folders:',
      '      - { src: ./app, dest: srv/app }',
    ),
    want: [
      '6:29 machines.web.synced_folders[0].dest: must be an absolute path in the guest (did you mean `/srv/app`?)',
    ],
  },
  {
    name: 'missing host folder, relative and absolute',
    text: yaml(
      'version: 1',
      'machines:',
      '  web:',
      '    box: debian-12',
      '    synced_folders:',
      '      - src: ./ap',
      '        dest: /srv/app',
      '      - src: /nowhere',
      '        dest: /srv/other',
    ),
    want: [
      '6:14 machines.web.synced_folders[0].src: `./ap` does not exist (resolved to /proj/ap) (create the directory on the host or fix the path)',
      '8:14 machines.web.synced_folders[1].src: `/nowhere` does not exist (create the directory on the host or fix the path)',
    ],
  },
  {
    name: 'missing private key',
    text: yaml('version: 1', 'machines:', '  web:', '    box: debian-12', '    ssh: {private_key: keys/id}'),
    want: [
      "5:24 machines.web.ssh.private_key: `keys/id` does not exist (resolved to /proj/keys/id) (point it at an existing private key, or remove it to use the box's key)",
    ],
  },
  {
    name: 'a problem in defaults is reported once, where it is written',
    text: yaml(
      'version: 1',
      'defaults:',
      '  box: debian-12',
      '  synced_folders: [{ src: ./app, dest: app }]',
      '  ssh: { private_key: /nokey }',
      'machines: { web: , db: , api: }',
    ),
    want: [
      '4:40 defaults.synced_folders[0].dest: must be an absolute path in the guest (did you mean `/app`?)',
      "5:23 defaults.ssh.private_key: `/nokey` does not exist (point it at an existing private key, or remove it to use the box's key)",
    ],
  },
  {
    name: 'duplicate provisioner names, named and generated',
    text: yaml(
      'version: 1',
      'defaults:',
      '  box: debian-12',
      '  provision: [{ name: setup, shell: a }]',
      'machines:',
      '  web:',
      '    provision:',
      '      - { name: setup, shell: b }',
      '      - { shell: c }',
      '      - { name: shell-3, shell: d }',
    ),
    want: [
      '8:17 machines.web.provision[0].name: duplicate provisioner name `setup` (give each provisioner of a machine its own `name`)',
      '10:17 machines.web.provision[2].name: duplicate provisioner name `shell-3` (give each provisioner of a machine its own `name`)',
    ],
  },
];

describe.each([
  ['YAML', yamlCases],
  ['schema', schemaCases],
  ['rules', ruleCases],
])('%s problems', (_stage, cases) => {
  it.each(cases)('$name', ({ text, want }) => {
    expect(problems(text, fakeFs('/proj/app'))).toEqual(want);
  });
});

describe('stages', () => {
  it('stops at YAML problems: no schema noise from a half-parsed file', () => {
    const text = yaml('version: 2', 'machines:', '  web:', '    box: a', '    box: b');
    expect(problems(text)).toEqual([
      '5:5 machines.web.box: duplicate key `box` (each key may appear only once in a mapping; remove or merge the duplicates)',
    ]);
  });

  it('runs the rules only once the shape is right', () => {
    const text = yaml('version: 1', 'machines:', '  Web:', '    cpus: x');
    expect(problems(text)).toEqual(['4:11 machines.Web.cpus: "x" is not an integer']);
  });
});
