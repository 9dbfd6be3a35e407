// Private networks on QEMU: one VDE switch (Debian's vde2) per network and project. It runs
// rootless, takes any number of guests, and lives exactly as long as a machine needs it: started
// on demand by the first machine that boots on the network, shared by the others, stopped when
// the last machine using it halts or is destroyed. Like QEMU itself it is found again after a
// crash through its pidfile, trusted only when that process's command line names our socket.
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { BoxfestError } from '../../errors.js';
import { machinePaths, projectPaths } from '../../state/paths.js';
import { cmdlineOf, isAlive, pidFileProcess, startTicksOf, waitUntil } from '../../state/process.js';
import { serialized } from '../../util/shared.js';
import { runTool, VDE_SWITCH } from './exec.js';
import { qemuPaths, switchPaths, type SwitchPaths } from './paths.js';

/** QEMU option values use `,` as a separator; a literal comma is written twice. */
export const optValue = (s: string) => s.replaceAll(',', ',,');

/** The `-netdev vde` value that connects a NIC to this switch. */
export const vdeNetdev = (id: string, ctl: string) => `vde,id=${id},sock=${optValue(ctl)}`;

const switchPid = (p: SwitchPaths) => pidFileProcess(p.pid, p.ctl);

// Switches this process handed to a machine whose QEMU is not running yet: a machine of the
// same run that halts meanwhile (a reload of two machines on one network) must not stop them.
const holds = new Map<string, number>();

/** Marks the switch as about to be used until the returned release is called. */
function holdSwitch(ctl: string): () => void {
  holds.set(ctl, (holds.get(ctl) ?? 0) + 1);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const n = (holds.get(ctl) ?? 1) - 1;
    if (n <= 0) holds.delete(ctl);
    else holds.set(ctl, n);
  };
}

/** Starting and stopping one switch never interleave within this process (the project lock keeps other processes out). */
const oneAtATime = <T>(ctl: string, work: () => Promise<T>) => serialized(`vde-switch ${ctl}`, work);

/**
 * The network's running switch, started if need be, held for the caller until `release` (once
 * its QEMU runs, that QEMU keeps it in use). The hold is taken before anything is awaited: a
 * machine of the same run halting meanwhile found the switch unheld and unused, and stopped it
 * while it was starting for this one, or handed this one a switch that was already dying (CI:
 * `reload a b`, a halted and b running on one network: both failed to boot).
 */
export async function ensureSwitch(
  root: string,
  network: string,
): Promise<{ ctl: string; release: () => void }> {
  const p = switchPaths(root, network);
  const release = holdSwitch(p.ctl);
  try {
    await oneAtATime(p.ctl, async () => {
      if (switchPid(p) === undefined) await startSwitch(p, network);
    });
    return { ctl: p.ctl, release };
  } catch (e) {
    release();
    throw e;
  }
}

async function startSwitch(p: SwitchPaths, network: string): Promise<void> {
  mkdirSync(p.dir, { recursive: true });
  // Leftovers of a switch that died: vde_switch refuses to start over an existing control dir.
  for (const f of [p.pid, p.ctl, p.mgmt]) rmSync(f, { recursive: true, force: true });
  await runTool(
    VDE_SWITCH,
    ['-d', '-s', p.ctl, '-p', p.pid, '-M', p.mgmt, '-m', '0600', '--dirmode', '0700'],
    `start the virtual switch of network ${network}`,
    {
      timeoutMs: 10_000,
      missing: {
        code: 'VDE_NOT_INSTALLED',
        hint: 'private networks on QEMU use a VDE switch: `apt-get install vde2` (Debian/Ubuntu)',
      },
    },
  );
  const up = await waitUntil(() => existsSync(join(p.ctl, 'ctl')) && switchPid(p) !== undefined, 5_000);
  if (!up)
    throw new BoxfestError('SWITCH_START_FAILED', `the virtual switch of network ${network} did not start`, {
      hint: `run \`${VDE_SWITCH} -s /tmp/test.ctl\` by hand to see why`,
    });
}

/**
 * The private networks a running QEMU is cut off from: their switch is gone, or it was started
 * again after this QEMU (a VDE connection does not survive its switch, and QEMU never plugs in
 * again). Only a reboot of the machine reconnects it.
 */
export function cutOffNetworks(root: string, qemuPid: number): string[] {
  const dir = projectPaths(root).networks;
  const argv = cmdlineOf(qemuPid);
  const qemuStart = startTicksOf(qemuPid);
  if (!existsSync(dir) || argv === undefined || qemuStart === undefined) return [];
  return readdirSync(dir)
    .filter((network) => {
      const p = switchPaths(root, network);
      if (!argv.some((a) => a.includes(`sock=${optValue(p.ctl)}`))) return false;
      const pid = switchPid(p);
      const started = pid === undefined ? undefined : startTicksOf(pid);
      return started === undefined || started > qemuStart;
    })
    .sort();
}

/** Machines of the project whose running QEMU is plugged into this switch. */
function switchUsers(root: string, ctl: string): string[] {
  const dir = projectPaths(root).machines;
  if (!existsSync(dir)) return [];
  const plug = `sock=${optValue(ctl)}`;
  return readdirSync(dir).filter(
    (m) => pidFileProcess(qemuPaths(machinePaths(root, m).dir).pid, plug) !== undefined,
  );
}

/** Stops the switch of each network that no running machine uses any more. */
export async function stopUnusedSwitches(root: string): Promise<void> {
  const dir = projectPaths(root).networks;
  if (!existsSync(dir)) return;
  for (const network of readdirSync(dir)) {
    const p = switchPaths(root, network);
    await oneAtATime(p.ctl, async () => {
      const pid = switchPid(p);
      if (pid === undefined || holds.has(p.ctl) || switchUsers(root, p.ctl).length > 0) return;
      process.kill(pid, 'SIGTERM');
      if (!(await waitUntil(() => !isAlive(pid), 2_000))) {
        if (switchPid(p) === pid) process.kill(pid, 'SIGKILL');
        await waitUntil(() => !isAlive(pid), 2_000);
      }
      for (const f of [p.pid, p.ctl, p.mgmt]) rmSync(f, { recursive: true, force: true });
    });
  }
}

/** PIDs of the project's running switches (tests and destroy use it to prove nothing is left). */
export function runningSwitches(root: string): number[] {
  const dir = projectPaths(root).networks;
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((n) => {
    const pid = switchPid(switchPaths(root, n));
    return pid === undefined ? [] : [pid];
  });
}
