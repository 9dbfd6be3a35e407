// Starting and stopping a machine's port forwarder (forwarder.ts), found again by its pidfile
// and trusted only when its command line names the machine's forwards file.
import { spawn } from 'node:child_process';
import { closeSync, openSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BoxfestError } from '../../errors.js';
import { writeFileAtomic, writeJsonAtomic } from '../../state/atomic.js';
import { isAlive, pidFileProcess, waitUntil } from '../../state/process.js';
import type { Forward } from './forwarder.js';
import { libvirtPaths } from './paths.js';
import { PACKAGE_ROOT } from '../../util/package-root.js';

// tsc's output, a file of its own (the CLI runs bundled; the forwarder is a process of its own).
const FORWARDER = fileURLToPath(new URL('dist/providers/libvirt/forwarder.js', PACKAGE_ROOT));
const READY_MS = 10_000;

/** The machine's running forwarder, if there is one. */
export function forwarderPid(machineDir: string): number | undefined {
  const p = libvirtPaths(machineDir);
  return pidFileProcess(p.forwarderPid, p.forwards);
}

/** What the ports service needs to find the forwarder should boxfest die right after starting it. */
export function forwarderSuccessor(machineDir: string): { pidFile: string; mark: string } {
  const p = libvirtPaths(machineDir);
  return { pidFile: p.forwarderPid, mark: p.forwards };
}

/**
 * Starts the forwarder for `forwards` (replacing a running one) and returns its PID once every
 * port is bound. Detached: it outlives this boxfest, until `stopForwarder`.
 */
export async function startForwarder(
  machineDir: string,
  machine: string,
  forwards: Forward[],
): Promise<number> {
  await stopForwarder(machineDir);
  const p = libvirtPaths(machineDir);
  writeJsonAtomic(p.forwards, forwards);
  const log = openSync(p.forwarderLog, 'a');
  const child = spawn(process.execPath, [FORWARDER, p.forwards], {
    detached: true,
    stdio: ['ignore', 'pipe', log],
  });
  closeSync(log);
  const pipe = child.stdout;
  if (child.pid === undefined || pipe === null)
    throw new BoxfestError('FORWARDER_FAILED', `could not start the port forwarder of ${machine}`, {
      machine,
      hint: `see ${p.forwarderLog}`,
    });
  // Recorded at once: a boxfest killed from here on leaves a forwarder the ports service finds.
  writeFileAtomic(p.forwarderPid, `${child.pid}\n`);
  const answer = await new Promise<string>((resolve) => {
    let out = '';
    const timer = setTimeout(() => resolve('error: it did not answer in time'), READY_MS);
    pipe.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (out.includes('\n')) {
        clearTimeout(timer);
        resolve(out.split('\n')[0] ?? '');
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(out.split('\n')[0] || `error: it exited with code ${code}`);
    });
  });
  pipe.destroy();
  child.unref();
  if (answer !== 'ready') {
    await stopForwarder(machineDir);
    throw new BoxfestError(
      'FORWARDER_FAILED',
      `the port forwarder of ${machine} could not start: ${answer.replace(/^error: /, '')}`,
      {
        machine,
        hint: 'a forwarded host port may have been taken meanwhile; run `boxfest up` again',
      },
    );
  }
  return child.pid;
}

/** Ends the machine's forwarder, if it runs, and removes its files. */
export async function stopForwarder(machineDir: string): Promise<void> {
  const pid = forwarderPid(machineDir);
  if (pid !== undefined) {
    process.kill(pid, 'SIGTERM');
    if (!(await waitUntil(() => !isAlive(pid), 3_000, 20))) {
      process.kill(pid, 'SIGKILL');
      await waitUntil(() => !isAlive(pid), 3_000, 20);
    }
  }
  const p = libvirtPaths(machineDir);
  for (const f of [p.forwarderPid, p.forwards]) rmSync(f, { force: true });
}
