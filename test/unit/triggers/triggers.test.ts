// Triggers with real host commands: argv without a shell, the BOXFEST_* environment, output
// line by line, failures as TRIGGER_FAILED; the config that declares them and its rules.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Environment, MachineSpec, Trigger } from '../../../src/config/types.js';
import { BoxfestError } from '../../../src/errors.js';
import { triggerSteps, withTriggers } from '../../../src/pipeline/steps/triggers.js';
import { writeMachineState } from '../../../src/state/machine-state.js';
import { runTrigger, triggerEnv } from '../../../src/triggers/run.js';
import { environment, fakeFs, PERMISSIVE, problems, yaml } from '../config/helpers.js';
import { spec } from '../helpers.js';

const root = mkdtempSync(join(tmpdir(), 'boxfest-triggers-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const env = (machines: MachineSpec[] = []): Environment => ({
  file: join(root, 'Boxfile.yaml'),
  root,
  name: 'proj',
  provider: 'qemu',
  networks: [
    { name: 'backend', type: 'private', cidr: '192.168.56.0/24' } as Environment['networks'][number],
  ],
  machines,
});
const host = (run: string[], over: Partial<Trigger> = {}): Trigger => ({
  name: 'tr',
  on: ['up'],
  when: 'before',
  action: { run },
  onError: 'halt',
  ...over,
});

async function lines(t: Trigger, m = spec('web')): Promise<string[]> {
  const out: string[] = [];
  await runTrigger(env([m]), m, t, 'up', (l) => out.push(l));
  return out;
}

describe('host triggers', () => {
  it('run an argv without a shell, in the project directory, output line by line', async () => {
    expect(await lines(host(['printf', '%s\\n', 'a b', '$(id)', 'last']))).toEqual(['a b', '$(id)', 'last']);
    expect(await lines(host(['pwd']))).toEqual([root]);
  });

  it('get the machine’s BOXFEST_* variables, the ones known so far', async () => {
    const show = host(['sh', '-c', 'env | grep -E ^BOXFEST_[MPS] | sort']);
    expect(await lines(show, spec('fresh'))).toEqual(['BOXFEST_MACHINE=fresh', `BOXFEST_PROJECT=${root}`]);
    writeMachineState(root, 'web', {
      provider: 'qemu',
      project: root,
      createdAt: '',
      box: { name: 'tiny', version: '0', image: '/b' },
      applied: { box: 'tiny', cpus: 1, memory: 256, hostname: 'web' },
      sshUser: 'root',
      keyReplaced: true,
      converged: true,
      provisioned: [],
      sshPort: 2299,
      addresses: [
        { network: 'lan', iface: 'eth1', mac: 'm', cidr: '10.0.0.5/24', how: 'dhcp' },
        { network: 'backend', iface: 'eth2', mac: 'm', cidr: '192.168.56.10/24', how: 'static' },
      ],
    });
    expect(await lines(show)).toEqual([
      'BOXFEST_MACHINE=web',
      'BOXFEST_MACHINE_IP=192.168.56.10',
      `BOXFEST_PROJECT=${root}`,
      'BOXFEST_SSH_HOST=127.0.0.1',
      'BOXFEST_SSH_PORT=2299',
    ]);
    expect(triggerEnv(env(), spec('web'))['BOXFEST_MACHINE_IP']).toBe('192.168.56.10');
  });

  it('a relative program path is the Boxfile’s', async () => {
    writeFileSync(join(root, 'hook.sh'), '#!/bin/sh\necho "hook $1"\n');
    chmodSync(join(root, 'hook.sh'), 0o755);
    expect(await lines(host(['./hook.sh', 'ran']))).toEqual(['hook ran']);
  });

  it.each([
    [['sh', '-c', 'echo partial; exit 3'], 'trigger `tr` (before up) exited with code 3'],
    [
      ['no-such-program-boxfest'],
      'trigger `tr` (before up) failed: could not run `no-such-program-boxfest`: no such program',
    ],
  ])('%j fails with TRIGGER_FAILED', async (run, message) => {
    const e = await lines(host(run)).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(BoxfestError);
    expect((e as BoxfestError).code).toBe('TRIGGER_FAILED');
    expect((e as BoxfestError).message).toBe(message);
    expect((e as BoxfestError).hint).toBe(
      'nothing was done to web; fix the trigger, or set `on_error: continue` on it',
    );
  });

  it('run_remote on a machine that was never up says so', async () => {
    const t: Trigger = { ...host([]), action: { runRemote: 'true' } };
    await expect(lines(t, spec('fresh'))).rejects.toThrow(
      /cannot run its `run_remote` script: the machine has never been up/,
    );
  });
});

describe('trigger steps', () => {
  const m = spec('web', {
    triggers: [
      host(['true'], { name: 'a', on: ['up', 'halt'] }),
      host(['sh', '-c', 'exit 1'], { name: 'b', on: ['halt'], onError: 'continue' }),
      host(['true'], { name: 'c', on: ['halt'], when: 'after' }),
    ],
  });
  const main = { name: 'halt', title: 'halt', run: () => Promise.resolve() };

  it('go around the command’s steps, by event and when', () => {
    expect(withTriggers(env([m]), m, 'halt', [main]).map((s) => s.name)).toEqual([
      'trigger:a',
      'trigger:b',
      'halt',
      'trigger:c',
    ]);
    expect(withTriggers(env([m]), m, 'destroy', [main]).map((s) => s.name)).toEqual(['halt']);
  });

  it('on_error: continue reports the failure and goes on', async () => {
    const [, b] = triggerSteps(env([m]), m, 'halt', 'before');
    const out: string[] = [];
    let title = '';
    await b!.run(undefined, { line: (l) => out.push(l), title: (t) => (title = t) });
    expect(out).toEqual(['trigger `b` (before halt) exited with code 1; continuing (on_error: continue)']);
    expect(title).toBe('trigger b (before halt) failed; continued');
  });
});

describe('trigger config', () => {
  const fs = fakeFs();
  it('merges defaults first, names them by position, fills when/on_error', () => {
    const e = environment(
      yaml(
        'version: 1',
        'defaults:',
        '  triggers: [{ on: up, when: after, run: [echo, d] }]',
        'machines:',
        '  web:',
        '    box: tiny',
        '    triggers:',
        '      - { name: bye, on: [halt, destroy], when: before, run_remote: sync, on_error: continue }',
      ),
      fs,
    );
    expect(e.machines[0]?.triggers).toEqual([
      { name: 'trigger-1', on: ['up'], when: 'after', action: { run: ['echo', 'd'] }, onError: 'halt' },
      {
        name: 'bye',
        on: ['halt', 'destroy'],
        when: 'before',
        action: { runRemote: 'sync' },
        onError: 'continue',
      },
    ]);
  });

  it.each([
    [
      '{ on: halt, when: after, run_remote: x }',
      /run_remote: the machine is not running after halt: `run_remote` cannot run then/,
    ],
    [
      '{ on: boot, when: before, run: [x] }',
      /triggers\[0\]\.on: .*one of: up, halt, destroy, provision, reload/,
    ],
    [
      '{ on: up, when: before }',
      /a trigger is `run: \[PROGRAM, ARGS...\]` \(on the host\) or `run_remote: SCRIPT`/,
    ],
    [
      '{ on: up, when: before, run: [x], run_remote: y }',
      /sets `run` and `run_remote`; use only one of them/,
    ],
  ])('refuses %s', (item, want) => {
    const got = problems(
      yaml('version: 1', 'machines:', '  web:', '    box: tiny', '    triggers:', `      - ${item}`),
      fs,
      undefined,
      { capabilities: PERMISSIVE },
    );
    expect(got).toHaveLength(1);
    expect(got[0]).toMatch(/^6:\d+ machines\.web\.triggers\[0\]/);
    expect(got[0]).toMatch(want);
  });
});
