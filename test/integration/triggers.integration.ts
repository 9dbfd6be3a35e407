// Triggers on a real guest: host commands with the machine's BOXFEST_* environment, guest
// scripts over the machine's SSH, output under the machine's name, and a failing `before`
// trigger that stops the machine's action before it does anything.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readMachineState } from '../../src/state/machine-state.js';
import { TestProject } from './harness.js';

const BOXFILE = `version: 1
defaults:
  triggers:
    - { name: host-before-up, on: up, when: before, run: [sh, -c, 'echo "before-up $BOXFEST_MACHINE" >> log.txt'] }
machines:
  web:
    box: tiny
    memory: 256
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
});
