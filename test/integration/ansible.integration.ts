// Ansible provisioners with Debian's real ansible-playbook against two real tiny guests (busybox,
// no Python: the playbooks use the `raw` module). Proves the inventory boxfest writes (every
// machine through its own ssh_config), one run for the whole environment after both are up,
// extra_vars (a value that would break a shell arrives as written), groups, limit, scope:
// machine, the pinned host key (a wrong pin fails the run), a missing ansible-playbook and
// ansible_local's clear error on a guest without Ansible.
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readEnvironment } from '../../src/config/index.js';
import type { AnsibleProvisioner } from '../../src/config/types.js';
import { BoxfestError } from '../../src/errors.js';
import { runAnsiblePlaybook } from '../../src/provision/ansible.js';
import { newLoginKey } from '../../src/ssh/ed25519.js';
import { readMachineState, updateMachineState } from '../../src/state/machine-state.js';
import { TestProject } from './harness.js';

const TRICKY = `it's "$(touch pwned)" \`id\` ; echo no`;

const BOXFILE = `version: 1
defaults:
  box: tiny
  memory: 256
  provision:
    - name: site
      ansible: ansible/site.yml
      extra_vars: { greeting: ${JSON.stringify(TRICKY)}, n: 3 }
      groups: { front: [web], back: [db] }
machines:
  web:
    provision:
      - { name: per-machine, ansible: ansible/who.yml, scope: machine, run: never }
      - { name: limited, ansible: ansible/who.yml, limit: db, run: never }
      - { name: local, ansible_local: ansible/who.yml, run: never }
  db: {}
`;

const SITE = `- hosts: all
  gather_facts: false
  tasks:
    - ansible.builtin.raw: printf '%s|%s|%s\\n' {{ inventory_hostname | quote }} {{ group_names | join(',') | quote }} {{ greeting | quote }} >> /root/site.log
- hosts: front
  gather_facts: false
  tasks:
    - ansible.builtin.raw: echo "front n={{ n }}" > /root/front
`;

const WHO = `- hosts: all
  gather_facts: false
  tasks:
    - ansible.builtin.raw: echo {{ inventory_hostname | quote }} >> /root/who.log
`;

describe('ansible provisioners on real guests', () => {
  const p = new TestProject({
    'Boxfile.yaml': BOXFILE,
    'ansible/site.yml': SITE,
    'ansible/who.yml': WHO,
  });
  const guest = async (m: string, cmd: string) => (await p.ok(['ssh', m, '-c', cmd])).stdout;
  let up: Awaited<ReturnType<TestProject['run']>>;

  beforeAll(async () => {
    await p.addTinyBox();
    up = await p.run(['up', '--json']);
  });
  afterAll(async () => {
    await p.cleanup();
  });

  it('up runs the playbook once, for both machines, after both are up', async () => {
    expect(up.code, up.stderr + up.stdout).toBe(0);
    const result = JSON.parse(up.stdout) as {
      machine: string;
      environment_provisioners?: { name: string; machines: string[]; ok: boolean; output: string[] }[];
    }[];
    for (const m of result) {
      expect(m.environment_provisioners?.map((e) => [e.name, e.machines, e.ok])).toEqual([
        ['site', ['web', 'db'], true],
      ]);
      expect(m.environment_provisioners![0]!.output.join('\n')).toMatch(/PLAY RECAP/);
    }
    // Each guest got each play exactly once: one run, not one per machine that declares it.
    expect(await guest('web', 'cat /root/site.log')).toBe(`web|front|${TRICKY}\n`);
    expect(await guest('db', 'cat /root/site.log')).toBe(`db|back|${TRICKY}\n`);
  });

  it('groups and extra_vars reach the playbook; nothing ran in a shell on the host', async () => {
    expect(await guest('web', 'cat /root/front')).toBe('front n=3\n');
    expect(await guest('db', 'test -e /root/front && echo yes || echo no')).toBe('no\n');
    expect(existsSync(join(p.root, 'pwned'))).toBe(false);
    expect(await guest('web', 'ls / /root | grep -c pwned || true')).toBe('0\n');
    // The extra vars file is private and gone after the run; the inventory stays for manual runs.
    expect(existsSync(join(p.root, '.boxfest/ansible/environment.extra-vars.json'))).toBe(false);
    const inventory = JSON.parse(
      readFileSync(join(p.root, '.boxfest/ansible/environment.inventory.json'), 'utf8'),
    ) as { all: { hosts: Record<string, Record<string, string>>; children: object } };
    expect(Object.keys(inventory.all.hosts)).toEqual(['web', 'db']);
    expect(inventory.all.hosts['web']!['ansible_ssh_common_args']).toBe(
      `-F ${join(p.root, '.boxfest/machines/web/ssh_config')}`,
    );
    expect(inventory.all.children).toEqual({ front: { hosts: { web: {} } }, back: { hosts: { db: {} } } });
    const config = readFileSync(join(p.root, '.boxfest/machines/web/ssh_config'), 'utf8');
    expect(config).toContain('StrictHostKeyChecking yes');
    expect(config).toContain(`UserKnownHostsFile "${join(p.root, '.boxfest/machines/web/known_hosts')}"`);
  });

  it('a second up runs nothing again (once)', async () => {
    const r = await p.run(['up']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('ansible-playbook');
    expect(await guest('web', 'wc -l < /root/site.log')).toBe('1\n');
  });

  it('scope: machine runs in each machine’s own step, limited to it; limit picks the hosts', async () => {
    await p.ok(['provision', 'web', '--with', 'per-machine']);
    expect(await guest('web', 'cat /root/who.log')).toBe('web\n');
    expect(await guest('db', 'cat /root/who.log 2>/dev/null || echo none')).toBe('none\n');
    // Declared on web, limited to db: only db is touched.
    const r = await p.run(['provision', 'web', '--with', 'limited']);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stderr).toContain('limited: ansible-playbook who.yml for web');
    expect(await guest('db', 'cat /root/who.log')).toBe('db\n');
    expect(await guest('web', 'cat /root/who.log')).toBe('web\n');
  });

  it('a wrong pinned host key fails the run (StrictHostKeyChecking through the inventory)', async () => {
    const env = readEnvironment(p.root);
    const site = env.machines[0]!.provision.find((x) => x.name === 'limited') as AnsibleProvisioner;
    const right = readMachineState(p.root, 'db')!.hostKey!;
    const other = newLoginKey('other').public.split(' ').slice(0, 2).join(' ');
    updateMachineState(p.root, 'db', (s) => ({ ...s, hostKey: other }));
    const lines: string[] = [];
    try {
      const e = await runAnsiblePlaybook(env, site, 'environment', ['web'], (l) => lines.push(l)).then(
        () => undefined,
        (x: unknown) => x,
      );
      expect(e).toBeInstanceOf(BoxfestError);
      expect((e as BoxfestError).code).toBe('ANSIBLE_FAILED');
      expect(lines.join('\n')).toMatch(/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);
      // boxfest's own ssh refuses it too, as a typed error rather than a crash.
      const ssh = await p.run(['ssh', 'db', '-c', 'true']);
      expect(ssh.code).toBe(1);
      expect(ssh.stderr).toContain('is not the one pinned for this machine');
      expect(ssh.stderr).not.toMatch(/\n\s+at .*\.js:\d+/);
    } finally {
      updateMachineState(p.root, 'db', (s) => ({ ...s, hostKey: right }));
    }
    // The playbook never reached db.
    expect(await guest('db', 'cat /root/who.log')).toBe('db\n');
    // With the right pin again, the same run passes.
    await runAnsiblePlaybook(env, site, 'environment', ['web'], () => undefined);
    expect(await guest('db', 'cat /root/who.log')).toBe('db\ndb\n');
  });

  it('without ansible-playbook on PATH: a clear error naming the machine and step, no stack', async () => {
    const bin = mkdtempSync(join(tmpdir(), 'boxfest-nopath-'));
    try {
      symlinkSync(process.execPath, join(bin, 'node'));
      const r = await p.run(['provision', 'web', '--with', 'per-machine'], { env: { PATH: bin } });
      expect(r.code).toBe(1);
      const text = r.stderr + r.stdout;
      expect(text).toContain('web');
      expect(text).toContain('provision');
      expect(text).toContain('needs `ansible-playbook` on the host');
      expect(text).toContain('apt-get install ansible');
      expect(text).not.toMatch(/\n\s+at .*\.js:\d+/);
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });

  it('ansible_local on a guest without Ansible: a clear error, and --json says so', async () => {
    const r = await p.run(['provision', 'web', '--with', 'local', '--json']);
    expect(r.code).toBe(1);
    const [web] = JSON.parse(r.stdout) as {
      name: string;
      failed_step: string;
      error: { code: string; message: string; hint: string };
    }[];
    expect(web!.name).toBe('web');
    expect(web!.failed_step).toBe('provision');
    expect(web!.error.code).toBe('ANSIBLE_LOCAL_NOT_FOUND');
    expect(web!.error.message).toContain('provisioner `local` runs ansible-playbook in the guest');
    expect(web!.error.hint).toContain('install Ansible in the guest');
  });
});
