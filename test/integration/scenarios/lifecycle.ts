// One real guest through its whole life: up, no-op up, ssh, ssh-config with OpenSSH, halt, up,
// provision, destroy. The assertions share one machine to keep TCG boots few. Run for every
// provider (test/integration/targets.ts).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, HostKeyMismatch } from '../../../src/ssh/client.js';
import { isAlive } from '../../../src/state/process.js';
import { sshEndpointOf, type MachineState } from '../../../src/state/machine-state.js';
import { sha256, TestProject } from '../harness.js';
import type { Target } from '../targets.js';
import { ownDaemonsEnv } from '../daemon-env.js';

const BOXFILE = `version: 1
defaults:
  box: tiny
  memory: 256
machines:
  web:
    hostname: web-1
    synced_folders:
      - { src: ./app, dest: /srv/app }
    provision:
      - name: once-marker
        shell: |
          echo "provisioning $(hostname)"
          echo ran >> /root/once.count
      - name: always-marker
        run: always
        shell: echo ran >> /root/always.count
`;

export function lifecycleScenario(t: Target): void {
  describe(`a machine from up to destroy (${t.name})`, () => {
    const p = new TestProject(
      {
        'Boxfile.yaml': t.boxfile(BOXFILE),
        'app/hello.txt': `hello from the host ${Date.now()}\n`,
        'app/sub/deep.txt': 'deep\n',
      },
      { target: t },
    );
    let firstUp: Awaited<ReturnType<TestProject['run']>>;
    let boxSha: string;
    let boxImages: string[];
    const state = () => JSON.parse(readFileSync(p.machine('web').state, 'utf8')) as MachineState;
    const guest = async (cmd: string) => (await p.ok(['ssh', 'web', '-c', cmd])).stdout;
    // Through the libvirt host's SSH server for a remote host's guest, as boxfest reaches it.
    const sshAt = (s: MachineState) => sshEndpointOf(s)!;

    beforeAll(async () => {
      await t.addBox(p);
      boxSha = sha256(p.boxImage);
      firstUp = await p.run(['up']);
      boxImages = t.boxImages(p, 'tiny');
    });
    afterAll(async () => {
      await p.cleanup();
    });

    it('comes up and streams the provisioner output prefixed by the machine name', () => {
      expect(firstUp.code, firstUp.stderr + firstUp.stdout + p.serialLog('web')).toBe(0);
      expect(firstUp.stdout).toContain('web | provisioning web-1');
      const status = JSON.parse(
        execFileSync(
          process.execPath,
          [join(import.meta.dirname, '../../../bin/boxfest.js'), 'status', '--json'],
          {
            cwd: p.root,
            env: { ...ownDaemonsEnv(process.env), BOXFEST_HOME: p.home },
          },
        ).toString(),
      ) as { name: string; state: string; provider: string }[];
      expect(status).toMatchObject([{ name: 'web', state: 'running', provider: t.name }]);
    });

    it('synced the folder with the host content', async () => {
      expect(await guest('cat /srv/app/hello.txt')).toBe(readFileSync(join(p.root, 'app/hello.txt'), 'utf8'));
      expect(await guest('cat /srv/app/sub/deep.txt')).toBe('deep\n');
      expect(await guest('hostname')).toBe('web-1\n');
    });

    it('replaced the box insecure key: it no longer logs in, the machine key does', async () => {
      const s = state();
      expect(s.keyReplaced).toBe(true);
      const target = { ...sshAt(s), user: 'root', hostKey: s.hostKey };
      await expect(
        connect({ ...target, keys: [readFileSync(p.insecureKey, 'utf8')] }, 5_000),
      ).rejects.toThrow(/authentication methods failed/);
      const ok = await connect(
        { ...target, keys: [readFileSync(p.machine('web').privateKey, 'utf8')] },
        5_000,
      );
      ok.client.end();
    });

    it('a pinned host key that does not match is refused', async () => {
      const s = state();
      const wrong = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBhdYd1r1yX5u2I4pX0XJgX9H0D2q2TGxw+1fZ0QpR7q';
      await expect(
        connect(
          {
            ...sshAt(s),
            user: 'root',
            hostKey: wrong,
            keys: [readFileSync(p.machine('web').privateKey, 'utf8')],
          },
          5_000,
        ),
      ).rejects.toThrow(HostKeyMismatch);
    });

    it('a second up changes nothing and runs no provisioner', async () => {
      const before = readFileSync(p.machine('web').state, 'utf8');
      const pid = t.vmPid(p, 'web');
      expect(pid).toBeDefined();
      const r = await p.ok(['up']);
      expect(r.stderr).toContain('web: running and up to date, nothing to do');
      expect(readFileSync(p.machine('web').state, 'utf8')).toBe(before);
      expect(t.vmPid(p, 'web')).toBe(pid);
      expect(await guest('cat /root/once.count /root/always.count')).toBe('ran\nran\n');
    });

    it('ssh -c passes the exit code and output through', async () => {
      const r = await p.run(['ssh', 'web', '-c', 'echo out; echo err >&2; exit 7']);
      expect(r).toMatchObject({ code: 7, stdout: 'out\n', stderr: 'err\n' });
    });

    it('ssh -c streams stdin to the command and its stdout back, byte for byte', async () => {
      // Not text: bytes that are no UTF-8 must come back as they went (they were decoded once).
      const bytes = randomBytes(256 * 1024);
      const r = await p.runBytes(['ssh', 'web', '-c', 'cat'], bytes);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.length).toBe(bytes.length);
      expect(r.stdout.equals(bytes)).toBe(true);
    });

    it('ssh-config gives a block that plain OpenSSH uses with the pinned host key', async () => {
      const cfg = join(p.base, 'ssh_config');
      writeFileSync(cfg, (await p.ok(['ssh-config'])).stdout);
      const out = execFileSync('ssh', ['-F', cfg, `boxfest-project-web`, 'echo', 'via-openssh']).toString();
      expect(out).toBe('via-openssh\n');
    });

    it('halt stops the VM; up boots it again without rerunning once provisioners', async () => {
      const pid = t.vmPid(p, 'web')!;
      await p.ok(['halt']);
      expect(isAlive(pid)).toBe(false);
      expect(JSON.parse((await p.ok(['status', '--json'])).stdout)).toMatchObject([
        { name: 'web', state: 'halted' },
      ]);
      const r = await p.ok(['up']);
      expect(r.stdout).not.toContain('provisioning web-1');
      expect(await guest('cat /root/once.count')).toBe('ran\n');
      expect(await guest('wc -l < /root/always.count')).toMatch(/^\s*2\n$/);
    });

    it('provision runs every provisioner on demand, and so does up --provision', async () => {
      const r = await p.ok(['provision']);
      expect(r.stdout).toContain('web | provisioning web-1');
      expect(await guest('wc -l < /root/once.count')).toMatch(/^\s*2\n$/);
      await p.ok(['up', '--provision']);
      expect(await guest('wc -l < /root/once.count')).toMatch(/^\s*3\n$/);
      await p.ok(['up', '--no-provision']);
      expect(await guest('wc -l < /root/once.count')).toMatch(/^\s*3\n$/);
    });

    it('box remove refuses while the machine disk is backed by the box', async () => {
      const image = p.storedImage();
      const r = await p.run(['box', 'remove', 'tiny']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('box `tiny` backs 1 machine disk(s)');
      expect(existsSync(image)).toBe(true);
    });

    it('destroy leaves no process, no disk, no state, and the box unchanged', async () => {
      const pid = t.vmPid(p, 'web')!;
      await p.ok(['destroy', '--force']);
      expect(isAlive(pid)).toBe(false);
      expect(existsSync(join(p.root, '.boxfest'))).toBe(false);
      expect(t.leftovers(p)).toEqual([]);
      expect(sha256(p.boxImage)).toBe(boxSha);
      expect(boxImages.length).toBeGreaterThan(0);
      for (const image of boxImages) expect(sha256(image), image).toBe(boxSha);
      expect(sha256(p.storedImage())).toBe(boxSha);
      expect(JSON.parse((await p.ok(['status', '--json'])).stdout)).toMatchObject([
        { name: 'web', state: 'not_created' },
      ]);
    });
  });
}
