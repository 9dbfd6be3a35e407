// Each machine serves an SSH host key of its own, made on the host, whichever way it came up:
// booted cold or restored from a saved state (`instant`), from a box whose server is dropbear
// (the tiny box: keys made at first connection) or OpenSSH (its variant: keys baked into the
// image, as in an image made from an installed system, and held in memory by its listener), logged
// in as root or as a user with sudo. What counts is what the running server serves (ssh-keyscan),
// not what files say or whether boxfest restarted it.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MachineState } from '../../src/state/machine-state.js';
import { instantStatePaths } from '../../src/providers/qemu/paths.js';
import { probeForwards } from '../../src/providers/qemu/network-probe.js';
import { qmpExecute } from '../../src/providers/qemu/qmp.js';
import { TestProject } from './harness.js';

const ROOT = resolve(import.meta.dirname, '../..');
const INSTANT = 'instant: true, qemu: { disk_interface: virtio }';

/** Every key of TYPES the server on 127.0.0.1:PORT serves, as "type base64". */
function served(port: number, types = 'ed25519,ecdsa,rsa'): string[] {
  const r = spawnSync('ssh-keyscan', ['-T', '10', '-t', types, '-p', String(port), '127.0.0.1'], {
    encoding: 'utf8',
  });
  return r.stdout
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => l.split(' ').slice(1, 3).join(' '))
    .sort();
}

describe('own SSH host keys, made on the host, for dropbear and OpenSSH, cold and restored', () => {
  const p = new TestProject({
    'Boxfile.yaml': `version: 1
defaults: { memory: 256 }
machines:
  cold: { box: tiny }
  restored: { box: tiny, ${INSTANT}, ssh: { user: box } }
  ocold: { box: ossh }
  orestored: { box: ossh, ${INSTANT}, ssh: { user: box } }
`,
  });
  const state = (m: string) => JSON.parse(readFileSync(p.machine(m).state, 'utf8')) as MachineState;
  const golden = (m: string, box: string) =>
    JSON.parse(readFileSync(instantStatePaths(p.home, box, '0', state(m).instant!.key!).meta, 'utf8')) as {
      hostKey: string;
      sshd: string;
    };
  let up: Awaited<ReturnType<TestProject['run']>>;

  beforeAll(async () => {
    const osshDir = join(ROOT, '.cache', 'tiny-box-openssh');
    execFileSync('bash', [join(ROOT, 'test/fixtures/build-tiny-box.sh'), osshDir], {
      env: { ...process.env, BOX_SSHD: 'openssh' },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    await p.addTinyBox();
    await p.ok([
      'box',
      'add',
      'ossh',
      join(osshDir, 'box.qcow2'),
      '--ssh-key',
      join(osshDir, 'insecure_key'),
    ]);
    up = await p.run(['up']);
    if (up.code !== 0)
      throw new Error(
        `up failed\n${up.stderr}\n${up.stdout}\n${['cold', 'restored', 'ocold', 'orestored'].map((m) => p.serialLog(m)).join('\n')}`,
      );
  });
  afterAll(async () => {
    await p.cleanup();
  });

  it('two were restored, two booted cold', () => {
    expect(
      ['cold', 'restored', 'ocold', 'orestored'].map((m) => state(m).instant?.restored === true),
    ).toEqual([false, true, false, true]);
    expect(golden('restored', 'tiny').sshd).toBe('dropbear-inittab');
    expect(golden('orestored', 'ossh').sshd).toBe('openssh');
  });

  it.each(['cold', 'restored', 'ocold', 'orestored'])(
    '%s: the running server serves exactly the ed25519 key boxfest made and pinned',
    (m) => {
      const s = state(m);
      expect(s.hostKeySource).toBe('boxfest');
      expect(served(s.sshPort!, 'ed25519')).toEqual([s.hostKey]);
      // The known_hosts boxfest writes for `boxfest ssh` and ssh-config holds that key.
      expect(readFileSync(join(p.machine(m).dir, 'known_hosts'), 'utf8')).toContain(s.hostKey);
    },
  );

  it('the cold dropbear box took its identity at boot; restored dropbear served the new key file at once; the OpenSSH box (keys held in memory) was restarted', () => {
    const line = (m: string) => up.stdout.split('\n').find((l) => l.startsWith(`✔ ${m}: own SSH host key`));
    // The tiny box reads the identity boxfest offers a first boot (fw_cfg): it served the key
    // boxfest made from its first answer, so nothing was installed over SSH.
    expect(line('cold')).toBeUndefined();
    expect(up.stdout).toContain('✔ cold: SSH ready, serving the host key it was given at boot');
    // dropbear -R read the new file for the next connection: no restart.
    expect(line('restored')).toMatch(/own SSH host key \(dropbear\), pinned/);
    // sshd -r holds the keys it loaded at start (as OpenSSH 9.8's listener does): SIGHUP was needed.
    expect(line('ocold')).toMatch(/own SSH host key \(OpenSSH, restarted\), pinned/);
    expect(line('orestored')).toMatch(/own SSH host key \(OpenSSH, restarted\), pinned/);
  });

  it('the identity taken at boot: only the machine key logs in, the hostname is set, the host copy of the private key is gone', async () => {
    const s = state('cold');
    expect(s.keyReplaced).toBe(true);
    expect(p.serialLog('cold')).toContain('box: identity from fw_cfg for root');
    expect(existsSync(p.machine('cold').identity)).toBe(false);
    expect(readFileSync(p.machine('cold').cmd, 'utf8')).toContain('name=opt/io.boxfest/');
    // The box's insecure key, authorised for root in the image, is refused now.
    const insecure = spawnSync(
      'ssh',
      [
        ...['-i', p.insecureKey, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes'],
        ...['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null'],
        ...['-p', String(s.sshPort), 'root@127.0.0.1', 'true'],
      ],
      { encoding: 'utf8', timeout: 30_000 },
    );
    expect(insecure.status).toBe(255);
    expect(insecure.stderr).toMatch(/Permission denied/);
    expect((await p.ok(['ssh', 'cold', '-c', 'hostname; cat /root/.ssh/authorized_keys'])).stdout).toBe(
      `cold\n${readFileSync(p.machine('cold').publicKey, 'utf8')}`,
    );
    // The forward that told when its network was up (the wait for SSH) is gone again.
    const usernet = String(
      await qmpExecute(p.machine('cold').qmp, 'human-monitor-command', { 'command-line': 'info usernet' }),
    );
    expect(usernet).toContain('HOST_FORWARD');
    expect(probeForwards(usernet)).toEqual([]);
    // Machines restored from a saved state booted before it was saved: offered nothing.
    expect(readFileSync(p.machine('restored').cmd, 'utf8')).not.toContain('fw_cfg');
  });

  it('every key is its own: not the saved guest’s, not the box’s baked one, not another machine’s', () => {
    const keys = ['cold', 'restored', 'ocold', 'orestored'].map((m) => state(m).hostKey);
    expect(new Set(keys).size).toBe(4);
    // The golden VMs booted the boxes as they are: dropbear's first key, the OpenSSH box's baked one.
    for (const [m, box] of [
      ['restored', 'tiny'],
      ['orestored', 'ossh'],
      ['ocold', 'ossh'],
    ] as const)
      expect(keys).not.toContain(golden(m === 'ocold' ? 'orestored' : m, box).hostKey);
  });

  it('the OpenSSH box serves none of its baked keys any more (the ECDSA one is gone too)', () => {
    for (const m of ['ocold', 'orestored']) expect(served(state(m).sshPort!)).toEqual([state(m).hostKey]);
  });

  it('a second up is a no-op; a restored OpenSSH machine with a sudo user halts and boots with its key', async () => {
    const before = state('orestored').hostKey;
    expect((await p.ok(['up'])).stdout).not.toContain('host key');
    await p.ok(['halt', 'orestored']);
    await p.ok(['up', 'orestored']);
    const s = state('orestored');
    expect(s.hostKey).toBe(before);
    expect(served(s.sshPort!, 'ed25519')).toEqual([before]);
    expect((await p.ok(['ssh', 'orestored', '-c', 'id -un; sudo -n id -u'])).stdout).toBe('box\n0\n');
  });
});
