// Instant up on a box that cannot be restored (no rndreseed, no perl): the golden VM boots once,
// the reason is recorded in the box's saved states, and every machine boots normally, in
// parallel (paced), instead of each booting its own golden VM in turn. The next `up` reads the
// record and boots no golden VM at all.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MachineState } from '../../src/state/machine-state.js';
import { withoutReseed } from './box-fixtures.js';
import { TestProject, type RunResult } from './harness.js';

const NAMES = ['a', 'b', 'c'];
const GOLDEN_BOOT = 'no saved state for this shape yet: booting it once to save one';
const REASON = 'the box has no way to give a restored machine fresh randomness';

interface BoxRow {
  name: string;
  unrestorable: { reason: string; memory: number }[];
}

describe('instant: true on a box that cannot be restored', () => {
  const p = new TestProject({
    'Boxfile.yaml': `version: 1
defaults: { box: noreseed, memory: 128, instant: true, qemu: { disk_interface: virtio } }
machines:
${NAMES.map((n) => `  ${n}: {}\n`).join('')}`,
  });
  const fallback = (m: string) =>
    (JSON.parse(readFileSync(p.machine(m).state, 'utf8')) as MachineState).instant?.fallback;
  const all = (r: RunResult) => r.stdout + r.stderr;
  let first: RunResult;
  let firstFallbacks: (string | undefined)[];

  beforeAll(async () => {
    const image = withoutReseed(p.boxImage, join(p.base, 'noreseed.qcow2'));
    await p.ok(['box', 'add', 'noreseed', image, '--ssh-key', p.insecureKey, '--disk-interface', 'virtio']);
    first = await p.ok(['up']);
    firstFallbacks = NAMES.map(fallback);
  });
  afterAll(async () => {
    await p.cleanup();
  });

  it('booted one golden VM for the three machines, and every machine fell back with the reason', () => {
    // Before, each machine that waited for the golden boot booted its own golden VM in turn.
    expect(all(first).split(GOLDEN_BOOT).length - 1).toBe(1);
    for (const f of firstFallbacks) expect(f).toContain(REASON);
  });

  it('recorded the decision in the box’s saved states (box list shows it)', async () => {
    const rows = JSON.parse((await p.ok(['box', 'list', '--json'])).stdout) as BoxRow[];
    const row = rows.find((r) => r.name === 'noreseed')!;
    expect(row.unrestorable).toHaveLength(1);
    expect(row.unrestorable[0]!.reason).toContain(REASON);
    expect(row.unrestorable[0]!.memory).toBe(128);
    expect((await p.ok(['box', 'list'])).stdout).toContain(`: ${REASON}`);
  });

  it('the next up boots no golden VM: the record decides, and the machines come up', async () => {
    await p.ok(['destroy', '--force']);
    const second = await p.ok(['up']);
    expect(all(second)).not.toContain(GOLDEN_BOOT);
    for (const m of NAMES) {
      expect(fallback(m)).toContain(REASON);
      expect(fallback(m)).toContain('found out');
      expect((await p.ok(['ssh', m, '-c', 'hostname'])).stdout.trim()).toBe(m);
    }
  });
});
