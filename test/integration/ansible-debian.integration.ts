// `ansible` against the Debian 12 test box (systemd, OpenSSH, sudo, Python; no network beyond
// the host, so `apt` works on what is installed): Debian's ansible-playbook on the host runs
// the apt, template and service modules with become through the inventory boxfest writes.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { TestProject } from './harness.js';

const BOXFILE = `version: 1
machines:
  deb:
    box: debian
    memory: 512
    boot_timeout: 600
    provision:
      - name: site
        ansible: site.yml
        extra_vars: { greeting: "hello from ansible" }
        groups: { app: [deb] }
`;

const SITE = `- hosts: app
  become: true
  gather_facts: false
  tasks:
    - name: openssh-server is installed (the apt module, python3-apt, offline)
      ansible.builtin.apt: { name: openssh-server, state: present }
    - name: a unit from a template
      ansible.builtin.template: { src: hello.service.j2, dest: /etc/systemd/system/hello.service, mode: '0644' }
    - name: systemd knows it
      ansible.builtin.systemd_service: { daemon_reload: true }
    - name: it runs, and starts at boot
      ansible.builtin.service: { name: hello, state: started, enabled: true }
`;

const UNIT = `[Unit]
Description=boxfest ansible test
[Service]
ExecStart=/bin/sh -c 'echo "{{ greeting }} on {{ inventory_hostname }}" > /run/hello; exec sleep infinity'
[Install]
WantedBy=multi-user.target
`;

describe('ansible on the Debian box: apt, template, service', () => {
  const p = new TestProject({ 'Boxfile.yaml': BOXFILE, 'site.yml': SITE, 'hello.service.j2': UNIT });
  let up: Awaited<ReturnType<TestProject['run']>>;

  beforeAll(async () => {
    await p.ok(['box', 'add', 'debian', join(inject('debianBoxDir'), 'box.qcow2')]);
    up = await p.run(['up']);
  }, 900_000);
  afterAll(async () => {
    await p.cleanup();
  });

  it('the playbook ran after up, and the guest shows each module’s work', async () => {
    expect(up.code, up.stderr + up.stdout).toBe(0);
    expect(up.stderr).toMatch(/site: deb +: ok=4 +changed=\d+ +unreachable=0 +failed=0/);
    const r = await p.ok([
      'ssh',
      'deb',
      '-c',
      'cat /run/hello; systemctl is-active hello; systemctl is-enabled hello',
    ]);
    expect(r.stdout).toBe('hello from ansible on deb\nactive\nenabled\n');
  });
});
