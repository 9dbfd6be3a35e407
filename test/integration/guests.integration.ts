// The scenarios that depend on the guest OS, from one table, on both test boxes: the busybox tiny
// box (an `ssh-key` box: insecure key replaced, dropbear, busybox init) and Debian 12 (a
// `cloud-init` box: systemd, OpenSSH, sudo, cloud-init with boxfest's NoCloud seed). Each guest
// gets ONE environment of three machines brought up together (a Debian boot takes about a minute
// of TCG, more when machines share the 2 cores), then the rows check it; a reload and a halt
// follow, then destroy.
//
//   a: static address on a private network, disk_size, a data disk, a synced folder, a privileged
//      and an unprivileged provisioner (and, Debian, user-data from the Boxfile)
//   b: an address boxfest allocates (`dhcp: true`), `instant: true`
//   c: `cloud_init` whose runcmd fails: a failed machine with the end of cloud-init's log (Debian);
//      refused before anything is made on an ssh-key box (tiny)
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { sha256, TestProject, type RunResult } from './harness.js';

interface Guest {
  name: 'tiny' | 'debian';
  /** `box add` flags. */
  add: (p: TestProject) => string[];
  /** The SSH user (not root on either, so the non-root paths run). */
  user: string;
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
    poweredOff: /box: ACPI power button/,
    reaches: (ip) => `nc -w 5 ${ip} 22 </dev/null | head -c 4`,
    bootTimeout: 120,
  },
  {
    name: 'debian',
    add: () => [join(inject('debianBoxDir'), 'box.qcow2'), '--cloud-init'],
    user: 'boxfest',
    poweredOff: /reboot: Power down/,
    reaches: (ip) => `timeout 5 bash -c 'head -c 4 </dev/tcp/${ip}/22'`,
    bootTimeout: 600,
  },
];

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
${
  g.name === 'debian'
    ? `    cloud_init:
      write_files: [{ path: /etc/from-the-boxfile, content: "written by cloud-init\\n", permissions: '0640' }]
      runcmd: [[sh, -c, 'echo ran > /run/runcmd-marker']]
`
    : ''
}  b:
    networks: [{ network: back }]
    instant: true
  c:
    memory: 384
    cloud_init: { runcmd: [[sh, -c, 'echo boxfest-runcmd-fails; exit 3']] }
`;

interface Env {
  g: Guest;
  p: TestProject;
  up: RunResult;
  /** Runs `cmd` in machine `m` as the SSH user; its stdout. */
  sh: (m: string, cmd: string) => Promise<string>;
  status: () => Promise<StatusRow[]>;
}

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
  error?: { code: string; message: string; details?: string };
}

/** The block device whose virtio serial is `serial`, and its size in MiB (sysfs: no udev needed). */
const bySerial = (serial: string) =>
  `{ for d in /sys/block/vd*; do [ "$(cat $d/serial 2>/dev/null)" = ${serial} ] && echo \${d##*/} $(( $(cat $d/size) / 2048 )); done; true; }`;

interface Row {
  name: string;
  check: (e: Env) => Promise<void> | void;
}

/** Checked right after the first `up`. */
const AFTER_UP: Row[] = [
  {
    name: 'up brings a and b up and fails c for its cloud-init, saying why',
    check: ({ g, up }) => {
      const rows = JSON.parse(up.stdout) as UpRow[];
      // The error code in the row too, so an unexpected failure says what it was.
      expect(rows.map((r) => [r.machine, r.ok, r.error?.code ?? ''])).toEqual([
        ['a', true, ''],
        ['b', true, ''],
        ['c', false, g.name === 'debian' ? 'CLOUD_INIT_FAILED' : 'CLOUD_INIT_UNSUPPORTED'],
      ]);
      const c = rows[2]!.error!;
      if (g.name === 'debian') {
        expect(c.code).toBe('CLOUD_INIT_FAILED');
        expect(c.message).toContain('status `error`');
        // The end of /var/log/cloud-init-output.log: the failing runcmd's own output.
        expect(c.details).toContain('cloud-init-output.log');
        expect(c.details).toContain('boxfest-runcmd-fails');
      } else {
        expect(c.code).toBe('CLOUD_INIT_UNSUPPORTED');
        expect(c.message).toContain('set up by its SSH key');
      }
    },
  },
  {
    name: 'the SSH user is not root, has passwordless sudo and logs in with the machine’s own key only',
    check: async ({ g, p, sh }) => {
      expect(await sh('a', 'id -un; sudo -n id -u')).toBe(`${g.user}\n0\n`);
      const state = JSON.parse(readFileSync(p.machine('a').state, 'utf8')) as {
        keyReplaced: boolean;
        firstBoot: string;
        hostKey: string;
        instanceId?: string;
      };
      expect(state).toMatchObject({
        keyReplaced: true,
        firstBoot: g.name === 'debian' ? 'cloud-init' : 'ssh-key',
      });
      expect(state.hostKey).toMatch(/^(ssh-ed25519|ecdsa-sha2-nistp256|ssh-rsa) /);
      const keys = await sh('a', 'cat ~/.ssh/authorized_keys');
      expect(keys.trim().split('\n')).toEqual([readFileSync(p.machine('a').publicKey, 'utf8').trim()]);
      if (g.name === 'debian') {
        // No password anywhere: the user's is locked, sshd takes none (set before sshd first started).
        expect(await sh('a', `sudo -n passwd -S ${g.user} | cut -d' ' -f2`)).toBe('L\n');
        expect(
          await sh(
            'a',
            'sudo -n sshd -T | grep -E "^(passwordauthentication|kbdinteractiveauthentication) "',
          ),
        ).toBe('passwordauthentication no\nkbdinteractiveauthentication no\n');
        expect(state.instanceId).toMatch(/^boxfest-a-[0-9a-f]{12}$/);
      }
    },
  },
  {
    name: 'each machine has its own host key, the one boxfest pinned',
    check: ({ p }) => {
      const pinned = (m: string) =>
        (JSON.parse(readFileSync(p.machine(m).state, 'utf8')) as { hostKey: string }).hostKey;
      expect(pinned('a')).not.toBe(pinned('b'));
      // OpenSSH (rsync's transport) checks the same pinned key.
      expect(readFileSync(p.machine('a').knownHosts, 'utf8')).toContain(pinned('a'));
    },
  },
  {
    name: 'private network: a static address and an allocated one, found by MAC, peers reachable by name',
    check: async ({ g, sh, status }) => {
      const rows = await status();
      const addr = (m: string) => rows.find((r) => r.name === m)?.networks[0]?.address;
      expect(addr('a')).toBe('192.168.61.10/24');
      expect(addr('b')).toBe('192.168.61.2/24');
      expect(await sh('a', 'ip -4 -o addr show | grep -c 192.168.61.10/24')).toBe('1\n');
      expect(await sh('a', g.reaches('192.168.61.2'))).toBe('SSH-');
      expect(await sh('b', g.reaches('192.168.61.10'))).toBe('SSH-');
      expect(await sh('a', 'grep -w b /etc/hosts')).toMatch(/^192\.168\.61\.2 /m);
    },
  },
  {
    name: 'synced folders are owned by the non-root SSH user',
    check: async ({ g, sh }) => {
      expect(await sh('a', 'cat /srv/app/hello.txt; stat -c %U /srv/app /srv/app/hello.txt')).toBe(
        `hello\n${g.user}\n${g.user}\n`,
      );
    },
  },
  {
    name: 'a privileged provisioner runs as root, an unprivileged one as the SSH user',
    check: async ({ g, sh }) => {
      expect(await sh('a', 'cat /tmp/privileged-uid /tmp/unprivileged-user; stat -c %U ~/home-is-mine')).toBe(
        `0\n${g.user}\n${g.user}\n`,
      );
    },
  },
  {
    name: 'disk_size: the disk is grown before the first boot; the root filesystem follows where the guest can',
    check: async ({ g, up, sh }) => {
      expect(await sh('a', 'echo $(( $(cat /sys/block/vda/size) / 2048 ))')).toBe('3072\n');
      const rootMiB = Number((await sh('a', "df -m / | awk 'NR==2 {print $2}'")).trim());
      if (g.name === 'debian')
        expect(rootMiB).toBeGreaterThan(2800); // cloud-init growpart + resize2fs
      else {
        expect(rootMiB).toBeLessThan(1100); // busybox: no growpart, said so
        const a = (JSON.parse(up.stdout) as { machine: string; output: string[] }[]).find(
          (r) => r.machine === 'a',
        );
        expect(a?.output.join('\n')).toMatch(/root filesystem not grown: no growpart resize2fs in the guest/);
      }
    },
  },
  {
    name: 'an extra data disk: its own qcow2, attached with its name as serial, listed by status',
    check: async ({ p, sh, status }) => {
      expect(await sh('a', bySerial('boxfest-data'))).toBe('vdb 1024\n');
      const a = (await status()).find((r) => r.name === 'a')!;
      expect(a.disks).toEqual([
        { name: 'data', size_mib: 1024, file: join(p.machine('a').dir, 'disks', 'data.qcow2') },
      ]);
      // Something on it, to find again after the reload.
      await sh(
        'a',
        `d=/dev/$(${bySerial('boxfest-data')} | cut -d' ' -f1); echo kept-across-reload | sudo -n dd of=$d bs=512 count=1 conv=sync 2>/dev/null; sync`,
      );
    },
  },
  {
    name: 'cloud-init user-data from the Boxfile (Debian); refused up front on an ssh-key box (tiny)',
    check: async ({ g, sh, p }) => {
      if (g.name === 'debian') {
        expect(
          await sh(
            'a',
            'sudo -n cat /etc/from-the-boxfile /run/runcmd-marker; stat -c %a /etc/from-the-boxfile',
          ),
        ).toBe('written by cloud-init\nran\n640\n');
        expect(await sh('a', 'cloud-init status')).toBe('status: done\n');
        expect(await sh('a', 'hostname')).toBe('a\n');
      } else {
        // Nothing was made for c: refused at resolve-box.
        const rows = JSON.parse((await p.ok(['status', '--json'])).stdout) as StatusRow[];
        expect(rows.find((r) => r.name === 'c')?.state).toBe('not_created');
      }
    },
  },
  {
    name: 'instant up: restored on the tiny box; the documented fallback on a cloud-init box',
    check: async ({ g, status }) => {
      const b = (await status()).find((r) => r.name === 'b')!;
      if (g.name === 'tiny') expect(b).toMatchObject({ restored: true });
      else {
        expect(b.restored).toBe(false);
        expect(b.instant_fallback).toContain('a cloud-init box is set up by its own first boot');
      }
    },
  },
];

describe.each(GUESTS)('guest-OS scenarios on the $name box', (g) => {
  const e = { g } as Env;
  let boxSha = '';
  let boxImage = '';

  beforeAll(async () => {
    const p = new TestProject({ 'Boxfile.yaml': BOXFILE(g, 3072), 'app/hello.txt': 'hello\n' });
    e.p = p;
    await p.ok(['box', 'add', g.name, ...g.add(p)]);
    boxImage = join(p.home, 'boxes', g.name, '0', 'qemu', 'box.qcow2');
    boxSha = sha256(boxImage);
    e.sh = async (m, cmd) => (await p.ok(['ssh', m, '-c', cmd])).stdout;
    e.status = async () => JSON.parse((await p.ok(['status', '--json'])).stdout) as StatusRow[];
    const t0 = Date.now();
    e.up = await p.run(['up', '--json']);
    process.stderr.write(`${g.name}: up of a, b, c took ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  }, 1_200_000);

  afterAll(async () => {
    await e.p?.cleanup();
  });

  it('box add without --cloud-init or --ssh-key looks into the image for cloud-init', async () => {
    const image = g.add(e.p)[0]!;
    const r = await e.p.ok(['box', 'add', 'looked-at', image]);
    const boxes = JSON.parse((await e.p.ok(['box', 'list', '--json'])).stdout) as {
      name: string;
      firstBoot: string;
      sshUser: string;
    }[];
    expect(boxes.find((b) => b.name === 'looked-at')).toMatchObject(
      g.name === 'debian'
        ? { firstBoot: 'cloud-init', sshUser: 'boxfest' }
        : { firstBoot: 'ssh-key', sshUser: 'root' },
    );
    expect(boxes.find((b) => b.name === g.name)?.firstBoot).toBe(
      g.name === 'debian' ? 'cloud-init' : 'ssh-key',
    );
    if (g.name === 'debian') expect(r.stderr).toContain('cloud-init found in the image');
    await e.p.ok(['box', 'remove', 'looked-at']);
  }, 120_000);

  it.each(AFTER_UP)('$name', async (row) => row.check(e), 120_000);

  it('destroy of the failed machine leaves the others alone', async () => {
    await e.p.ok(['destroy', 'c', '--force']);
    const rows = await e.status();
    expect(rows.map((r) => [r.name, r.state])).toEqual([
      ['a', 'running'],
      ['b', 'running'],
      ['c', 'not_created'],
    ]);
  }, 120_000);

  it('halt goes through the guest’s own init (ACPI), without the forced power-off', async () => {
    const t0 = Date.now();
    await e.p.ok(['halt', 'a']);
    const s = (Date.now() - t0) / 1000;
    expect(s).toBeLessThan(30); // forced only after 30 s
    expect(e.p.serialLog('a')).toMatch(g.poweredOff);
  }, 120_000);

  it('a bigger disk_size later is a reload change; `reload a b` boots a with it and reboots b through its init', async () => {
    writeFileSync(join(e.p.root, 'Boxfile.yaml'), BOXFILE(g, 4096));
    const plan = JSON.parse((await e.p.ok(['plan', '--json'])).stdout) as {
      machines: { machine: string; changes: { field: string; class: string }[] }[];
    };
    expect(plan.machines.find((m) => m.machine === 'a')?.changes).toMatchObject([
      { field: 'disk_size', class: 'reload' },
    ]);
    const bootId = await e.sh('b', 'cat /proc/sys/kernel/random/boot_id');
    // One command, both machines at once: a (halted) boots with the bigger disk, b is halted
    // through its own init and boots again.
    await e.p.ok(['reload', 'a', 'b']);
    expect(await e.sh('a', 'echo $(( $(cat /sys/block/vda/size) / 2048 ))')).toBe('4096\n');
    if (g.name === 'debian') {
      const rootMiB = Number((await e.sh('a', "df -m / | awk 'NR==2 {print $2}'")).trim());
      expect(rootMiB).toBeGreaterThan(3800); // cloud-init grows it at every boot
    }
    expect(
      await e.sh('a', `d=/dev/$(${bySerial('boxfest-data')} | cut -d' ' -f1); sudo -n head -c 18 $d`),
    ).toBe('kept-across-reload');
    expect(await e.sh('b', 'cat /proc/sys/kernel/random/boot_id')).not.toBe(bootId);
    const rows = await e.status();
    expect(rows.filter((r) => r.name !== 'c').map((r) => [r.name, r.state, r.networks[0]?.address])).toEqual([
      ['a', 'running', '192.168.61.10/24'],
      ['b', 'running', '192.168.61.2/24'],
    ]);
    expect(await e.sh('a', g.reaches('192.168.61.2'))).toBe('SSH-');
    expect(await e.sh('a', 'cat /srv/app/hello.txt')).toBe('hello\n');
  }, 900_000);

  it('shrinking is refused with the reason, nothing touched', async () => {
    writeFileSync(join(e.p.root, 'Boxfile.yaml'), BOXFILE(g, 3072));
    const r = await e.p.run(['up', 'a']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('[DISK_SHRINK]');
    expect(r.stderr).toContain('disk_size would go from 4096 MiB to 3072 MiB');
    expect((await e.status()).find((s) => s.name === 'a')?.state).toBe('running');
    writeFileSync(join(e.p.root, 'Boxfile.yaml'), BOXFILE(g, 4096));
  }, 120_000);

  it('destroy removes the machines, their disks and seeds, never the box', async () => {
    const dir = e.p.machine('a').dir;
    await e.p.ok(['destroy', '--force']);
    expect(e.p.qemuPids()).toEqual([]);
    expect(() => readFileSync(join(dir, 'disks', 'data.qcow2'))).toThrow();
    expect(sha256(boxImage)).toBe(boxSha);
  }, 300_000);
});
