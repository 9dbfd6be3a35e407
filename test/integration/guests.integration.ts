// The scenarios that depend on the guest OS, from one table, on both test boxes: the busybox tiny
// box (an `ssh-key` box: insecure key replaced, dropbear, busybox init) and Debian 12 (a
// `cloud-init` box: systemd, OpenSSH, sudo, cloud-init with boxfest's NoCloud seed).
//
// Each guest gets ONE environment, brought up once by one `up` in beforeAll with its machines in
// parallel; what the rows check is read from each guest with ONE SSH session per machine (a
// Debian boot takes a minute or more of TCG, and every SSH login forks an sshd there, so the
// Debian part boots two machines at once, then reboots one: three boots in all).
//
//   a: static address on a private network, disk_size, a data disk, a synced folder, a privileged
//      and an unprivileged provisioner (and, Debian, user-data from the Boxfile, an Ansible
//      playbook run from the host: apt, template and service with become, and one run in the
//      guest by its own ansible-playbook, `ansible_local`: template, file, facts, extra_vars)
//   b: an address boxfest allocates (`dhcp: true`), `instant: true`; on Debian also user-data
//      whose runcmd fails: the machine fails with the end of cloud-init's log, and stays up to
//      be looked at (its network, set up by cloud-init before runcmd, still works)
//   c (tiny only): the same failing `cloud_init`, refused before anything is made on an ssh-key box
//
// Then: destroy of the failed machine, halt through the guest's own init, a bigger disk_size as a
// reload change (`reload` boots a with it), shrinking refused, destroy keeping the box.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { sha256, TestProject, type RunResult } from './harness.js';

interface Guest {
  name: 'tiny' | 'debian';
  /** `box add` flags: none for Debian, whose image is looked into for cloud-init. */
  add: (p: TestProject) => string[];
  /** The SSH user (not root on either, so the non-root paths run). */
  user: string;
  /** The machine whose `cloud_init` runcmd fails (tiny: refused up front; Debian: b itself). */
  failing: 'b' | 'c';
  /** A line the guest's console shows when it powers off through its own init after ACPI. */
  poweredOff: RegExp;
  /** Shell to tell whether `ip`'s port 22 answers from inside the guest. */
  reaches: (ip: string) => string;
  /** Seconds to wait for SSH. */
  bootTimeout: number;
}

const GUESTS: Guest[] = [
  {
    name: 'tiny',
    add: (p) => [p.boxImage, '--ssh-key', p.insecureKey, '--disk-interface', 'virtio', '--ssh-user', 'box'],
    user: 'box',
    failing: 'c',
    poweredOff: /box: ACPI power button/,
    reaches: (ip) => `nc -w 5 ${ip} 22 </dev/null | head -c 4`,
    bootTimeout: 120,
  },
  {
    name: 'debian',
    add: () => [join(inject('debianBoxDir'), 'box.qcow2')],
    user: 'boxfest',
    failing: 'b',
    poweredOff: /reboot: Power down/,
    reaches: (ip) => `timeout 5 bash -c 'head -c 4 </dev/tcp/${ip}/22'`,
    bootTimeout: 600,
  },
];

// Ansible from the host on Debian's a, in its own provision step (a Debian guest of its own for
// this alone cost CI a third Debian boot): Debian's ansible-playbook, through the inventory
// boxfest writes, with become; apt works offline on what is installed.
const ANSIBLE = `      - name: site
        ansible: site.yml
        scope: machine
        extra_vars: { greeting: "hello from ansible" }
        groups: { app: [a] }
      - name: local
        ansible_local: local/site.yml
        extra_vars: { greeting: "it's \\"local\\"" }
        groups: { here: [a] }
`;

// ansible_local: run in a by the box's ansible-core, from the directory boxfest uploads (the
// playbook with its templates/ and files/ beside it); facts come from the guest, extra_vars from
// the Boxfile. Few tasks: under TCG each module run costs the guest 6 to 13 s (the whole run ~45 s).
const LOCAL_SITE = `- hosts: here
  gather_subset: [min]
  tasks:
    - ansible.builtin.template: { src: local.conf.j2, dest: /etc/boxfest-local.conf, mode: '0640' }
    - ansible.builtin.copy: { src: payload.txt, dest: /etc/boxfest-local.payload, mode: '0600' }
    - ansible.builtin.debug: { msg: "boxfest-local ran on {{ ansible_facts['distribution_release'] }}" }
`;

const LOCAL_TEMPLATE = `{{ greeting }} on {{ inventory_hostname }} in {{ group_names | join(',') }}: \
{{ ansible_facts['nodename'] }}, {{ ansible_facts['distribution'] }} {{ ansible_facts['distribution_release'] }}, \
as {{ ansible_facts['user_id'] }}
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

const FAILING_USER_DATA = `    cloud_init: { runcmd: [[sh, -c, 'echo boxfest-runcmd-fails; exit 3']] }\n`;

const BOXFILE = (g: Guest, diskMiB: number) => `version: 1
networks:
  back: { type: private, cidr: 192.168.61.0/24, dhcp: true }
defaults: { box: ${g.name}, memory: 512, boot_timeout: ${g.bootTimeout} }
machines:
  a:
    networks: [{ network: back, ip: 192.168.61.10 }]
    disk_size: ${diskMiB}
    disks: [{ name: data, size: 1GiB }]
    synced_folders: [{ src: ./app, dest: /srv/app }]
    provision:
      - { name: privileged, shell: 'id -u > /tmp/privileged-uid' }
      - { name: unprivileged, privileged: false, shell: 'id -un > /tmp/unprivileged-user; touch ~/home-is-mine' }
${g.name === 'debian' ? ANSIBLE : ''}${
  g.name === 'debian'
    ? `    cloud_init:
      write_files: [{ path: /etc/from-the-boxfile, content: "written by cloud-init\\n", permissions: '0640' }]
      runcmd: [[sh, -c, 'echo ran > /run/runcmd-marker']]
`
    : ''
}  b:
    networks: [{ network: back }]
    instant: true
${g.failing === 'b' ? FAILING_USER_DATA : `  c:\n    memory: 384\n${FAILING_USER_DATA}`}`;

interface StatusRow {
  name: string;
  state: string;
  networks: { network: string; iface: string; address: string; mac: string }[];
  disks?: { name: string; size_mib: number; file: string }[];
  restored?: boolean;
  instant_fallback?: string;
}

interface UpRow {
  machine: string;
  ok: boolean;
  output?: string[];
  error?: { code: string; message: string; details?: string };
  step_seconds?: Record<string, number>;
}

interface MachineState {
  keyReplaced: boolean;
  firstBoot: string;
  hostKey: string;
  instanceId?: string;
}

/** Why `machines` did not come up, from `up --json`'s rows (or its raw output if it printed none). */
function upFailures(up: RunResult, machines: string[]): string {
  let rows: UpRow[] = [];
  try {
    rows = JSON.parse(up.stdout) as UpRow[];
  } catch {
    return `up exited ${up.code}; ${machines.join(', ')} not running\n--- stdout\n${up.stdout}\n--- stderr\n${up.stderr}`;
  }
  return machines
    .map((m) => {
      const row = rows.find((r) => r.machine === m);
      return `${m} is not running after up (exit ${up.code}): ${JSON.stringify(row, null, 2)}`;
    })
    .join('\n');
}

/** Each machine's step times from `up --json`, one line per machine: where a slow CI run spent them. */
function stepSeconds(up: RunResult): string {
  try {
    return (JSON.parse(up.stdout) as UpRow[])
      .map(
        (r) =>
          `  ${r.machine}: ${Object.entries(r.step_seconds ?? {})
            .map(([k, v]) => `${k} ${v}`)
            .join(', ')}\n`,
      )
      .join('');
  } catch {
    return '';
  }
}

/** What one SSH session read from a machine: the output of each named probe. */
type Facts = Record<string, string>;

interface Env {
  g: Guest;
  p: TestProject;
  add: RunResult;
  up: RunResult;
  status: StatusRow[];
  facts: Record<string, Facts>;
}

/** The block device whose virtio serial is `serial`, and its size in MiB (sysfs: no udev needed). */
const bySerial = (serial: string) =>
  `{ for d in /sys/block/vd*; do [ "$(cat $d/serial 2>/dev/null)" = ${serial} ] && echo \${d##*/} $(( $(cat $d/size) / 2048 )); done; true; }`;
const dataDisk = `/dev/$(${bySerial('boxfest-data')} | cut -d' ' -f1)`;
const rootMiB = "df -m / | awk 'NR==2 {print $2}'";
const vdaMiB = 'echo $(( $(cat /sys/block/vda/size) / 2048 ))';

/**
 * Runs every probe in one SSH session (one login: under TCG each costs the guest an sshd fork)
 * and splits the output by probe, each exactly as it printed it. A probe's exit status does not
 * stop the others.
 */
async function probe(p: TestProject, m: string, probes: Record<string, string>): Promise<Facts> {
  const script = Object.entries(probes)
    .map(([k, cmd]) => `printf '\\n@@${k}\\n'; { ${cmd}; } 2>&1`)
    .concat(['echo'])
    .join('\n');
  const out = (await p.ok(['ssh', m, '-c', script])).stdout;
  const facts: Facts = {};
  // Each marker starts a line of its own; the newline before it, and the last echo's, are ours.
  for (const part of out.slice(0, -1).split('\n@@').slice(1)) {
    const nl = part.indexOf('\n');
    facts[part.slice(0, nl)] = part.slice(nl + 1);
  }
  for (const k of Object.keys(probes)) expect(facts, `probe ${k} of ${m}`).toHaveProperty(k);
  return facts;
}

const A_PROBES = (g: Guest): Record<string, string> => ({
  user: 'id -un; sudo -n id -u',
  authorizedKeys: 'cat ~/.ssh/authorized_keys',
  ownAddress: 'ip -4 -o addr show | grep -c 192.168.61.10/24',
  reachesB: g.reaches('192.168.61.2'),
  hostsB: 'grep -w b /etc/hosts',
  synced: 'cat /srv/app/hello.txt; stat -c %U /srv/app /srv/app/hello.txt',
  provisioners: 'cat /tmp/privileged-uid /tmp/unprivileged-user; stat -c %U ~/home-is-mine',
  vda: vdaMiB,
  root: rootMiB,
  dataDisk: bySerial('boxfest-data'),
  // Something on the data disk, to find again after the reload.
  dataWritten: `echo kept-across-reload | sudo -n dd of=${dataDisk} bs=512 count=1 conv=sync 2>/dev/null && sync && echo written`,
  ...(g.name === 'debian'
    ? {
        passwd: `sudo -n passwd -S ${g.user} | cut -d' ' -f2`,
        sshd: 'sudo -n sshd -T | grep -E "^(passwordauthentication|kbdinteractiveauthentication) "',
        userData: 'sudo -n cat /etc/from-the-boxfile /run/runcmd-marker; stat -c %a /etc/from-the-boxfile',
        cloudInit: 'cloud-init status',
        hostname: 'hostname',
        ansible: 'cat /run/hello; systemctl is-active hello; systemctl is-enabled hello',
        ansibleLocal:
          'sudo -n cat /etc/boxfest-local.conf /etc/boxfest-local.payload; ' +
          'sudo -n stat -c "%U %a %n" /etc/boxfest-local.conf /etc/boxfest-local.payload; ' +
          'ls -d /tmp/boxfest-ansible.* 2>/dev/null | wc -l',
      }
    : {}),
});

const B_PROBES = (g: Guest): Record<string, string> => ({
  ownAddress: 'ip -4 -o addr show | grep -c 192.168.61.2/24',
  reachesA: g.reaches('192.168.61.10'),
  ...(g.name === 'debian' ? { cloudInit: 'cloud-init status' } : {}),
});

interface Row {
  name: string;
  /** The one guest the row applies to; unset: both. */
  only?: Guest['name'];
  check: (e: Env) => void;
}

/** Checked on what the first `up` left, read once in beforeAll. */
const AFTER_UP: Row[] = [
  {
    name: 'up brings a and b up and fails the machine with failing user-data, saying why',
    check: ({ g, up }) => {
      const rows = JSON.parse(up.stdout) as UpRow[];
      // The error code in the row too, so an unexpected failure says what it was.
      expect(rows.map((r) => [r.machine, r.ok, r.error?.code ?? ''])).toEqual(
        g.name === 'debian'
          ? [
              ['a', true, ''],
              ['b', false, 'CLOUD_INIT_FAILED'],
            ]
          : [
              ['a', true, ''],
              ['b', true, ''],
              ['c', false, 'CLOUD_INIT_UNSUPPORTED'],
            ],
      );
      const failed = rows.find((r) => r.machine === g.failing)!.error!;
      if (g.name === 'debian') {
        expect(failed.message).toContain('status `error`');
        // The end of /var/log/cloud-init-output.log: the failing runcmd's own output.
        expect(failed.details).toContain('cloud-init-output.log');
        expect(failed.details).toContain('boxfest-runcmd-fails');
      } else expect(failed.message).toContain('set up by its SSH key');
    },
  },
  {
    name: 'the SSH user is not root, has passwordless sudo and logs in with the machine’s own key only',
    check: ({ g, p, facts: { a } }) => {
      expect(a!['user']).toBe(`${g.user}\n0\n`);
      const state = JSON.parse(readFileSync(p.machine('a').state, 'utf8')) as MachineState;
      expect(state).toMatchObject({
        keyReplaced: true,
        firstBoot: g.name === 'debian' ? 'cloud-init' : 'ssh-key',
      });
      expect(state.hostKey).toMatch(/^(ssh-ed25519|ecdsa-sha2-nistp256|ssh-rsa) /);
      expect(a!['authorizedKeys']!.trim().split('\n')).toEqual([
        readFileSync(p.machine('a').publicKey, 'utf8').trim(),
      ]);
      if (g.name === 'debian') {
        // No password anywhere: the user's is locked, sshd takes none (set before sshd first started).
        expect(a!['passwd']).toBe('L\n');
        expect(a!['sshd']).toBe('passwordauthentication no\nkbdinteractiveauthentication no\n');
        expect(state.instanceId).toMatch(/^boxfest-a-[0-9a-f]{12}$/);
      }
    },
  },
  {
    name: 'each machine has its own host key, the one boxfest pinned',
    check: ({ p }) => {
      const pinned = (m: string) =>
        (JSON.parse(readFileSync(p.machine(m).state, 'utf8')) as MachineState).hostKey;
      expect(pinned('a')).not.toBe(pinned('b'));
      // OpenSSH (rsync's transport) checks the same pinned key.
      expect(readFileSync(p.machine('a').knownHosts, 'utf8')).toContain(pinned('a'));
    },
  },
  {
    name: 'private network: a static address and an allocated one, found by MAC, peers reachable by name',
    check: ({ g, status, facts: { a, b } }) => {
      const addr = (m: string) => status.find((r) => r.name === m)?.networks[0]?.address;
      expect(addr('a')).toBe('192.168.61.10/24');
      // Debian's b failed before boxfest looked at its addresses: the guest says it has its own.
      if (g.failing !== 'b') expect(addr('b')).toBe('192.168.61.2/24');
      expect(a!['ownAddress']).toBe('1\n');
      expect(b!['ownAddress']).toBe('1\n');
      expect(a!['reachesB']).toBe('SSH-');
      expect(b!['reachesA']).toBe('SSH-');
      expect(a!['hostsB']).toMatch(/^192\.168\.61\.2 /m);
    },
  },
  {
    name: 'synced folders are owned by the non-root SSH user',
    check: ({ g, facts: { a } }) => expect(a!['synced']).toBe(`hello\n${g.user}\n${g.user}\n`),
  },
  {
    name: 'a privileged provisioner runs as root, an unprivileged one as the SSH user',
    check: ({ g, facts: { a } }) => expect(a!['provisioners']).toBe(`0\n${g.user}\n${g.user}\n`),
  },
  {
    name: 'disk_size: the disk is grown before the first boot; the root filesystem follows where the guest can',
    check: ({ g, up, facts: { a } }) => {
      expect(a!['vda']).toBe('3072\n');
      const root = Number(a!['root']!.trim());
      if (g.name === 'debian')
        expect(root).toBeGreaterThan(2800); // cloud-init growpart + resize2fs
      else {
        expect(root).toBeLessThan(1100); // busybox: no growpart, said so
        const row = (JSON.parse(up.stdout) as UpRow[]).find((r) => r.machine === 'a');
        expect(row?.output?.join('\n')).toMatch(
          /root filesystem not grown: no growpart resize2fs in the guest/,
        );
      }
    },
  },
  {
    name: 'an extra data disk: its own qcow2, attached with its name as serial, listed by status',
    check: ({ p, status, facts: { a } }) => {
      expect(a!['dataDisk']).toBe('vdb 1024\n');
      expect(a!['dataWritten']).toBe('written\n');
      expect(status.find((r) => r.name === 'a')!.disks).toEqual([
        { name: 'data', size_mib: 1024, file: join(p.machine('a').dir, 'disks', 'data.qcow2') },
      ]);
    },
  },
  {
    name: 'cloud-init user-data from the Boxfile (Debian); refused up front on an ssh-key box (tiny)',
    check: ({ g, status, facts: { a, b } }) => {
      if (g.name === 'debian') {
        expect(a!['userData']).toBe('written by cloud-init\nran\n640\n');
        expect(a!['cloudInit']).toBe('status: done\n');
        expect(a!['hostname']).toBe('a\n');
        // The failed machine is up, and cloud-init says what the row above reported.
        expect(status.find((r) => r.name === 'b')?.state).toBe('running');
        expect(b!['cloudInit']).toBe('status: error\n');
      } else {
        // Nothing was made for c: refused at resolve-box.
        expect(status.find((r) => r.name === 'c')?.state).toBe('not_created');
      }
    },
  },
  {
    name: 'ansible from the host (Debian): the playbook ran in a’s provision step; apt, template, service',
    only: 'debian',
    check: ({ up, facts: { a } }) => {
      const row = (JSON.parse(up.stdout) as UpRow[]).find((r) => r.machine === 'a');
      expect(row?.output?.join('\n')).toMatch(/\ba +: ok=4 +changed=\d+ +unreachable=0 +failed=0/);
      expect(a!['ansible']).toBe('hello from ansible on a\nactive\nenabled\n');
    },
  },
  {
    name: 'ansible_local (Debian): the guest’s ansible-playbook ran the uploaded playbook as root: template, file, facts, extra_vars',
    only: 'debian',
    check: ({ up, facts: { a } }) => {
      const out = (JSON.parse(up.stdout) as UpRow[]).find((r) => r.machine === 'a')?.output?.join('\n');
      // Facts gathered + 3 tasks; its output streamed into a's row.
      expect(out).toMatch(/\ba +: ok=4 +changed=2 +unreachable=0 +failed=0/);
      expect(out).toContain('boxfest-local ran on bookworm');
      expect(a!['ansibleLocal']).toBe(
        `it's "local" on a in here: a, Debian bookworm, as root\n` +
          'payload from files/\n' +
          'root 640 /etc/boxfest-local.conf\nroot 600 /etc/boxfest-local.payload\n' +
          // its upload directory is gone
          '0\n',
      );
    },
  },
  {
    name: 'instant up: restored on the tiny box; the documented fallback on a cloud-init box',
    check: ({ g, status }) => {
      const b = status.find((r) => r.name === 'b')!;
      if (g.name === 'tiny') expect(b).toMatchObject({ restored: true });
      else {
        expect(b.restored).toBe(false);
        expect(b.instant_fallback).toContain('a cloud-init box is set up by its own first boot');
      }
    },
  },
];

describe.each(GUESTS)('guest-OS scenarios on the $name box', (g) => {
  const e = { g, facts: {} } as unknown as Env;
  let boxSha = '';
  let boxImage = '';
  const sh = async (m: string, cmd: string) => (await e.p.ok(['ssh', m, '-c', cmd])).stdout;
  const status = async () => JSON.parse((await e.p.ok(['status', '--json'])).stdout) as StatusRow[];

  beforeAll(async () => {
    const t0 = Date.now();
    const p = new TestProject({
      'Boxfile.yaml': BOXFILE(g, 3072),
      'app/hello.txt': 'hello\n',
      'site.yml': SITE,
      'hello.service.j2': UNIT,
      'local/site.yml': LOCAL_SITE,
      'local/templates/local.conf.j2': LOCAL_TEMPLATE,
      'local/files/payload.txt': 'payload from files/\n',
    });
    e.p = p;
    e.add = await p.ok(['box', 'add', g.name, ...g.add(p)]);
    boxImage = p.storedImage(g.name);
    boxSha = sha256(boxImage);
    e.up = await p.run(['up', '--json']);
    const t1 = Date.now();
    e.status = await status();
    // A machine that is not running has nothing to probe: say why from up's own row, not with
    // the probe's "not created" (CI once showed only that).
    const notUp = e.status.filter((r) => r.state !== 'running' && r.name !== 'c');
    if (notUp.length > 0)
      throw new Error(
        upFailures(
          e.up,
          notUp.map((r) => r.name),
        ),
      );
    [e.facts['a'], e.facts['b']] = await Promise.all([
      probe(p, 'a', A_PROBES(g)),
      probe(p, 'b', B_PROBES(g)),
    ]);
    process.stderr.write(
      `${g.name}: box add + up took ${((t1 - t0) / 1000).toFixed(1)} s, reading the guests ${((Date.now() - t1) / 1000).toFixed(1)} s\n${stepSeconds(e.up)}`,
    );
  }, 1_200_000);

  afterAll(async () => {
    await e.p?.cleanup();
  });

  it.each(AFTER_UP.filter((r) => (r.only ?? g.name) === g.name))('$name', (row) => row.check(e));

  it.runIf(g.name === 'tiny')(
    'box add of an image without cloud-init, without --ssh-key: an ssh-key box logging in as root',
    async () => {
      await e.p.ok(['box', 'add', 'looked-at', e.p.boxImage]);
      const boxes = JSON.parse((await e.p.ok(['box', 'list', '--json'])).stdout) as {
        name: string;
        firstBoot: string;
        sshUser: string;
      }[];
      expect(boxes.find((b) => b.name === 'looked-at')).toMatchObject({
        firstBoot: 'ssh-key',
        sshUser: 'root',
      });
      await e.p.ok(['box', 'remove', 'looked-at']);
    },
  );

  it('box list shows how the box is set up at first boot (Debian: found in the image by box add)', async () => {
    if (g.name === 'debian') expect(e.add.stderr).toContain('cloud-init found in the image');
    const boxes = JSON.parse((await e.p.ok(['box', 'list', '--json'])).stdout) as {
      name: string;
      firstBoot: string;
      sshUser: string;
    }[];
    expect(boxes.find((b) => b.name === g.name)).toMatchObject(
      g.name === 'debian'
        ? { firstBoot: 'cloud-init', sshUser: 'boxfest' }
        : { firstBoot: 'ssh-key', sshUser: 'box' },
    );
  });

  it('destroy of the failed machine leaves the others alone', async () => {
    await e.p.ok(['destroy', g.failing, '--force']);
    const rows = await status();
    expect(rows.map((r) => [r.name, r.state])).toEqual(
      g.failing === 'b'
        ? [
            ['a', 'running'],
            ['b', 'not_created'],
          ]
        : [
            ['a', 'running'],
            ['b', 'running'],
            ['c', 'not_created'],
          ],
    );
  }, 120_000);

  it('halt goes through the guest’s own init (ACPI), without the forced power-off', async () => {
    const t0 = Date.now();
    await e.p.ok(['halt', 'a']);
    const s = (Date.now() - t0) / 1000;
    expect(s).toBeLessThan(30); // forced only after 30 s
    expect(e.p.serialLog('a')).toMatch(g.poweredOff);
  }, 120_000);

  it('a bigger disk_size later is a reload change; `reload` boots a with it (and reboots a running b through its init)', async () => {
    writeFileSync(join(e.p.root, 'Boxfile.yaml'), BOXFILE(g, 4096));
    const plan = JSON.parse((await e.p.ok(['plan', '--json'])).stdout) as {
      machines: { machine: string; changes: { field: string; class: string }[] }[];
    };
    expect(plan.machines.find((m) => m.machine === 'a')?.changes).toMatchObject([
      { field: 'disk_size', class: 'reload' },
    ]);
    const bRuns = g.failing !== 'b';
    const bootId = bRuns ? await sh('b', 'cat /proc/sys/kernel/random/boot_id') : '';
    // One command, both machines at once where b still runs: a (halted) boots with the bigger
    // disk, b is halted through its own init and boots again.
    await e.p.ok(['reload', 'a', ...(bRuns ? ['b'] : [])]);
    const a = await probe(e.p, 'a', {
      vda: vdaMiB,
      root: rootMiB,
      data: `sudo -n head -c 18 ${dataDisk}`,
      synced: 'cat /srv/app/hello.txt',
      ...(bRuns ? { reachesB: g.reaches('192.168.61.2') } : {}),
    });
    expect(a['vda']).toBe('4096\n');
    if (g.name === 'debian') expect(Number(a['root']!.trim())).toBeGreaterThan(3800); // grown at every boot
    expect(a['data']).toBe('kept-across-reload');
    expect(a['synced']).toBe('hello\n');
    const rows = await status();
    expect(rows.find((r) => r.name === 'a')).toMatchObject({
      state: 'running',
      networks: [{ address: '192.168.61.10/24' }],
    });
    if (bRuns) {
      expect(a['reachesB']).toBe('SSH-');
      expect(await sh('b', 'cat /proc/sys/kernel/random/boot_id')).not.toBe(bootId);
      expect(rows.find((r) => r.name === 'b')).toMatchObject({
        state: 'running',
        networks: [{ address: '192.168.61.2/24' }],
      });
    }
  }, 900_000);

  it('shrinking is refused with the reason, nothing touched', async () => {
    writeFileSync(join(e.p.root, 'Boxfile.yaml'), BOXFILE(g, 3072));
    const r = await e.p.run(['up', 'a']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('[DISK_SHRINK]');
    expect(r.stderr).toContain('disk_size would go from 4096 MiB to 3072 MiB');
    expect((await status()).find((s) => s.name === 'a')?.state).toBe('running');
    writeFileSync(join(e.p.root, 'Boxfile.yaml'), BOXFILE(g, 4096));
  }, 120_000);

  it('destroy removes the machines, their disks and seeds, never the box', async () => {
    const dir = e.p.machine('a').dir;
    expect(existsSync(join(dir, 'disks', 'data.qcow2'))).toBe(true);
    expect(existsSync(e.p.machine('a').seed)).toBe(g.name === 'debian');
    await e.p.ok(['destroy', '--force']);
    expect(e.p.qemuPids()).toEqual([]);
    expect(existsSync(dir)).toBe(false);
    expect(sha256(boxImage)).toBe(boxSha);
  }, 300_000);
});
