// Starting and stopping a machine's port forwarder (forwarder.ts), found again by its pidfile
// and trusted only when its command line names the machine's forwards file.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BoxfestError } from '../../errors.js';
import { writeFileAtomic, writeJsonAtomic } from '../../state/atomic.js';
import { cmdlineOf, isAlive, pidFileProcess, waitUntil } from '../../state/process.js';
import type { Forward } from './forwarder.js';
import { libvirtPaths } from './paths.js';
import { PACKAGE_ROOT } from '../../util/package-root.js';

// tsc's output, a file of its own (the CLI runs bundled; the forwarder is a process of its own).
const FORWARDER = fileURLToPath(new URL('dist/providers/libvirt/forwarder.js', PACKAGE_ROOT));
const READY_MS = 10_000;
/** How any boxfest install's forwarder script ends (the install's own path comes before it). */
const FORWARDER_TAIL = '/dist/providers/libvirt/forwarder.js';

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

/**
 * Forwarders of the machine that its pidfile no longer names: the project's .boxfest/ was deleted
 * under a running machine (a fresh checkout), and the forwarder still holds its host ports. Found
 * by their whole command line, `node …/forwarder.js <this machine's forwards file>`, which names
 * the machine's own directory: nothing else is ever matched.
 */
export function strayForwarderPids(machineDir: string): number[] {
  const mark = libvirtPaths(machineDir).forwards;
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  return entries
    .filter((d) => /^\d+$/.test(d))
    .map(Number)
    .filter((pid) => {
      if (pid === process.pid) return false;
      const argv = cmdlineOf(pid);
      return argv?.length === 3 && argv[1]?.endsWith(FORWARDER_TAIL) === true && argv[2] === mark;
    });
}

/** Ends the machine's forwarder, if it runs (by its pidfile, else by its command line), and removes its files. */
export async function stopForwarder(machineDir: string): Promise<void> {
  const pid = forwarderPid(machineDir);
  for (const p of pid === undefined ? strayForwarderPids(machineDir) : [pid]) {
    try {
      process.kill(p, 'SIGTERM');
    } catch {
      continue; // gone meanwhile
    }
    if (!(await waitUntil(() => !isAlive(p), 3_000, 20))) {
      process.kill(p, 'SIGKILL');
      await waitUntil(() => !isAlive(p), 3_000, 20);
    }
  }
  const p = libvirtPaths(machineDir);
  for (const f of [p.forwarderPid, p.forwards]) rmSync(f, { force: true });
}
