// What a cloud-init machine's seed says, and what boxfest makes of cloud-init's answers. Pure
// functions; the integration tests boot a real Debian guest on the same seed.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { networkConfig } from '../../../src/cloud-init/network-config.js';
import { seedFiles, SEED_LABEL } from '../../../src/cloud-init/seed.js';
import {
  consoleDisagrees,
  consoleHostKeys,
  parseStatus,
  waitScript,
  progressLines,
} from '../../../src/guest/cloud-init.js';
import { parseGrow } from '../../../src/guest/grow-disk.js';
import { mergeMappings } from '../../../src/config/merge.js';
import { shrinkOf, type Change } from '../../../src/plan/drift.js';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKIS/0dgj9WY7Zh2Lao11ybgH7PNB54uyGGH3X1sg0Bz boxfest p/web';
const NICS = [
  { index: 0 as const, kind: 'management' as const, mac: '52:54:00:AA:00:00' },
  {
    index: 1,
    network: 'back',
    kind: 'private' as const,
    mac: '52:54:00:aa:00:01',
    ip: '192.168.56.10',
    prefix: 24,
    allocated: false,
  },
  { index: 2, network: 'lan', kind: 'bridged' as const, mac: '52:54:00:aa:00:02', bridge: 'br0' },
];

function files(additions: Record<string, unknown> = {}) {
  return seedFiles({
    instanceId: 'boxfest-web-0123456789ab',
    hostname: 'web',
    user: 'me',
    publicKey: KEY,
    nics: NICS,
    additions,
  });
}

describe('the NoCloud seed', () => {
  it('is labelled cidata', () => expect(SEED_LABEL).toBe('cidata'));

  it('meta-data: the instance-id and hostname', () => {
    expect(parse(files()['meta-data'])).toEqual({
      'instance-id': 'boxfest-web-0123456789ab',
      'local-hostname': 'web',
    });
  });

  it('user-data: the user with passwordless sudo and only the machine’s key; the image’s host keys deleted; no password login', () => {
    const text = files()['user-data'];
    expect(text.startsWith('#cloud-config\n')).toBe(true);
    const u = parse(text) as Record<string, unknown>;
    expect(u.users).toEqual([
      {
        name: 'me',
        gecos: 'boxfest',
        shell: '/bin/bash',
        sudo: 'ALL=(ALL) NOPASSWD:ALL',
        lock_passwd: true,
        ssh_authorized_keys: [KEY],
      },
    ]);
    expect(u.ssh_deletekeys).toBe(true);
    // Not `ssh_pwauth`: it restarts a running sshd (first logins get "Connection reset").
    expect(u).not.toHaveProperty('ssh_pwauth');
    expect(u.write_files).toEqual([
      {
        path: '/etc/ssh/sshd_config.d/10-boxfest.conf',
        permissions: '0644',
        content: 'PasswordAuthentication no\nKbdInteractiveAuthentication no\n',
      },
    ]);
    expect(u.updates).toEqual({ network: { when: ['boot-new-instance', 'boot'] } });
  });

  it('user-data: the host key boxfest made and pinned is the only one cloud-init writes (ssh_keys)', () => {
    const hostKey = {
      private: '-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n',
      public: 'ssh-ed25519 AAAAhost',
    };
    const u = parse(
      seedFiles({
        instanceId: 'i',
        hostname: 'web',
        user: 'me',
        publicKey: KEY,
        nics: NICS,
        hostKey,
        additions: {},
      })['user-data'],
    ) as Record<string, unknown>;
    expect(u.ssh_keys).toEqual({ ed25519_private: hostKey.private, ed25519_public: hostKey.public });
    expect(u.ssh_deletekeys).toBe(true);
    // Without one (a machine made before seeds carried it), cloud-init generates fresh keys.
    expect(parse(files()['user-data'])).not.toHaveProperty('ssh_keys');
  });

  it('user-data: the Boxfile’s additions merged in, lists after boxfest’s', () => {
    const u = parse(
      files({
        packages: ['nginx'],
        write_files: [{ path: '/etc/motd', content: 'hi\n' }],
        growpart: { mode: 'off' },
      })['user-data'],
    ) as { packages: string[]; write_files: { path: string }[]; growpart: unknown };
    expect(u.packages).toEqual(['nginx']);
    expect(u.write_files.map((f) => f.path)).toEqual(['/etc/ssh/sshd_config.d/10-boxfest.conf', '/etc/motd']);
    expect(u.growpart).toEqual({ mode: 'off' });
  });

  it('network-config v2: every NIC matched by its MAC and named, static or DHCP as the Boxfile says', () => {
    expect(parse(files()['network-config'])).toEqual(networkConfig(NICS));
    expect(networkConfig(NICS)).toEqual({
      version: 2,
      ethernets: {
        eth0: { match: { macaddress: '52:54:00:aa:00:00' }, 'set-name': 'eth0', dhcp4: true },
        eth1: {
          match: { macaddress: '52:54:00:aa:00:01' },
          'set-name': 'eth1',
          dhcp4: false,
          addresses: ['192.168.56.10/24'],
        },
        eth2: { match: { macaddress: '52:54:00:aa:00:02' }, 'set-name': 'eth2', dhcp4: true },
      },
    });
  });
});

describe('mergeMappings (defaults.cloud_init under a machine’s)', () => {
  it.each([
    [{ packages: ['a'] }, { packages: ['b'] }, { packages: ['a', 'b'] }],
    [
      { growpart: { mode: 'auto', devices: ['/'] } },
      { growpart: { mode: 'off' } },
      { growpart: { mode: 'off', devices: ['/'] } },
    ],
    [{ timezone: 'UTC' }, { timezone: 'Europe/Berlin' }, { timezone: 'Europe/Berlin' }],
    [{ runcmd: ['x'] }, { runcmd: 'y' }, { runcmd: 'y' }],
  ])('%j + %j', (a, b, want) => expect(mergeMappings(a, b)).toEqual(want));
});

/**
 * Runs a script in its own process group and resolves with its stdout. Async, with its own
 * deadline that ends the whole group: a background process of the script that kept its stdout
 * open (tail -F) would block a synchronous exec, and with it the test worker, for good.
 */
function shOutput(script: string, env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', script], { env, detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
      reject(new Error(`the script did not end within 15 s; its output:\n${out}`));
    }, 15_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`sh exited ${code}; its output:\n${out}`));
    });
  });
}

describe('cloud-init status', () => {
  const out = (status: string) =>
    `Cloud-init v. 22.4.2 running 'modules:final'\nsome output\nboxfest-cloud-init-status-begin\nstatus: ${status}\ndetail:\nDataSourceNoCloud\nboxfest-cloud-init-status-end\n`;
  it.each(['done', 'error', 'disabled', 'not run'])('reads `%s`', (s) => {
    expect(parseStatus(out(s))).toEqual({ status: s, report: `status: ${s}\ndetail:\nDataSourceNoCloud` });
  });
  it('leaves out the dots `status --wait` prints while it waits', () => {
    const waited = out('done').replace('-begin\n', '-begin\n.......\n');
    expect(parseStatus(waited)).toEqual({
      status: 'done',
      report: 'status: done\ndetail:\nDataSourceNoCloud',
    });
  });
  it('tells the progress from the report', () => {
    expect(progressLines(out('done'))).toEqual([
      "Cloud-init v. 22.4.2 running 'modules:final'",
      'some output',
    ]);
  });
  const fromJson = (json: string) =>
    `boxfest-cloud-init-status-begin\n${json}\nboxfest-cloud-init-status-end\n`;
  it.each<[string, string, string]>([
    ['no errors: done', '{"v1": {"datasource": "DataSourceNoCloud", "errors": []}}', 'done'],
    [
      'a module failed: error, and which',
      '{"v1": {"datasource": "DataSourceNoCloud", "errors": ["(\'scripts_user\', RuntimeError(\'runparts: 1 failures\'))"]}}',
      'error',
    ],
    ['not JSON', '{"v1":', 'unknown'],
    ['no error list', '{"v1": {}}', 'unknown'],
  ])('reads result.json, %s', (_, json, want) => {
    const r = parseStatus(fromJson(json));
    expect(r?.status).toBe(want);
    if (want === 'error') expect(r?.report).toContain('scripts_user');
    if (want === 'unknown') expect(r?.report).toContain(json);
  });
  it('the wait script is valid sh, runs its extra part after the wait, and says whether it ran', () => {
    const s = waitScript('hostname web');
    execFileSync('sh', ['-n', '-c', s]);
    expect(s.indexOf('hostname web')).toBeGreaterThan(s.indexOf('/run/cloud-init/result.json'));
    expect(s.indexOf('hostname web')).toBeLessThan(s.indexOf('boxfest-cloud-init-status-begin'));
    expect(s).toContain('then echo then-done');
    expect(waitScript()).not.toContain('then-done');
  });
  it.each<
    [
      string,
      { started: boolean; resultAfter?: 'soon' | 'once-the-waiter-runs'; says?: string },
      string,
      boolean,
    ]
  >([
    [
      'started: its end marker alone, no Python waiter',
      { started: true, resultAfter: 'soon' },
      'done',
      false,
    ],
    [
      'not started, and it never will: `status --wait` decides',
      { started: false, says: 'disabled' },
      'disabled',
      true,
    ],
    [
      'not started yet, then it ends first: its marker',
      { started: false, resultAfter: 'once-the-waiter-runs' },
      'done',
      true,
    ],
  ])(
    'waits (run by sh, cloud-init a stub): %s',
    async (_, o, want, waiterRan) => {
      // The script's paths moved into a temp dir; a stub `cloud-init` that records its start.
      const dir = mkdtempSync(join(tmpdir(), 'boxfest-ci-wait-'));
      try {
        const run = join(dir, 'run');
        mkdirSync(join(dir, 'bin'));
        mkdirSync(run);
        if (o.started) writeFileSync(join(run, 'status.json'), '{}');
        const stub = join(dir, 'bin', 'cloud-init');
        writeFileSync(
          stub,
          `#!/bin/sh\ntouch ${dir}/waiter-ran\n${o.says === undefined ? 'exec sleep 30' : `echo "status: ${o.says}"`}\n`,
        );
        chmodSync(stub, 0o755);
        const script = waitScript().replaceAll('/run/cloud-init', run).replaceAll('/var/log', dir);
        const first =
          o.resultAfter === 'once-the-waiter-runs'
            ? `while [ ! -e ${dir}/waiter-ran ]; do sleep 0.05; done; `
            : '';
        const writer =
          o.resultAfter === undefined
            ? ''
            : `(${first}sleep 0.3; echo '{"v1": {"errors": []}}' > ${run}/r.tmp; mv ${run}/r.tmp ${run}/result.json) & `;
        const out = await shOutput(`${writer}${script}`, {
          ...process.env,
          PATH: `${join(dir, 'bin')}:${process.env['PATH'] ?? ''}`,
        });
        expect(parseStatus(out)?.status).toBe(want);
        expect(existsSync(join(dir, 'waiter-ran'))).toBe(waiterRan);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    20_000,
  );
  it('is undefined when the script did not get to the end', () =>
    expect(parseStatus('oops\n')).toBeUndefined());
});

describe('host keys on the console', () => {
  const ED = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKIS/0dgj9WY7Zh2Lao11ybgH7PNB54uyGGH3X1sg0Bz';
  const console = [
    '[   70.1] cloud-init[612]: Cloud-init v. 22.4.2 finished',
    '-----BEGIN SSH HOST KEY KEYS-----',
    'ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBHH6D1J9VlXx6sQ8= root@web\r',
    `${ED} root@web`,
    '-----END SSH HOST KEY KEYS-----',
  ].join('\n');
  it('are read from cloud-init’s block', () => {
    expect(consoleHostKeys(console)).toEqual([
      'ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBHH6D1J9VlXx6sQ8=',
      ED,
    ]);
  });
  it.each([
    ['the same key', ED, undefined],
    ['a type the console does not show', 'ssh-rsa AAAAB3', undefined],
    ['another key of a shown type', 'ssh-ed25519 AAAAC3Nzaother', ED],
  ])('%s', (_, pinned, want) => expect(consoleDisagrees(pinned, console)).toBe(want));
  it('agree with anything when there is no block', () =>
    expect(consoleDisagrees(ED, 'booting...')).toBeUndefined());
});

describe('grow-disk result', () => {
  it.each([
    [
      'boxfest-grow grown /dev/vda2 (ext4) grown to fill /dev/vda\n',
      { kind: 'grown', detail: '/dev/vda2 (ext4) grown to fill /dev/vda' },
    ],
    [
      'boxfest-grow no-tools no growpart resize2fs in the guest\n',
      { kind: 'no-tools', detail: 'no growpart resize2fs in the guest' },
    ],
    ['nothing\n', undefined],
  ])('%j', (out, want) => expect(parseGrow(out)).toEqual(want));
});

describe('shrinkOf', () => {
  const change = (field: string, from: Change['from'], to: Change['to']): Change => ({
    field,
    class: 'reload',
    from,
    to,
    message: '',
  });
  it.each<[string, Change[], string | undefined]>([
    ['growing', [change('disk_size', 3072, 4096)], undefined],
    [
      'a smaller disk_size',
      [change('disk_size', 4096, 3072)],
      'disk_size would go from 4096 MiB to 3072 MiB',
    ],
    [
      'disk_size removed',
      [change('disk_size', 4096, null)],
      "disk_size would go from 4096 MiB to the box's size",
    ],
    ['disk_size set the first time', [change('disk_size', null, 4096)], undefined],
    [
      'a smaller data disk',
      [change('disks', [{ name: 'data', size: 2048 }], [{ name: 'data', size: 1024 }])],
      'data disk `data` would go from 2048 MiB to 1024 MiB',
    ],
    ['a new data disk', [change('disks', [], [{ name: 'data', size: 1024 }])], undefined],
  ])('%s', (_, changes, want) => expect(shrinkOf(changes)).toBe(want));
});
