// virtiofsd per live share (`type: virtiofs`): started before the machine's QEMU (which connects
// to its vhost-user socket), ended when the machine stops. virtiofsd serves one connection and
// exits when QEMU goes away; boxfest still ends any left over, but only a process whose command
// line names this machine's socket: a reused PID or a copied pidfile is never ours.
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { BoxfestError } from '../../errors.js';
import type { LiveShare } from '../../sync/shares.js';
import { isAlive, pidFileProcess, waitUntil } from '../../state/process.js';
import { startDaemon, VIRTIOFSD } from './exec.js';
import { qemuPaths } from './paths.js';

/** fuse's `-o` syntax splits on commas: a literal one (or backslash) is escaped with a backslash. */
const fuseOpt = (s: string) => s.replace(/[\\,]/g, (c) => `\\${c}`);

/** The virtiofsd command line of a share (unit-tested). */
export function virtiofsdArgs(socket: string, src: string): string[] {
  // cache=auto: the guest sees host-side changes within a second (metadata timeout), which is what
  // an editor on the host and a build in the guest need; sandbox=namespace (the default) confines
  // the daemon to the shared directory.
  return [`--socket-path=${socket}`, '-o', `source=${fuseOpt(src)}`, '-o', 'cache=auto'];
}

export async function startVirtiofsds(
  machineDir: string,
  machine: string,
  shares: readonly LiveShare[],
  env: NodeJS.ProcessEnv,
): Promise<void> {
  const tool = env['BOXFEST_VIRTIOFSD'] ?? VIRTIOFSD;
  for (const share of shares.filter((s) => s.type === 'virtiofs')) {
    const p = qemuPaths(machineDir).virtiofsd(share.index);
    // One left from a boot whose QEMU never connected: it would refuse a second client.
    await stopOne(p);
    if (process.getuid?.() !== 0)
      throw new BoxfestError(
        'VIRTIOFSD_FAILED',
        `virtiofs needs root on the host (virtiofsd sandboxes itself)`,
        {
          machine,
          hint: 'run boxfest as root, or use `type: 9p` or `type: rsync` for this folder',
        },
      );
    const pid = await startDaemon(tool, virtiofsdArgs(p.socket, share.src), p.log, `share ${share.src}`);
    writeFileSync(p.pid, `${pid}\n`);
    const up = await waitUntil(() => existsSync(p.socket) || !isAlive(pid), 10_000, 20);
    if (!up || !isAlive(pid)) {
      await stopOne(p);
      throw new BoxfestError('VIRTIOFSD_FAILED', `virtiofsd did not start for ${share.src}`, {
        machine,
        details: logTail(p.log),
        hint: 'see its message above; the directory must exist and be readable',
      });
    }
  }
}

/** Ends this machine's virtiofsds (each only if its command line names our socket). */
export async function stopVirtiofsds(machineDir: string): Promise<void> {
  let names: string[];
  try {
    names = readdirSync(machineDir);
  } catch {
    return;
  }
  for (const name of names) {
    const n = /^virtiofs-(\d+)\.pid$/.exec(name)?.[1];
    if (n !== undefined) await stopOne(qemuPaths(machineDir).virtiofsd(Number(n)));
  }
}

/** The running virtiofsd of share N of a machine, if there is one that is ours. */
export const virtiofsdPid = (machineDir: string, n: number) => {
  const p = qemuPaths(machineDir).virtiofsd(n);
  return pidFileProcess(p.pid, `--socket-path=${p.socket}`);
};

async function stopOne(p: { socket: string; pid: string }): Promise<void> {
  const pid = pidFileProcess(p.pid, `--socket-path=${p.socket}`);
  if (pid !== undefined) {
    process.kill(pid, 'SIGTERM');
    if (
      !(await waitUntil(() => !isAlive(pid), 3_000, 20)) &&
      pidFileProcess(p.pid, `--socket-path=${p.socket}`) === pid
    )
      process.kill(pid, 'SIGKILL');
    await waitUntil(() => !isAlive(pid), 3_000, 20);
  }
  for (const f of [p.pid, p.socket]) rmSync(f, { force: true });
}

function logTail(log: string): string {
  try {
    return readFileSync(log, 'utf8').trim().split('\n').slice(-10).join('\n');
  } catch {
    return '(no output)';
  }
}
