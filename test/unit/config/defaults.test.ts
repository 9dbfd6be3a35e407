// Written → resolved: built-ins, precedence (machine > defaults > built-in), list concatenation,
// path resolution and provisioner names. Through the whole pipeline, so these files are also valid.

import { describe, expect, it } from 'vitest';
import { fillDefaults, projectName } from '../../../src/config/defaults.js';
import type { MachineSpec } from '../../../src/config/types.js';
import { environment, fakeFs, yaml } from './helpers.js';

const web = (env: { machines: MachineSpec[] }, name = 'web'): MachineSpec => {
  const m = env.machines.find((x) => x.name === name);
  if (m === undefined) throw new Error(`no machine ${name}`);
  return m;
};

describe('fillDefaults', () => {
  it('fills built-ins for a minimal file', () => {
    expect(environment(yaml('version: 1', 'machines:', '  web: { box: debian-12 }')).machines).toEqual([
      {
        name: 'web',
        provider: 'qemu',
        box: 'debian-12',
        cpus: 1,
        memory: 512,
        hostname: 'web',
        bootTimeout: 120,
        ssh: {},
        syncedFolders: [],
        provision: [],
        triggers: [],
        sshForwardAgent: false,
        disks: [],
        cloudInit: {},
        networks: [],
        forwardedPorts: [],
        sshGuestPort: 22,
        autostart: true,
        primary: false,
        instant: false,
        qemu: { accel: 'auto', restrictNetwork: false, extraArgs: [] },
        virtualbox: { gui: false, linkedClone: true },
        libvirt: { uri: 'qemu:///system', uriFrom: 'default', pool: 'default', managementNetwork: 'boxfest' },
      },
    ]);
  });

  it('describes the project', () => {
    const env = environment(yaml('version: 1', 'provider: qemu', 'machines: { web: { box: a } }'));
    expect({ file: env.file, root: env.root, name: env.name, provider: env.provider }).toEqual({
      file: '/proj/Boxfile.yaml',
      root: '/proj',
      name: 'proj',
      provider: 'qemu',
    });
  });

  it('lets a machine override defaults, key by key', () => {
    const env = environment(
      yaml(
        'version: 1',
        'defaults:',
        '  box: debian-12',
        '  cpus: 2',
        '  memory: 2048',
        '  boot_timeout: 300',
        '  ssh: { user: admin, private_key: keys/id }',
        'machines:',
        '  web:',
        '    cpus: 4',
        '    hostname: www.local',
        '    ssh: { user: root }',
        '  db:',
        '    box: alpine-3',
        '    boot_timeout: 60',
      ),
      fakeFs('/proj/keys/id'),
    );
    const pick = (m: MachineSpec) => [m.box, m.cpus, m.memory, m.hostname, m.bootTimeout, m.ssh];
    expect(pick(web(env))).toEqual([
      'debian-12',
      4,
      2048,
      'www.local',
      300,
      { user: 'root', privateKey: '/proj/keys/id' },
    ]);
    expect(pick(web(env, 'db'))).toEqual([
      'alpine-3',
      2,
      2048,
      'db',
      60,
      { user: 'admin', privateKey: '/proj/keys/id' },
    ]);
  });

  it('gives an empty (null) machine all the defaults', () => {
    const env = environment(
      yaml('version: 1', 'defaults: { box: debian-12, memory: 1024 }', 'machines:', '  web:'),
    );
    expect([web(env).box, web(env).memory, web(env).hostname]).toEqual(['debian-12', 1024, 'web']);
  });

  it('concatenates lists, defaults first, and names provisioners by merged position', () => {
    const env = environment(
      yaml(
        'version: 1',
        'defaults:',
        '  box: debian-12',
        '  synced_folders: [{ src: ., dest: /vagrant }]',
        '  provision:',
        '    - shell: apt-get update',
        '    - { name: tools, shell: apt-get install -y git, run: always }',
        'machines:',
        '  web:',
        '    synced_folders:',
        '      - { src: ./app, dest: /srv/app }',
        '      - { src: /data, dest: /data }',
        '    provision:',
        '      - shell: make install',
        '  db:',
      ),
      fakeFs('/proj', '/proj/app', '/data'),
    );
    const folder = { type: 'rsync', exclude: [], delete: true, args: [], auto: true, disabled: false };
    expect(web(env).syncedFolders).toEqual([
      { src: '/proj', dest: '/vagrant', ...folder },
      { src: '/proj/app', dest: '/srv/app', ...folder },
      { src: '/data', dest: '/data', ...folder },
    ]);
    const shell = (name: string, inline: string, run = 'once') => ({
      kind: 'shell',
      name,
      run,
      source: { inline },
      args: [],
      env: {},
      secrets: [],
      privileged: true,
    });
    expect(web(env).provision).toEqual([
      shell('shell-1', 'apt-get update'),
      shell('tools', 'apt-get install -y git', 'always'),
      shell('shell-3', 'make install'),
    ]);
    expect(web(env, 'db').provision.map((p) => p.name)).toEqual(['shell-1', 'tools']);
  });

  it('keeps machines in file order, even names that look like numbers', () => {
    const env = environment(
      yaml('version: 1', 'defaults: { box: a }', 'machines:', '  web:', '  "2":', '  1:', '  db:'),
    );
    expect(env.machines.map((m) => m.name)).toEqual(['web', '2', '1', 'db']);
  });

  it('takes merge keys (`<<: *anchor`) as if written in place', () => {
    const env = environment(
      yaml(
        'version: 1',
        'machines:',
        '  web: &base { box: debian-12, cpus: 2 }',
        '  db: { <<: *base, cpus: 4 }',
      ),
    );
    expect(env.machines.map((m) => [m.name, m.box, m.cpus])).toEqual([
      ['web', 'debian-12', 2],
      ['db', 'debian-12', 4],
    ]);
  });

  it('is pure: the written value is not modified', () => {
    const written = {
      version: 1,
      defaults: { provision: [{ shell: 'a' }] },
      machines: { web: { box: 'x' } },
    };
    const before = structuredClone(written);
    fillDefaults(written, { file: '/p/Boxfile.yaml', root: '/p' });
    fillDefaults(written, { file: '/p/Boxfile.yaml', root: '/p' });
    expect(written).toEqual(before);
  });
});

describe('projectName', () => {
  it.each([
    ['/home/me/proj', 'proj'],
    ['/home/me/My App!', 'my-app'],
    ['/srv/--web__site--', 'web-site'],
    ['/x/' + 'a'.repeat(39) + '-b', 'a'.repeat(39)],
    ['/x/' + 'b'.repeat(50), 'b'.repeat(40)],
    ['/x/日本', 'project'],
    ['/', 'project'],
  ])('%s → %s', (root, want) => {
    expect(projectName(root)).toBe(want);
  });
});
