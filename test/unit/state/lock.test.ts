// The project lock, with real processes standing in for other boxfest runs.

import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BoxfestError } from '../../../src/errors.js';
import { acquireLock, GARBAGE_GRACE_MS } from '../../../src/state/lock.js';
import { startTicksOf } from '../../../src/state/process.js';
import { tempDir } from '../helpers.js';

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null)
      process.kill(child.pid);
  }
});

/** A process that stays alive until the test ends. */
function livePid(): number {
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  children.push(child);
  if (child.pid === undefined) throw new Error('could not spawn sleep');
  return child.pid;
}

/** The PID of a process that has exited (and been reaped). */
async function deadPid(): Promise<number> {
  const child = spawn('true', [], { stdio: 'ignore' });
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not spawn true');
  await new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return pid;
}

interface Holder {
  pid: number;
  start?: number;
  command: string;
  since: string;
}

const holderOf = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as Holder;

function writeHolder(file: string, holder: Holder): void {
  writeFileSync(file, JSON.stringify(holder) + '\n');
}

function lockFile(): string {
  return join(tempDir('boxfest-lock-'), '.boxfest', 'lock');
}

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error('expected an error');
}

describe('acquireLock', () => {
  it('creates the lock file (and its directory) with our pid and command', () => {
    const file = lockFile();
    const before = Date.now();
    acquireLock(file, 'boxfest up');
    const holder = holderOf(file);
    expect(holder.pid).toBe(process.pid);
    expect(holder.command).toBe('boxfest up');
    expect(Date.parse(holder.since)).toBeGreaterThanOrEqual(before - 1000);
    expect(Date.parse(holder.since)).toBeLessThanOrEqual(Date.now());
    expect(readFileSync(file, 'utf8').endsWith('}\n')).toBe(true);
  });

  it('refuses while a live process holds the lock, naming it', () => {
    const file = lockFile();
    acquireLock(file, 'boxfest validate'); // creates the directory
    const pid = livePid();
    const held: Holder = { pid, command: 'boxfest destroy web', since: '2024-05-01T10:00:00.000Z' };
    writeHolder(file, held);

    const e = thrown(() => acquireLock(file, 'boxfest up'));
    expect(e).toBeInstanceOf(BoxfestError);
    expect((e as BoxfestError).code).toBe('PROJECT_LOCKED');
    expect((e as BoxfestError).message).toBe(
      `another boxfest is working on this project: pid ${pid} running \`boxfest destroy web\` since 2024-05-01T10:00:00.000Z`,
    );
    expect((e as BoxfestError).hint).toBe(
      'wait for it to finish, or stop it; a lock left by a dead process is taken over automatically',
    );
    // The holder's lock is untouched.
    expect(holderOf(file)).toEqual(held);
  });

  it('takes over a lock left by a dead process', async () => {
    const file = lockFile();
    acquireLock(file, 'boxfest validate');
    const pid = await deadPid();
    writeHolder(file, { pid, command: 'boxfest up', since: '2024-05-01T10:00:00.000Z' });

    const lock = acquireLock(file, 'boxfest halt');
    expect(holderOf(file)).toMatchObject({ pid: process.pid, command: 'boxfest halt' });
    lock.release();
    expect(existsSync(file)).toBe(false);
  });

  it('can be taken again after release', () => {
    const file = lockFile();
    acquireLock(file, 'boxfest up').release();
    expect(existsSync(file)).toBe(false);
    const second = acquireLock(file, 'boxfest halt');
    expect(holderOf(file).command).toBe('boxfest halt');
    second.release();
    expect(existsSync(file)).toBe(false);
  });
});

describe('holder identity and unreadable locks', () => {
  it('records the holder by PID and process start time', () => {
    const file = lockFile();
    acquireLock(file, 'boxfest up');
    expect(holderOf(file).start).toBe(startTicksOf(process.pid));
  });

  it('a live process with the PID but another start time (a reused PID) holds nothing', () => {
    const file = lockFile();
    acquireLock(file, 'boxfest validate').release();
    const pid = livePid();
    const start = startTicksOf(pid)!;
    writeHolder(file, { pid, start: start - 1, command: 'boxfest up', since: '2024-05-01T10:00:00.000Z' });
    const lock = acquireLock(file, 'boxfest halt');
    expect(holderOf(file)).toMatchObject({ pid: process.pid, command: 'boxfest halt' });
    lock.release();
  });

  it('the same PID with its own start time still holds the lock', () => {
    const file = lockFile();
    acquireLock(file, 'boxfest validate').release();
    const pid = livePid();
    writeHolder(file, {
      pid,
      start: startTicksOf(pid)!,
      command: 'boxfest up',
      since: '2024-05-01T10:00:00.000Z',
    });
    expect((thrown(() => acquireLock(file, 'boxfest halt')) as BoxfestError).code).toBe('PROJECT_LOCKED');
  });

  it.each([
    ['empty', ''],
    ['garbage', 'garbage\n'],
    ['truncated JSON', '{"pid": 12'],
    ['JSON of another shape', '[1, 2, 3]\n'],
  ])(
    'an %s lock file is refused with a clear message while fresh, taken over after the grace period',
    (_, text) => {
      const file = lockFile();
      acquireLock(file, 'boxfest validate').release();
      writeFileSync(file, text);
      const e = thrown(() => acquireLock(file, 'boxfest up')) as BoxfestError;
      expect(e.code).toBe('PROJECT_LOCKED');
      expect(e.message).toBe(
        `the lock ${file} is unreadable; it is taken over 2 s after it was last written`,
      );
      const old = (Date.now() - GARBAGE_GRACE_MS - 1000) / 1000;
      utimesSync(file, old, old);
      const lock = acquireLock(file, 'boxfest up');
      expect(holderOf(file)).toMatchObject({ pid: process.pid, command: 'boxfest up' });
      lock.release();
      expect(existsSync(file)).toBe(false);
      // Nothing is left beside it: no staged copies, no takeover claims.
      expect(readdirSync(join(file, '..'))).toEqual([]);
    },
  );

  it('a lock that is a symbolic link is an error naming it, and its target is left alone', () => {
    const file = lockFile();
    acquireLock(file, 'boxfest validate').release();
    const target = join(tempDir('boxfest-lock-target-'), 'elsewhere');
    writeFileSync(target, 'precious\n');
    symlinkSync(target, file);
    const e = thrown(() => acquireLock(file, 'boxfest up')) as BoxfestError;
    expect(e.code).toBe('PROJECT_STATE_UNSAFE');
    expect(e.message).toBe(`${file} is a symbolic link; boxfest never follows one`);
    expect(readFileSync(target, 'utf8')).toBe('precious\n');
  });
});

describe('Lock.release', () => {
  it('removes the lock file', () => {
    const file = lockFile();
    const lock = acquireLock(file, 'boxfest up');
    expect(existsSync(file)).toBe(true);
    lock.release();
    expect(existsSync(file)).toBe(false);
  });

  it('does not remove a lock another holder now owns', () => {
    const file = lockFile();
    const lock = acquireLock(file, 'boxfest up');
    const successor: Holder = {
      pid: livePid(),
      command: 'boxfest destroy',
      since: '2024-05-01T10:00:00.000Z',
    };
    writeHolder(file, successor);
    lock.release();
    expect(holderOf(file)).toEqual(successor);
  });

  it('is harmless when the file is already gone', () => {
    const file = lockFile();
    const lock = acquireLock(file, 'boxfest up');
    lock.release();
    expect(() => lock.release()).not.toThrow();
    expect(existsSync(file)).toBe(false);
  });
});
