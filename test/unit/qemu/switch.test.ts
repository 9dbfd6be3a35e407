// A network's VDE switch (real vde_switch processes) when one machine of a run halts while another
// is about to boot on the same network: the halting one must not stop the switch the other was
// just handed. CI saw it on `reload a b` (a halted, b running, one network): a's switch start was
// cut short and b got a switch that was already dying; both failed to boot.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ensureSwitch, runningSwitches, stopUnusedSwitches } from '../../../src/providers/qemu/switch.js';
import { switchPaths } from '../../../src/providers/qemu/paths.js';

const roots: string[] = [];
afterEach(() => {
  for (const root of roots.splice(0)) {
    for (const pid of runningSwitches(root)) process.kill(pid, 'SIGKILL');
    rmSync(root, { recursive: true, force: true });
  }
});

const project = () => {
  const root = mkdtempSync(join(tmpdir(), 'boxfest-switch-'));
  roots.push(root);
  mkdirSync(join(root, '.boxfest', 'machines'), { recursive: true });
  return root;
};

describe('VDE switch: start and stop within one run', () => {
  it('a switch handed out and not yet plugged into survives a stop of unused switches', async () => {
    const root = project();
    const a = await ensureSwitch(root, 'back');
    await stopUnusedSwitches(root);
    expect(runningSwitches(root)).toHaveLength(1);
    a.release();
    await stopUnusedSwitches(root);
    expect(runningSwitches(root)).toEqual([]);
  });

  it('a stop and a hand-out at the same moment: the one handed out runs', async () => {
    const root = project();
    (await ensureSwitch(root, 'back')).release(); // running, used by nobody: b just halted
    for (let round = 0; round < 5; round++) {
      const [, a] = await Promise.all([stopUnusedSwitches(root), ensureSwitch(root, 'back')]);
      expect(runningSwitches(root)).toHaveLength(1);
      expect(existsSync(join(switchPaths(root, 'back').ctl, 'ctl'))).toBe(true);
      a.release();
    }
  });
});
