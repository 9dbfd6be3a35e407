// `cloud_init:` and `disks:` in the Boxfile: merged from defaults, checked where cloud-init is
// stricter than a mapping, keys boxfest owns refused where they are written; disk names unique.
import { describe, expect, it } from 'vitest';
import { environment, fakeFs, problems, ROOT, yaml } from './helpers.js';
import { CAPABILITIES } from '../../../src/providers/capabilities.js';

const boxfile = (...machine: string[]) =>
  yaml(
    'version: 1',
    'defaults: { box: debian-12 }',
    'machines:',
    '  web:',
    ...machine.map((l) => `    ${l}`),
  );

describe('cloud_init', () => {
  it('merges defaults under the machine: lists concatenated, mappings key by key', () => {
    const env = environment(
      yaml(
        'version: 1',
        'defaults:',
        '  box: debian-12',
        '  cloud_init: { packages: [curl], growpart: { mode: auto, devices: [/] } }',
        'machines:',
        '  web:',
        '    cloud_init: { packages: [nginx], growpart: { mode: "off" }, runcmd: [echo hi] }',
        '  db: {}',
      ),
    );
    expect(env.machines.map((m) => m.cloudInit)).toEqual([
      { packages: ['curl', 'nginx'], growpart: { mode: 'off', devices: ['/'] }, runcmd: ['echo hi'] },
      { packages: ['curl'], growpart: { mode: 'auto', devices: ['/'] } },
    ]);
  });

  it('passes keys boxfest does not know to cloud-init as written', () => {
    expect(
      problems(boxfile('cloud_init: { apt: { preserve_sources_list: true }, ntp: { enabled: true } }')),
    ).toEqual([]);
  });

  it.each([
    ['packages: nginx', '5:29 machines.web.cloud_init.packages: "nginx" is not a list'],
    [
      'write_files: [{ content: x }]',
      '5:33 machines.web.cloud_init.write_files[0].path: missing required key `path`',
    ],
    [
      'write_files: [{ path: /x, mode: "0644" }]',
      '5:45 machines.web.cloud_init.write_files[0].mode: unknown key `mode` (allowed keys here: path, content, owner, permissions, encoding, append, defer)',
    ],
    [
      'write_files: [{ path: /x, permissions: 644 }]',
      '5:58 machines.web.cloud_init.write_files[0].permissions: 644 is not a string',
    ],
    ['runcmd: [1]', '5:28 machines.web.cloud_init.runcmd[0]: 1 is not a string or a list'],
    [
      'growpart: { mode: sometimes }',
      '5:37 machines.web.cloud_init.growpart.mode: "sometimes" is not one of auto, growpart, gpart, off, false',
    ],
    [
      'resize_rootfs: later',
      '5:34 machines.web.cloud_init.resize_rootfs: "later" is not one of true, false, noblock',
    ],
  ])('`%s`: checked like cloud-init does', (written, want) => {
    expect(problems(boxfile(`cloud_init: { ${written} }`))).toEqual([want]);
  });

  it('refuses every key boxfest owns, where it is written, saying what to do instead', () => {
    const text = yaml(
      'version: 1',
      'defaults:',
      '  box: debian-12',
      '  cloud_init: { ssh_pwauth: true }',
      'machines:',
      '  web:',
      '    cloud_init:',
      '      users: [default]',
      '      hostname: other',
      '      packages: [nginx]',
    );
    expect(problems(text)).toEqual([
      "4:17 defaults.cloud_init.ssh_pwauth: `cloud_init.ssh_pwauth` is boxfest's: boxfest machines have no password login (remove it)",
      "8:7 machines.web.cloud_init.users: `cloud_init.users` is boxfest's: boxfest creates the SSH user with the machine’s own key (set `ssh.user`)",
      "9:7 machines.web.cloud_init.hostname: `cloud_init.hostname` is boxfest's: the machine’s hostname is boxfest’s (set `hostname` on the machine)",
    ]);
  });
});

describe('disks', () => {
  it('resolves sizes to MiB, defaults’ disks first', () => {
    const env = environment(
      yaml(
        'version: 1',
        'defaults: { box: b, disks: [{ name: scratch, size: 512 }] }',
        'machines:',
        '  web: { disks: [{ name: data, size: 10GiB }] }',
      ),
    );
    expect(env.machines[0]?.disks).toEqual([
      { name: 'scratch', size: 512 },
      { name: 'data', size: 10240 },
    ]);
  });

  it.each([
    ['[{ name: data }]', '5:13 machines.web.disks[0].size: missing required key `size`'],
    [
      '[{ name: Data, size: 1 }]',
      '5:21 machines.web.disks[0].name: "Data" is not a valid disk name (use lowercase letters, digits, `-` and `_`, at most 12, e.g. `data`)',
    ],
    [
      '[{ name: data, size: 10GB }]',
      '5:33 machines.web.disks[0].size: "10GB" is not a size (did you mean `10GiB`? sizes use binary units: MiB, GiB or TiB)',
    ],
    [
      '[{ name: data, size: 1 }, { name: data, size: 2 }]',
      '5:46 machines.web.disks[1].name: machine `web` already has a disk named `data` (give each of its disks its own `name`; a disk in `defaults` is every machine’s)',
    ],
  ])('%s', (disks, want) => {
    expect(problems(boxfile(`disks: ${disks}`))).toEqual([want]);
  });

  it('is refused on VirtualBox, which cannot do it yet', () => {
    const text = yaml(
      'version: 1',
      'provider: virtualbox',
      'machines:',
      '  web: { box: b, disks: [{ name: data, size: 1024 }] }',
    );
    expect(problems(text, fakeFs(), ROOT, { capabilities: CAPABILITIES.virtualbox })).toEqual([
      '4:18 machines.web.disks: provider `virtualbox` cannot do extra data disks yet (remove `disks`, or see the issue tracker for when it lands)',
    ]);
  });
});
