// The project lock, with real processes standing in for other boxfest runs.

import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BoxfestError } from '../../../src/errors.js';
import { acquireLock } from '../../../src/state/lock.js';
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
