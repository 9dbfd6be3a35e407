// The argv, inventory and guest command an Ansible provisioner is run with: every user value is
// one argv element (or shell-quoted in the guest), never an option of its own.
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  findOnPath,
  inventoryOf,
  localCommand,
  localDirsOf,
  localInventoryOf,
  playbookArgs,
} from '../../../src/provision/ansible.js';
import { tempDir } from '../config/helpers.js';
import { ansibleProvisioner } from '../helpers.js';

const base = ansibleProvisioner();

describe('ansible-playbook arguments', () => {
  it.each([
    ['nothing optional', {}, undefined, [], ['--inventory=/i.json', '/proj/site.yml']],
    [
      'vars, limit, tags',
      { tags: ['a', 'b'], skipTags: ['-x'] },
      '/v.json',
      ['web', '--help'],
      [
        '--inventory=/i.json',
        '--extra-vars=@/v.json',
        '--limit=web,--help',
        '--tags=a,b',
        '--skip-tags=-x',
        '/proj/site.yml',
      ],
    ],
  ])('%s', (_name, over, vars, limit, want) => {
    expect(playbookArgs({ ...base, ...over }, { inventory: '/i.json', extraVars: vars }, limit)).toEqual(
      want,
    );
  });
});

describe('inventory', () => {
  it('names each machine by its ssh_config alias, -F quoted for shlex; groups keep known machines', () => {
    const inv = inventoryOf(
      [
        { name: 'web', alias: 'boxfest-p-web', sshConfig: "/my proj/it's/ssh_config", user: 'root' },
        { name: 'db', alias: 'boxfest-p-db', sshConfig: '/p/db/ssh_config', user: 'vagrant' },
      ],
      { app: ['web', 'db'], cache: ['gone'] },
    );
    expect(inv).toEqual({
      all: {
        hosts: {
          web: {
            ansible_host: 'boxfest-p-web',
            ansible_user: 'root',
            ansible_connection: 'ssh',
            ansible_ssh_common_args: `-F '/my proj/it'\\''s/ssh_config'`,
          },
          db: {
            ansible_host: 'boxfest-p-db',
            ansible_user: 'vagrant',
            ansible_connection: 'ssh',
            ansible_ssh_common_args: '-F /p/db/ssh_config',
          },
        },
        children: { app: { hosts: { web: {}, db: {} } }, cache: { hosts: {} } },
      },
    });
  });

  it('ansible_local: the machine itself, connection local, in its own groups only', () => {
    expect(localInventoryOf('web', { app: ['web'], data: ['db'] })).toEqual({
      all: { hosts: { web: { ansible_connection: 'local' } }, children: { app: { hosts: { web: {} } } } },
    });
  });
});

describe('ansible_local guest command', () => {
  it('quotes every argument, pins host key checking and pipelines modules', () => {
    const cmd = localCommand(
      { ...base, where: 'guest', tags: ["a'b; rm -rf /"] },
      'web',
      '/tmp/boxfest-ansible.X1',
      true,
    );
    expect(cmd).toBe(
      "cd /tmp/boxfest-ansible.X1 && env ANSIBLE_HOST_KEY_CHECKING=True ANSIBLE_SSH_ARGS='-o ControlMaster=no' " +
        'ANSIBLE_RETRY_FILES_ENABLED=False ANSIBLE_NOCOLOR=1 ANSIBLE_PIPELINING=True ansible-playbook ' +
        '--inventory=/tmp/boxfest-ansible.X1/inventory.json --extra-vars=@/tmp/boxfest-ansible.X1/extra-vars.json ' +
        "--limit=web '--tags=a'\\''b; rm -rf /' /tmp/boxfest-ansible.X1/playbook.yml",
    );
  });
});

describe('ansible_local upload', () => {
  it('takes the directories Ansible looks in beside the playbook, not links or files of those names', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'site.yml'), '');
    mkdirSync(join(dir, 'templates'));
    mkdirSync(join(dir, 'roles'));
    mkdirSync(join(dir, 'app')); // the project's own files stay on the host
    writeFileSync(join(dir, 'files'), '');
    mkdirSync(join(dir, 'elsewhere'));
    symlinkSync(join(dir, 'elsewhere'), join(dir, 'vars'));
    expect(localDirsOf(join(dir, 'site.yml'))).toEqual(['templates', 'roles']);
  });
});

describe('findOnPath', () => {
  it('finds an executable, skips a non-executable and relative PATH entries', () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'a'));
    mkdirSync(join(dir, 'b'));
    writeFileSync(join(dir, 'a', 'ansible-playbook'), '');
    writeFileSync(join(dir, 'b', 'ansible-playbook'), '#!/bin/sh\n');
    chmodSync(join(dir, 'b', 'ansible-playbook'), 0o755);
    expect(findOnPath('ansible-playbook', `.:${join(dir, 'a')}:${join(dir, 'b')}`)).toBe(
      join(dir, 'b', 'ansible-playbook'),
    );
    expect(findOnPath('ansible-playbook', join(dir, 'a'))).toBeUndefined();
  });
});
