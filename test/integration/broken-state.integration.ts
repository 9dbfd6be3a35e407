// A running machine whose state.json is then damaged (truncated by a full disk, edited by hand):
// every command says which file and what to do, and `destroy --force` still removes what boxfest
// can prove it made: the QEMU process whose command line names the machine's disk, and that disk.
// The box image and everything outside the project survive.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { sha256, TestProject } from './harness.js';
import { isAlive } from '../../src/state/process.js';

describe('a running machine with a corrupt state.json', () => {
  const p = new TestProject({
    'Boxfile.yaml': 'version: 1\nmachines:\n  web: { box: tiny, memory: 256 }\n',
  });
  afterAll(async () => {
    await p.cleanup();
  });

  it('status names the file; destroy --force ends its QEMU and removes its disk, never the box', async () => {
    await p.addTinyBox();
    await p.ok(['up']);
    const [pid] = p.qemuPids();
    expect(pid).toBeDefined();
    const state = p.machine('web').state;
    // The stored image the machine's disk is made from, as its state names it.
    const box = (JSON.parse(readFileSync(state, 'utf8')) as { box: { image: string } }).box.image;
    const boxSum = sha256(box);
    writeFileSync(state, readFileSync(state, 'utf8').slice(0, 40));

    const status = await p.run(['status']);
    expect(status.code).toBe(1);
    expect(status.stderr).toMatch(
      new RegExp(
        `^error: ${state} is not a usable machine state: it is not JSON \\(.*\\) \\[STATE_CORRUPT\\]\\n`,
      ),
    );
    expect(status.stderr).toContain('`boxfest destroy web --force` removes what boxfest can prove it made');
    expect(status.stderr).not.toMatch(/internal error|\n\s+at /);

    const destroy = await p.run(['destroy', '--force']);
    expect(destroy.code, destroy.stderr).toBe(0);
    expect(destroy.stdout + destroy.stderr).toContain(`${state} is not a usable machine state`);
    expect(isAlive(pid!)).toBe(false);
    expect(existsSync(p.machine('web').disk)).toBe(false);
    expect(existsSync(`${p.root}/.boxfest`)).toBe(false);
    expect(sha256(box)).toBe(boxSum);
    expect(p.processesUsingProject()).toEqual([]);
  });
});
