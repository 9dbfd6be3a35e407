// A host-wide lock that waits its turn (the project lock turns a second command away instead):
// for short critical sections shared by every boxfest process of a user, such as choosing ports.
import { BoxfestError } from '../errors.js';
import type { Lock } from './lock.js';
import { sleep } from './process.js';

export async function withWaitingLock<T>(
  file: string,
  what: string,
  timeoutMs: number,
  body: () => Promise<T>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  // Loaded on first use: modules that import this one are on every command's path.
  const { acquireLock } = await import('./lock.js');
  let lock: Lock | undefined;
  for (;;) {
    try {
      lock = acquireLock(file, what);
      break;
    } catch (e) {
      if (!(e instanceof BoxfestError) || e.code !== 'PROJECT_LOCKED') throw e;
      if (Date.now() > deadline)
        throw new BoxfestError('HOST_LOCK_TIMEOUT', `waited ${timeoutMs / 1000} s for the lock to ${what}`, {
          details: e.message,
          hint: `another boxfest process holds ${file}; if none is running, remove that file`,
        });
      await sleep(25);
    }
  }
  try {
    return await body();
  } finally {
    lock.release();
  }
}
