// Drift of each class on one real guest, asserted through `plan --json` and the guest itself:
// in place (a new synced folder and provisioner, a new hostname) is applied by `up`; reload
// (memory) is refused without --reload and applied with it; recreate (another box) likewise with
// --recreate; a machine deleted from the Boxfile is removed only with --prune.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MachinePlan } from '../../../src/plan/reconcile.js';
import type { MachineState } from '../../../src/state/machine-state.js';
import { TestProject } from '../harness.js';
import { vmPids, type Target } from '../targets.js';

const boxfile = (o: { memory?: number; box?: string; extra?: string; name?: string } = {}) => `version: 1
machines:
  ${o.name ?? 'web'}:
    box: ${o.box ?? 'tiny'}
    memory: ${o.memory ?? 256}
${o.extra ?? ''}`;

export function driftScenario(t: Target): void {
  describe(`drift: plan --json and up for each class (${t.name})`, () => {
    const p = new TestProject(
      { 'Boxfile.yaml': t.boxfile(boxfile()), 'app/hello.txt': 'hello\n' },
      { target: t },
    );
    const write = (text: string) => writeFileSync(join(p.root, 'Boxfile.yaml'), t.boxfile(text));
    const plan = async () =>
      JSON.parse((await p.ok(['plan', '--json'])).stdout) as { version: number; machines: MachinePlan[] };
    const guest = async (cmd: string) => (await p.ok(['ssh', 'web', '-c', cmd])).stdout;
    const pid = () => t.vmPid(p, 'web');

    beforeAll(async () => {
      await t.addBox(p);
      await p.ok(['up']);
    });
    afterAll(async () => {
      await p.cleanup();
    });

    it('an up-to-date machine plans nothing', async () => {
      expect(await plan()).toEqual({
        version: 1,
        machines: [
          { machine: 'web', state: 'running', action: 'none', reason: 'running and up to date', changes: [] },
        ],
      });
    });

    it('an older state.json (only box, cpus, memory, hostname applied) is read and plans nothing', async () => {
      const file = p.machine('web').state;
      const full = readFileSync(file, 'utf8');
      const s = JSON.parse(full) as MachineState;
      writeFileSync(
        file,
        JSON.stringify({ ...s, applied: { box: 'tiny', cpus: 1, memory: 256, hostname: 'web' } }),
      );
      expect((await plan()).machines[0]).toMatchObject({ action: 'none', changes: [] });
      writeFileSync(file, full);
    });

    it('in place: a new synced folder, provisioner and hostname are planned as `apply` and applied without a reboot', async () => {
      write(
        boxfile({
          extra: `    hostname: web-two
    synced_folders: [{ src: ./app, dest: /srv/app }]
    provision: [{ name: marker, shell: 'echo applied > /root/marker' }]
`,
        }),
      );
      const [m] = (await plan()).machines;
      expect(m).toMatchObject({ machine: 'web', state: 'running', action: 'apply' });
      expect(m!.changes.map((c) => [c.field, c.class])).toEqual([
        ['hostname', 'in_place'],
        ['synced_folders[/srv/app]', 'in_place'],
        ['provision[marker]', 'in_place'],
      ]);
      const before = pid();
      expect(before).toBeDefined();
      await p.ok(['up']);
      expect(pid()).toBe(before);
      expect(await guest('cat /srv/app/hello.txt /root/marker; hostname')).toBe('hello\napplied\nweb-two\n');
      expect((await plan()).machines[0]).toMatchObject({ action: 'none', changes: [] });
    });

    it('in place: a changed `once` provisioner runs again', async () => {
      write(
        boxfile({
          extra: `    hostname: web-two
    synced_folders: [{ src: ./app, dest: /srv/app }]
    provision: [{ name: marker, shell: 'echo changed > /root/marker' }]
`,
        }),
      );
      expect((await plan()).machines[0]!.changes.map((c) => c.message)).toEqual([
        'provisioner marker changed',
      ]);
      await p.ok(['up']);
      expect(await guest('cat /root/marker')).toBe('changed\n');
    });

    it('reload: new memory is refused by a plain up (no terminal), and applied by up --reload', async () => {
      write(boxfile({ memory: 320 }));
      const [m] = (await plan()).machines;
      expect(m).toMatchObject({
        action: 'reload',
        reason: 'memory changed: needs a reboot with the new settings (halt, then up)',
      });
      expect(m!.changes.filter((c) => c.class === 'reload')).toEqual([
        {
          field: 'memory',
          class: 'reload',
          from: 256,
          to: 320,
          message: 'memory changed from 256 MiB to 320 MiB',
        },
      ]);
      const before = pid();
      expect(before).toBeDefined();
      const memTotal = async () => Number(/MemTotal:\s+(\d+)/.exec(await guest('cat /proc/meminfo'))![1]);
      const kibBefore = await memTotal();
      const refused = await p.run(['up']);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(
        'error (machine web, step plan): memory changed from 256 MiB to 320 MiB: the machine must be rebooted to apply this [RELOAD_REQUIRED]',
      );
      expect(refused.stderr).toContain('boxfest up --reload web');
      expect(pid()).toBe(before);
      const j = await p.run(['up', '--json']);
      expect(j.code).toBe(1);
      expect(JSON.parse(j.stdout)).toMatchObject([
        { machine: 'web', action: 'reload', ok: false, error: { code: 'RELOAD_REQUIRED' } },
      ]);

      await p.ok(['up', '--reload']);
      expect(pid()).not.toBe(before);
      // The guest sees 64 MiB more (less what the kernel keeps for itself).
      expect((await memTotal()) - kibBefore).toBeGreaterThan(60 * 1024);
      expect((await plan()).machines[0]).toMatchObject({ action: 'none', changes: [] });
    });

    it('reload: `boxfest reload` reboots an unchanged machine', async () => {
      const before = pid();
      expect(before).toBeDefined();
      const r = await p.ok(['reload', '--json']);
      expect(JSON.parse(r.stdout)).toMatchObject([{ machine: 'web', action: 'reload', ok: true }]);
      expect(pid()).not.toBe(before);
      expect((await plan()).machines[0]).toMatchObject({ action: 'none' });
    });

    it('recreate: another box is refused by a plain up and applied by up --recreate (a new disk)', async () => {
      await t.addBox(p, 'tiny-copy');
      await p.ok(['ssh', 'web', '-c', 'echo old > /root/old-disk']);
      write(boxfile({ memory: 320, box: 'tiny-copy' }));
      const [m] = (await plan()).machines;
      expect(m).toMatchObject({
        action: 'recreate',
        reason: 'box changed: needs a new disk (destroy, then create)',
      });
      expect(m!.changes).toEqual([
        {
          field: 'box',
          class: 'recreate',
          from: 'tiny',
          to: 'tiny-copy',
          message: 'box changed from tiny to tiny-copy',
        },
      ]);
      const refused = await p.run(['up', '--reload']);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('[RECREATE_REQUIRED]');
      // On a terminal it asks; "n" changes nothing.
      const before = pid();
      expect(before).toBeDefined();
      const asked = await p.runOnTerminal(['up'], 'n\r');
      expect(asked.stdout).toContain(
        'web: box changed: needs a new disk (destroy, then create). Recreate it now',
      );
      expect(asked.code).toBe(1);
      expect(asked.stdout).toContain('[RECREATE_REQUIRED]');
      expect(pid()).toBe(before);
      expect(refused.stderr).toContain('boxfest up --recreate web');
      await p.ok(['up', '--recreate']);
      expect(await guest('ls /root')).not.toContain('old-disk');
      expect((JSON.parse(readFileSync(p.machine('web').state, 'utf8')) as MachineState).box.name).toBe(
        'tiny-copy',
      );
      expect((await plan()).machines[0]).toMatchObject({ action: 'none' });
      // The old box no longer backs a disk; the new one does.
      expect((await p.run(['box', 'remove', 'tiny'])).code).toBe(0);
    });

    it('remove: a machine deleted from the Boxfile is planned as `remove`, kept by up, destroyed by up --prune', async () => {
      write(boxfile({ name: 'other', box: 'tiny-copy', extra: '    autostart: false\n' }));
      expect((await plan()).machines).toMatchObject([
        { machine: 'other', action: 'create' },
        { machine: 'web', state: 'running', action: 'remove', reason: 'no longer in the Boxfile' },
      ]);
      const kept = await p.ok(['up']);
      expect(kept.stderr).toContain(
        'web: no longer in the Boxfile; `boxfest up --prune` or `boxfest destroy web` removes it',
      );
      expect(vmPids(t, p)).toHaveLength(1);
      // On a terminal it asks; "y" destroys it, as --prune would.
      const asked = await p.runOnTerminal(['up'], 'y\r');
      expect(asked.stdout).toContain(
        'web: no longer in the Boxfile. Destroy it now (its disk is deleted)? [y/N]',
      );
      expect(asked.code, asked.stdout).toBe(0);
      expect(vmPids(t, p)).toEqual([]);
      await p.ok(['up', '--prune']); // nothing left to prune
      expect((await plan()).machines).toEqual([
        { machine: 'other', state: 'not_created', action: 'create', reason: 'not created yet', changes: [] },
      ]);
    });
  });
}
