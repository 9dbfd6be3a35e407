// Triggers on a real guest: host commands with the machine's BOXFEST_* environment, guest
// scripts over the machine's SSH, output under the machine's name, and a failing `before`
// trigger that stops the machine's action before it does anything. On the same guest:
// `boxfest ssh MACHINE -- ARGS` (OpenSSH, a real -L forward) and `ssh.forward_agent` with a real
// ssh-agent.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readMachineState } from '../../src/state/machine-state.js';
import { isAlive, waitUntil } from '../../src/state/process.js';
import { TestProject } from './harness.js';

const BOXFILE = `version: 1
defaults:
  triggers:
    - { name: host-before-up, on: up, when: before, run: [sh, -c, 'echo "before-up $BOXFEST_MACHINE" >> log.txt'] }
machines:
  web:
    box: tiny
    memory: 256
    ssh: { forward_agent: true }
    triggers:
      - name: host-after-up
        on: up
        when: after
        run: [sh, -c, 'echo "after-up $BOXFEST_MACHINE $BOXFEST_SSH_HOST:$BOXFEST_SSH_PORT $BOXFEST_PROJECT" >> log.txt']
      - { name: remote-after-up, on: up, when: after, run_remote: 'echo "remote as $(id -u) on $(hostname)"' }
      - { name: gate, on: provision, when: before, run: [sh, -c, 'test ! -e block'] }
      - { name: remote-before-halt, on: [halt], when: before, run_remote: 'echo halting > /root/halted; sync' }
      - { name: host-after-halt, on: halt, when: after, run: [sh, -c, 'echo after-halt >> log.txt'] }
    provision:
      - shell: echo provisioned >> /root/prov
`;

/** The first bytes something on 127.0.0.1:port sends, retried until `timeoutMs`; '' if none. */
async function firstBanner(port: number, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const got = await new Promise<string>((resolve) => {
      const s = tcpConnect(port, '127.0.0.1');
      s.setTimeout(1_000, () => (s.destroy(), resolve('')));
      s.on('data', (d) => (s.destroy(), resolve(d.toString('utf8'))));
      s.on('error', () => resolve(''));
    });
    if (got !== '') return got;
    await new Promise((r) => setTimeout(r, 200));
  }
  return '';
}

describe('triggers on a real guest', () => {
  const p = new TestProject({ 'Boxfile.yaml': BOXFILE });
  const guest = async (cmd: string) => (await p.ok(['ssh', 'web', '-c', cmd])).stdout;
  const log = () => readFileSync(join(p.root, 'log.txt'), 'utf8');
  let up: Awaited<ReturnType<TestProject['run']>>;

  beforeAll(async () => {
    await p.addTinyBox();
    up = await p.run(['up']);
  });
  afterAll(async () => {
    await p.cleanup();
  });

  it('up runs the before and after triggers with the machine’s environment', () => {
    expect(up.code, up.stderr + up.stdout).toBe(0);
    const port = readMachineState(p.root, 'web')!.sshPort!;
    expect(log()).toBe(`before-up web\nafter-up web 127.0.0.1:${port} ${p.root}\n`);
  });

  it('a guest script’s output streams under the machine’s name', () => {
    expect(up.stdout).toContain('web | remote as 0 on web');
  });

  it('a failing before trigger stops the action with a clear error; nothing ran', async () => {
    writeFileSync(join(p.root, 'block'), '');
    const r = await p.run(['provision']);
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toContain('trigger `gate` (before provision) exited with code 1');
    expect(r.stdout + r.stderr).toContain('nothing was done to web');
    expect(r.stdout + r.stderr).not.toMatch(/\n\s+at .*\.js:\d+/);
    expect(await guest('cat /root/prov')).toBe('provisioned\n');
    rmSync(join(p.root, 'block'));
    await p.ok(['provision']);
    expect(await guest('cat /root/prov')).toBe('provisioned\nprovisioned\n');
  });

  it('halt runs the guest script before and the host command after', async () => {
    await p.ok(['halt']);
    expect(log().endsWith('after-halt\n')).toBe(true);
    await p.ok(['up']);
    // Written by the before-halt trigger while the guest still ran.
    expect(await guest('cat /root/halted')).toBe('halting\n');
    expect(existsSync(join(p.root, 'block'))).toBe(false);
  });

  it('ssh -- ARGS runs OpenSSH with the machine’s config: a command, and a real -L forward', async () => {
    const r = await p.run(['ssh', 'web', '--', 'echo', 'via-openssh']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('via-openssh\n');
    const port = 20000 + (process.pid % 10000);
    const held = p.run([
      'ssh',
      'web',
      '--',
      '-o',
      'ExitOnForwardFailure=yes',
      '-L',
      `127.0.0.1:${port}:127.0.0.1:22`,
      'sleep 4',
    ]);
    // Through the forward, the guest's own sshd answers with its banner.
    const banner = await firstBanner(port, 3_500);
    expect(banner).toMatch(/^SSH-2\.0-dropbear/);
    expect((await held).code).toBe(0);
  });

  it('ssh.forward_agent forwards a real ssh-agent on boxfest ssh (ssh2 and OpenSSH)', async () => {
    const sock = join(p.base, 'agent.sock');
    const agent = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
    try {
      expect(await waitUntil(() => existsSync(sock), 5_000)).toBe(true);
      const check = 'test -S "$SSH_AUTH_SOCK" && echo agent-forwarded';
      const viaSsh2 = await p.run(['ssh', 'web', '-c', check], { env: { SSH_AUTH_SOCK: sock } });
      expect(viaSsh2.stdout).toBe('agent-forwarded\n');
      const viaOpenSsh = await p.run(['ssh', 'web', '--', check], { env: { SSH_AUTH_SOCK: sock } });
      expect(viaOpenSsh.stdout).toBe('agent-forwarded\n');
      // ssh-config says so too.
      expect((await p.ok(['ssh-config', 'web'])).stdout).toContain('  ForwardAgent yes\n');
    } finally {
      agent.kill('SIGTERM');
      await waitUntil(() => !isAlive(agent.pid!), 3_000);
    }
  });
});
