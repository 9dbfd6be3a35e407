// Instant up on a box that cannot be restored: the golden VM boots once, the reason is recorded
// in the box's saved states, and every machine boots normally, in parallel (paced), instead of
// each booting its own golden VM in turn. The next `up` reads the record and boots no golden VM
// at all. Two reasons, each a real guest edited offline: no way to reseed the RNG (no
// rndreseed, no perl), and an SSH server boxfest cannot restart (so a restored machine could
// not serve a host key of its own).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MachineState } from '../../src/state/machine-state.js';
import { withoutReseed, withUnrestartableSshd } from './box-fixtures.js';
import { TestProject, type RunResult } from './harness.js';

const GOLDEN_BOOT = 'no saved state for this shape yet: booting it once to save one';

interface BoxRow {
  name: string;
  unrestorable: { reason: string; memory: number }[];
}

describe.each([
  {
    box: 'noreseed',
    image: withoutReseed,
    names: ['a', 'b', 'c'],
    reason: 'the box has no way to give a restored machine fresh randomness',
  },
  {
    box: 'norestart',
    image: withUnrestartableSshd,
    names: ['s'],
    reason:
      'a restored machine could not get its own SSH host key: its dropbear is started by something boxfest cannot restart',
  },
])('instant: true on a box that cannot be restored ($box)', ({ box, image, names, reason }) => {
  const p = new TestProject({
    'Boxfile.yaml': `version: 1
defaults: { box: ${box}, memory: 128, instant: true, qemu: { disk_interface: virtio } }
machines:
${names.map((n) => `  ${n}: {}\n`).join('')}`,
  });
  const state = (m: string) => JSON.parse(readFileSync(p.machine(m).state, 'utf8')) as MachineState;
  const all = (r: RunResult) => r.stdout + r.stderr;
  let first: RunResult;
  let firstFallbacks: (string | undefined)[];

  beforeAll(async () => {
    const made = image(p.boxImage, join(p.base, `${box}.qcow2`));
    await p.ok(['box', 'add', box, made, '--ssh-key', p.insecureKey, '--disk-interface', 'virtio']);
    first = await p.ok(['up']);
    firstFallbacks = names.map((m) => state(m).instant?.fallback);
  });
  afterAll(async () => {
    await p.cleanup();
  });

  it('booted one golden VM for all the machines, and every machine fell back with the reason', () => {
    // Before, each machine that waited for the golden boot booted its own golden VM in turn.
    expect(all(first).split(GOLDEN_BOOT).length - 1).toBe(1);
    for (const f of firstFallbacks) expect(f).toContain(reason);
  });

  it('recorded the decision in the box’s saved states (box list shows it)', async () => {
    const rows = JSON.parse((await p.ok(['box', 'list', '--json'])).stdout) as BoxRow[];
    const row = rows.find((r) => r.name === box)!;
    expect(row.unrestorable).toHaveLength(1);
    expect(row.unrestorable[0]!.reason).toContain(reason);
    expect(row.unrestorable[0]!.memory).toBe(128);
    expect((await p.ok(['box', 'list'])).stdout).toContain(`: ${reason}`);
  });

  it.runIf(box === 'norestart')(
    'booted cold, its host key is the one it presented first: pinned, served, and the reason kept',
    () => {
      const s = state(names[0]!);
      expect(s.instant?.restored).not.toBe(true);
      expect(s.hostKeySource).toBe('guest');
      expect(s.hostKeyNote).toContain('cannot restart');
      const scan = spawnSync(
        'ssh-keyscan',
        ['-T', '10', '-t', 'ed25519', '-p', String(s.sshPort), '127.0.0.1'],
        {
          encoding: 'utf8',
        },
      );
      const served = scan.stdout
        .split('\n')
        .filter((l) => l !== '' && !l.startsWith('#'))
        .map((l) => l.split(' ').slice(1, 3).join(' '));
      expect(served).toEqual([s.hostKey]);
    },
  );

  it('the next up boots no golden VM: the record decides, and the machines come up', async () => {
    await p.ok(['destroy', '--force']);
    const second = await p.ok(['up']);
    expect(all(second)).not.toContain(GOLDEN_BOOT);
    for (const m of names) {
      expect(state(m).instant?.fallback).toContain(reason);
      expect(state(m).instant?.fallback).toContain('found out');
      expect((await p.ok(['ssh', m, '-c', 'hostname'])).stdout.trim()).toBe(m);
    }
  });
});
