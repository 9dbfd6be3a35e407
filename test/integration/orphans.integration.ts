// A machine left in .boxfest/ that the Boxfile no longer names: status and plan show it, `up`
// leaves it alone, `destroy NAME` removes it. No guest is needed: a halted machine is its state
// file and its disk.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { TestProject } from './harness.js';

const projects: TestProject[] = [];
afterEach(async () => {
  for (const p of projects.splice(0)) await p.cleanup();
});

function withGhost(): TestProject {
  const p = new TestProject({
    'Boxfile.yaml': 'version: 1\nmachines:\n  web:\n    box: tiny\n    autostart: false\n',
  });
  projects.push(p);
  const g = p.machine('ghost');
  mkdirSync(g.dir, { recursive: true });
  writeFileSync(
    g.state,
    JSON.stringify({
      provider: 'qemu',
      project: p.root,
      createdAt: '2026-01-01T00:00:00.000Z',
      box: { name: 'tiny', version: '0', image: '/nowhere/box.qcow2' },
      // An older state.json: only these four applied fields.
      applied: { box: 'tiny', cpus: 1, memory: 256, hostname: 'ghost' },
      sshUser: 'root',
      keyReplaced: true,
      converged: true,
      provisioned: [],
    }),
  );
  writeFileSync(g.disk, '');
  return p;
}

describe('machines no longer in the Boxfile', () => {
  it('status and plan show them; up leaves them; destroy NAME removes them', async () => {
    const p = withGhost();
    const status = JSON.parse((await p.ok(['status', '--json'])).stdout) as object[];
    expect(status).toMatchObject([
      { name: 'web', state: 'not_created', next: 'create' },
      { name: 'ghost', state: 'halted', next: 'remove', changes: [] },
    ]);
    expect((await p.ok(['status'])).stdout).toMatch(/ghost\s+halted\s+\(qemu\)\s+\(not in the Boxfile\)/);
    expect((await p.ok(['plan'])).stdout).toContain('ghost  remove    no longer in the Boxfile');

    const up = await p.ok(['up']);
    expect(up.stderr).toContain(
      'ghost: no longer in the Boxfile; `boxfest up --prune` or `boxfest destroy ghost` removes it',
    );
    expect(existsSync(p.machine('ghost').disk)).toBe(true);

    await p.ok(['destroy', 'ghost', '--force']);
    expect(existsSync(p.machine('ghost').dir)).toBe(false);
    expect(JSON.parse((await p.ok(['plan', '--json'])).stdout)).toEqual({
      version: 1,
      machines: [
        { machine: 'web', state: 'not_created', action: 'create', reason: 'not created yet', changes: [] },
      ],
    });
  });

  it('a name that is neither in the Boxfile nor on disk is an error naming the machines', async () => {
    const p = withGhost();
    const r = await p.run(['destroy', 'nope', '--force']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('no machine named `nope`');
    expect(existsSync(p.machine('ghost').dir)).toBe(true);
  });

  it('suspend and snapshot of a machine that is not created say so; a bad snapshot name is refused', async () => {
    const p = withGhost();
    const s = await p.ok(['suspend', 'web']);
    expect(s.stderr).toContain('web: not created, nothing to suspend');
    const snap = await p.run(['snapshot', 'save', 'x', 'web']);
    expect(snap.code).toBe(1);
    expect(snap.stderr).toContain(
      'machine `web` is not created: it has no disk to snapshot [MACHINE_NOT_CREATED]',
    );
    const bad = await p.run(['snapshot', 'save', '../evil']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('[SNAPSHOT_NAME]');
  });
});
