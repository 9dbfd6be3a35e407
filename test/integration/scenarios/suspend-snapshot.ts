// Suspend/resume keep the guest's processes alive (the same VM process, paused in place, as the
// hypervisor itself says); snapshot restore brings back a file deleted after the snapshot, of a
// running machine and of a halted one; global-status lists the project and prunes it once it is
// destroyed. One machine for the whole table, to keep TCG boots few. Run for every provider
// (test/integration/targets.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAlive } from '../../../src/state/process.js';
import { TestProject } from '../harness.js';
import type { Target } from '../targets.js';

export function suspendSnapshotScenario(t: Target): void {
  describe(`suspend, resume and snapshots on a real guest (${t.name})`, () => {
    const p = new TestProject(
      { 'Boxfile.yaml': t.boxfile('version: 1\nmachines:\n  web:\n    box: tiny\n    memory: 256\n') },
      { target: t },
    );
    const guest = async (cmd: string) => (await p.ok(['ssh', 'web', '-c', cmd])).stdout;
    const status = async () =>
      (JSON.parse((await p.ok(['status', '--json'])).stdout) as { state: string }[])[0]!.state;
    /** A process in its own session, so it outlives the SSH session that started it. */
    const startSleeper = async () =>
      (await guest('setsid sh -c "sleep 3000 >/dev/null 2>&1 </dev/null & echo \\$!" </dev/null')).trim();

    beforeAll(async () => {
      await t.addBox(p);
      await p.ok(['up']);
    });
    afterAll(async () => {
      await p.cleanup();
    });

    it('suspend pauses the VM in place, resume continues it with its processes alive', async () => {
      const sleeper = await startSleeper();
      const vm = t.vmPid(p, 'web');
      expect(vm).toBeDefined();
      await p.ok(['suspend']);
      expect(await status()).toBe('suspended');
      expect(isAlive(vm!)).toBe(true);
      // Paused, as the hypervisor itself says; `ssh` refuses and says how to continue it.
      expect(await t.runState(p, 'web')).toBe('paused');
      const ssh = await p.run(['ssh', 'web', '-c', 'true']);
      expect(ssh.code).toBe(1);
      expect(ssh.stderr).toContain('machine `web` is suspended');
      expect(ssh.stderr).toContain('boxfest resume web');
      const plan = JSON.parse((await p.ok(['plan', '--json'])).stdout) as { machines: { action: string }[] };
      expect(plan.machines[0]!.action).toBe('resume');
      expect((await p.ok(['suspend'])).stderr).toContain('web: already suspended');

      await p.ok(['resume']);
      expect(await status()).toBe('running');
      expect(await t.runState(p, 'web')).toBe('running');
      expect(t.vmPid(p, 'web')).toBe(vm);
      expect(await guest(`kill -0 ${sleeper} && echo alive`)).toBe('alive\n');
    });

    it('up resumes a suspended machine', async () => {
      const sleeper = await startSleeper();
      const vm = t.vmPid(p, 'web');
      await p.ok(['suspend']);
      const r = await p.ok(['up', '--json']);
      expect(JSON.parse(r.stdout)).toMatchObject([
        { machine: 'web', state: 'suspended', action: 'resume', ok: true },
      ]);
      expect(await status()).toBe('running');
      expect(t.vmPid(p, 'web')).toBe(vm);
      expect(await guest(`kill -0 ${sleeper} && echo alive`)).toBe('alive\n');
    });

    it('halt shuts a suspended machine down', async () => {
      const vm = t.vmPid(p, 'web')!;
      await p.ok(['suspend']);
      await p.ok(['halt']);
      expect(await status()).toBe('halted');
      expect(isAlive(vm)).toBe(false);
      await p.ok(['up']);
    });

    it('snapshot restore brings back a file deleted after the snapshot', async () => {
      await guest('echo precious > /root/keep.txt');
      await p.ok(['snapshot', 'save', 'before']);
      const list = JSON.parse((await p.ok(['snapshot', 'list', '--json'])).stdout) as {
        machine: string;
        snapshots: { name: string }[];
      }[];
      expect(list).toMatchObject([{ machine: 'web', snapshots: [{ name: 'before' }] }]);
      const dup = await p.run(['snapshot', 'save', 'before']);
      expect(dup.code).toBe(1);
      expect(dup.stderr).toContain('[SNAPSHOT_EXISTS]');

      await guest('rm /root/keep.txt && sync');
      expect(await guest('ls /root')).not.toContain('keep.txt');
      await p.ok(['snapshot', 'restore', 'before']);
      expect(await status()).toBe('running');
      expect(await guest('cat /root/keep.txt')).toBe('precious\n');

      const missing = await p.run(['snapshot', 'restore', 'nope']);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain('machine `web` has no snapshot `nope`');
      expect(missing.stderr).toContain('its snapshots: before');
      await p.ok(['snapshot', 'delete', 'before']);
      expect(JSON.parse((await p.ok(['snapshot', 'list', '--json'])).stdout)).toEqual([
        { machine: 'web', snapshots: [] },
      ]);
    });

    it('snapshots of a halted machine: save, restore, and it stays halted', async () => {
      await guest('echo one > /root/v && sync');
      await p.ok(['halt']);
      await p.ok(['snapshot', 'save', 'cold']);
      await p.ok(['up']);
      await guest('echo two > /root/v && sync');
      await p.ok(['halt']);
      await p.ok(['snapshot', 'restore', 'cold']);
      expect(await status()).toBe('halted');
      expect(t.vmPid(p, 'web')).toBeUndefined();
      await p.ok(['up']);
      expect(await guest('cat /root/v')).toBe('one\n');
    });

    it('global-status lists the project, and prunes it once its machines are destroyed', async () => {
      // QEMU's list is the home's (each test project has its own); libvirt's comes from the tags
      // of every domain on the daemon, where other test files' projects run too.
      const listed = async () =>
        (JSON.parse((await p.ok(['global-status', '--json'])).stdout) as { root: string }[]).filter(
          (row) => t.name === 'qemu' || row.root === p.root,
        );
      expect(await listed()).toEqual([
        { root: p.root, name: 'project', machines: [{ name: 'web', provider: t.name, state: 'running' }] },
      ]);
      await p.ok(['destroy', '--force']);
      expect(t.leftovers(p)).toEqual([]);
      expect(await listed()).toEqual([]);
      if (t.name === 'qemu')
        expect((await p.ok(['global-status'])).stdout).toBe('no boxfest environments on this host\n');
      else expect((await p.ok(['global-status'])).stdout).not.toContain(p.root);
    });
  });
}
