// `ansible` / `ansible_local` provisioners in the Boxfile: what they resolve to, and each refusal
// with its line, column and key path, all at once.
import { describe, expect, it } from 'vitest';
import type { FsCheck } from '../../../src/config/rules/context.js';
import { environment, problems, yaml } from './helpers.js';

/** A host with the project's playbooks, a directory, and a link that leaves the project. */
const fs: FsCheck = {
  exists: (p) => ['/proj/site.yml', '/proj/roles', '/proj/link.yml', '/etc/site.yml'].includes(p),
  kind: (p) => (p === '/proj/roles' ? 'directory' : 'file'),
  realpath: (p) => (p === '/proj/link.yml' ? '/etc/site.yml' : p),
};

const machine = (...provision: string[]) =>
  yaml(
    'version: 1',
    'machines:',
    '  web:',
    '    box: tiny',
    '    provision:',
    ...provision.map((p) => `      - ${p}`),
    '  db: { box: tiny }',
  );

describe('ansible provisioners', () => {
  it('resolves paths, defaults scope to environment, keeps limit as a list', () => {
    const env = environment(
      machine(
        '{ ansible: site.yml, extra_vars: { a: 1, b: [x] }, groups: { app: [web, db] }, limit: db, tags: [t] }',
        '{ ansible: ./site.yml, scope: machine, skip_tags: [slow] }',
        '{ ansible_local: site.yml }',
      ),
      fs,
    );
    expect(env.machines[0]!.provision).toEqual([
      {
        kind: 'ansible',
        name: 'ansible-1',
        run: 'once',
        where: 'host',
        playbook: '/proj/site.yml',
        extraVars: { a: 1, b: ['x'] },
        groups: { app: ['web', 'db'] },
        limit: ['db'],
        tags: ['t'],
        skipTags: [],
        scope: 'environment',
      },
      expect.objectContaining({ name: 'ansible-2', scope: 'machine', skipTags: ['slow'], limit: [] }),
      expect.objectContaining({ name: 'ansible_local-3', where: 'guest', scope: 'machine' }),
    ]);
  });

  it.each([
    [
      'a playbook outside the project',
      '{ ansible: ../etc/site.yml }',
      '6:20 machines.web.provision[0].ansible: `../etc/site.yml` is outside the project (/proj) (keep the playbook in the project directory, e.g. `ansible/site.yml`)',
    ],
    [
      'a playbook that is a link out of the project',
      '{ ansible: link.yml }',
      '6:20 machines.web.provision[0].ansible: `link.yml` is outside the project (/proj) (keep the playbook in the project directory, e.g. `ansible/site.yml`)',
    ],
    [
      'a missing playbook',
      '{ ansible_local: nope.yml }',
      '6:26 machines.web.provision[0].ansible_local: `nope.yml` does not exist (resolved to /proj/nope.yml) (create the playbook or fix the path)',
    ],
    [
      'a directory',
      '{ ansible: roles }',
      '6:20 machines.web.provision[0].ansible: `roles` is not a file; `ansible` names a playbook file (name the playbook itself, e.g. `ansible/site.yml`)',
    ],
    [
      'a group member that is no machine',
      '{ ansible: site.yml, groups: { app: [web, cache] } }',
      '6:51 machines.web.provision[0].groups.app[1]: `cache` is not a machine of this Boxfile (groups list machine names: web, db)',
    ],
    [
      'an Ansible group of its own',
      '{ ansible: site.yml, groups: { all: [web] } }',
      "6:40 machines.web.provision[0].groups.all: `all` cannot be an Ansible group name (use letters, digits and underscores, not starting with a digit; `all` and `ungrouped` are Ansible's own)",
    ],
    [
      'a limit on a per-machine run',
      '{ ansible: site.yml, scope: machine, limit: db }',
      '6:46 machines.web.provision[0].limit: `limit` applies to `scope: environment`; a `scope: machine` run is limited to its machine (remove `limit`, or use `scope: environment` (the default))',
    ],
    [
      'a limit on ansible_local',
      '{ ansible_local: site.yml, limit: db }',
      '6:36 machines.web.provision[0].limit: `limit` applies to `ansible` provisioners only (`ansible_local` runs on its machine) (remove it)',
    ],
    [
      'shell keys on an ansible provisioner',
      '{ ansible: site.yml, args: [x] }',
      '6:30 machines.web.provision[0].args: `args` applies to `shell` and `shell_path` provisioners only (remove it)',
    ],
    [
      'ansible keys on a shell provisioner',
      '{ shell: ok, extra_vars: { a: 1 } }',
      '6:22 machines.web.provision[0].extra_vars: `extra_vars` applies to `ansible` and `ansible_local` provisioners only (remove it)',
    ],
    [
      'both kinds at once',
      '{ ansible: site.yml, ansible_local: site.yml }',
      '6:9 machines.web.provision[0]: sets `ansible` and `ansible_local`; use only one of them (split it into one provisioner each)',
    ],
  ])('refuses %s', (_name, item, want) => {
    expect(problems(machine(item), fs)).toEqual([want]);
  });

  it('reports every problem at once', () => {
    const got = problems(machine('{ ansible: nope.yml, groups: { all: [web], app: [zz] } }'), fs);
    expect(got.map((l) => l.split(': ')[0])).toEqual([
      '6:20 machines.web.provision[0].ansible',
      '6:40 machines.web.provision[0].groups.all',
      '6:58 machines.web.provision[0].groups.app[0]',
    ]);
  });
});
