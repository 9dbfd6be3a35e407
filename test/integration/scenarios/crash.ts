// Crash safety on a real guest, for every provider. `up` is SIGKILLed right after each pipeline
// step in turn (fault injection: BOXFEST_FAULT_KILL_AFTER_STEP), then run again: it must converge
// to the Boxfile with one VM process, no half-written file and no orphan. Ctrl-C rolls back the
// half-done run; two `up`s at once: one is turned away naming the holder; a dead holder's lock is
// taken over. The machine is on a private network, so its VDE switch (QEMU) or libvirt network is
// one of the things that must not be orphaned, and it forwards a port, whose holder (QEMU, or
// libvirt's port forwarder) must be the one recorded.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MachinePlan } from '../../../src/plan/reconcile.js';
import { waitUntil } from '../../../src/state/process.js';
import { freePort, portHolders } from '../../../src/network/ports.js';
import { TestProject } from '../harness.js';
import { vmPids, type Target } from '../targets.js';
import { ownDaemonsEnv } from '../daemon-env.js';

// A fixed forwarded port: after any crash its holder must end up recorded as the machine's QEMU
// (libvirt: its forwarder).
const FORWARD = await freePort();
const BOXFILE = `version: 1
networks:
  lab: { type: private, cidr: 10.77.0.0/24 }
machines:
  web:
    box: tiny
    memory: 256
    hostname: crash-web
    networks: [{ network: lab, ip: 10.77.0.10 }]
    forwarded_ports: [{ guest: 8080, host: ${FORWARD} }]
    synced_folders: [{ src: ./app, dest: /srv/app }]
    provision:
      - name: count
        shell: echo ran >> /root/provisioned
`;

/** The steps a first `up` runs (the others skip themselves on a new machine). */
const steps = (t: Target) => [
  'resolve-box',
  'import-box',
  'configure',
  'create',
  // QEMU: the identity the first boot reads (the tiny box takes it: host-key has nothing to do).
  ...(t.offersIdentity ? ['offer-identity'] : []),
  // inside boot: QEMU daemonized, or the domain started by libvirtd; the step not finished
  ...t.bootFaultPoints,
  'boot',
  'wait-ssh',
  // Gives the guest its login key and hostname too: replace-key finds the key in place, set-hostname skips.
  ...(t.offersIdentity ? [] : ['host-key']),
  'replace-key',
  'configure-network',
  'sync-folders',
  'provision',
  'finish',
];

export function crashScenario(t: Target): void {
  describe(`crash safety (${t.name})`, () => {
    const p = new TestProject(
      { 'Boxfile.yaml': t.boxfile(BOXFILE), 'app/hello.txt': 'hello\n' },
      { target: t },
    );
    const plan = async () =>
      (JSON.parse((await p.ok(['plan', '--json'])).stdout) as { machines: MachinePlan[] }).machines;
    const guest = async (cmd: string) => (await p.ok(['ssh', 'web', '-c', cmd])).stdout;
    /** Files that only exist while something is half written. */
    const debris = () => {
      const dir = p.machine('web').dir;
      return existsSync(dir) ? readdirSync(dir).filter((f) => /\.partial$|\.tmp-/.test(f)) : [];
    };

    beforeAll(async () => {
      await t.addBox(p);
    });
    afterAll(async () => {
      await p.cleanup();
    });

    /** Each case starts from no machine, even after an earlier case failed before its destroy. */
    const fromScratch = async () => {
      if (existsSync(join(p.root, '.boxfest'))) await p.ok(['destroy', '--force']);
    };

    it.each(steps(t))('up killed after %s: the next up converges, nothing orphaned', async (step) => {
      await fromScratch();
      const killed = await p.run(['up'], { env: { BOXFEST_FAULT_KILL_AFTER_STEP: step } });
      expect(killed.code, killed.stderr).toBe(-1); // ended by SIGKILL, no exit code
      expect(killed.stdout).toContain(`web: `);

      const again = await p.run(['up']);
      expect(again.code, again.stderr + again.stdout + p.serialLog('web')).toBe(0);
      expect((await plan())[0]).toMatchObject({ action: 'none', changes: [] });
      // One VM process, the machine's, and one private network; no other process mentions the project.
      const pids = vmPids(t, p);
      expect(pids).toHaveLength(1);
      expect(t.networkInfra(p)).toHaveLength(1);
      expect(p.processesUsingProject().sort()).toEqual(t.ownProcesses(p).sort());
      expect(portHolders(p.home).filter((h) => h.port === FORWARD)).toEqual([
        expect.objectContaining({ machine: 'web', pid: t.portHolderPid(p, 'web') }),
      ]);
      expect(await guest('ip -4 addr')).toContain('10.77.0.10/24');
      expect(debris()).toEqual([]);
      expect(existsSync(join(p.root, '.boxfest', 'lock'))).toBe(false);
      // The machine is what the Boxfile says, and the `once` provisioner ran exactly once.
      expect(await guest('hostname; cat /srv/app/hello.txt /root/provisioned')).toBe(
        'crash-web\nhello\nran\n',
      );
      // The box records exactly this machine's disk as its user.
      expect(readdirSync(t.boxUsersDir(p, 'tiny'))).toHaveLength(1);

      await p.ok(['destroy', '--force']);
      expect(p.processesUsingProject()).toEqual([]);
      expect(existsSync(join(p.root, '.boxfest'))).toBe(false);
      expect(t.networkInfra(p)).toEqual([]);
      expect(t.leftovers(p)).toEqual([]);
      expect(readdirSync(t.boxUsersDir(p, 'tiny'))).toHaveLength(0);
    });

    it.each<[string, string, string, string]>([
      // Killed with the machine halted for its reload: a plain `up` boots it with the new memory.
      ['--reload', 'reload-halt', 'memory: 256', 'memory: 288'],
      // Killed with the old machine discarded: a plain `up` creates it from the new box.
      ['--recreate', 'discard', 'box: tiny', 'box: tiny-copy'],
    ])('up %s killed after %s: a plain up converges to the new Boxfile', async (flag, step, from, to) => {
      await fromScratch();
      if (step === 'discard') await t.addBox(p, 'tiny-copy', ['--force']);
      await p.ok(['up']);
      const file = join(p.root, 'Boxfile.yaml');
      writeFileSync(file, t.boxfile(BOXFILE.replace(from, to)));
      try {
        const killed = await p.run(['up', flag], { env: { BOXFEST_FAULT_KILL_AFTER_STEP: step } });
        expect(killed.code, killed.stderr).toBe(-1);
        const again = await p.run(['up']);
        expect(again.code, again.stderr + again.stdout).toBe(0);
        expect((await plan())[0]).toMatchObject({ action: 'none', changes: [] });
        expect(vmPids(t, p)).toHaveLength(1);
        expect(p.processesUsingProject().sort()).toEqual(t.ownProcesses(p).sort());
        expect(debris()).toEqual([]);
        if (step === 'discard') {
          expect(readdirSync(t.boxUsersDir(p, 'tiny'))).toHaveLength(0);
          expect(readdirSync(t.boxUsersDir(p, 'tiny-copy'))).toHaveLength(1);
        }
      } finally {
        writeFileSync(file, t.boxfile(BOXFILE));
        await p.ok(['destroy', '--force']);
      }
    });

    it('a killed QEMU (process gone, pidfile left) is broken, and up boots it again', async () => {
      await fromScratch();
      await p.ok(['up']);
      const pid = t.vmPid(p, 'web')!;
      process.kill(pid, 'SIGKILL');
      await waitUntil(() => vmPids(t, p).length === 0, 5_000);
      // libvirtd takes about a second to stop the domain of a QEMU that died (listings say
      // `running` until then): what is asserted is boxfest's reading of the hypervisor's record.
      for (const until = Date.now() + 10_000; Date.now() < until; await sleep(50))
        if ((await t.runState(p, 'web').catch(() => undefined)) !== 'running') break;
      const [m] = await plan();
      expect(m).toMatchObject({ state: 'broken', action: 'start' });
      expect(m!.reason).toContain(t.killedReason);
      const s = JSON.parse((await p.ok(['status', '--json'])).stdout) as { state: string; reason: string }[];
      expect(s[0]).toMatchObject({
        state: 'broken',
        reason: expect.stringContaining('killed or crashed') as string,
      });
      await p.ok(['up']);
      expect((await plan())[0]).toMatchObject({ action: 'none' });
      // Same disk, same key (host-key synced it before the power cut), and a new process.
      expect(await guest('hostname')).toBe('crash-web\n');
      expect(vmPids(t, p)).toHaveLength(1);
      expect(vmPids(t, p)[0]).not.toBe(pid);
      await p.ok(['destroy', '--force']);
    });

    it.each<[string, string]>([
      // Without a terminal a line is printed as each step ends: the step after it has just begun.
      ['while waiting for SSH (abandoned at once)', '✔ web: booted'],
      // Boot is waited for (QEMU may be daemonizing, libvirtd starting the domain), then undone.
      ['as the boot starts (waited for, then undone)', '✔ web: create machine'],
    ])('Ctrl-C %s rolls the new machine back: no process, no disk, no state', async (_when, marker) => {
      await p.ok(['destroy', '--force']);
      const child = spawn(process.execPath, [join(import.meta.dirname, '../../../bin/boxfest.js'), 'up'], {
        cwd: p.root,
        env: { ...ownDaemonsEnv(process.env), BOXFEST_HOME: p.home, BOXFEST_QEMU_RESTRICT_NAT: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      const exited = new Promise<number | null>((r) => child.on('close', (c) => r(c)));
      expect(await waitUntil(() => stdout.includes(marker), 60_000, 5)).toBe(true);
      child.kill('SIGINT');
      expect(await exited).toBe(130);
      expect(stderr).toMatch(
        /error \(machine web, step [a-z-]+\): interrupted during step [a-z-]+ \[INTERRUPTED\]/,
      );
      expect(stderr).toContain('rolled back');
      expect(p.processesUsingProject()).toEqual([]);
      expect(t.leftovers(p)).toEqual([]);
      expect(existsSync(p.machine('web').dir)).toBe(false);
      expect((await plan())[0]).toMatchObject({ action: 'create' });
    });

    it('two ups at once: one converges, the other is turned away naming the holder', async () => {
      const [a, b] = await Promise.all([p.run(['up']), p.run(['up'])]);
      const [ran, locked] = a.code === 0 ? [a, b] : [b, a];
      expect(ran.code, ran.stderr).toBe(0);
      expect(locked.code).toBe(1);
      expect(locked.stderr).toMatch(/another boxfest is working on this project: pid \d+ running `up` since/);
      expect(vmPids(t, p)).toHaveLength(1);
    });

    it('a lock left by a dead process is taken over', async () => {
      const lock = join(p.root, '.boxfest', 'lock');
      // A PID that cannot be alive: above the kernel's pid_max.
      const max = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8'));
      writeFileSync(
        lock,
        JSON.stringify({ pid: max + 1, command: 'up', since: new Date(0).toISOString(), token: 'dead' }),
      );
      const r = await p.ok(['up']);
      expect(r.stderr).toContain('web: running and up to date, nothing to do');
      expect(existsSync(lock)).toBe(false);
    });
  });
}
