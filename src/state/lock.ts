// One mutating command per project at a time. The lock file holds the holder's PID and command;
// a lock left by a dead process is taken over.
import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { BoxfestError } from '../errors.js';
import { isAlive } from './process.js';

interface LockInfo {
  pid: number;
  command: string;
  since: string;
  /** Tells two locks of one process apart. */
  token: string;
}

export interface Lock {
  release(): void;
}

export function acquireLock(file: string, command: string): Lock {
  mkdirSync(dirname(file), { recursive: true });
  const info: LockInfo = {
    pid: process.pid,
    command,
    since: new Date().toISOString(),
    token: randomBytes(8).toString('hex'),
  };
  // Written aside and hard-linked into place: the lock file never exists without its content.
  const staged = `${file}.${info.token}`;
  writeFileSync(staged, JSON.stringify(info) + '\n');
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        linkSync(staged, file);
        return {
          release: () => {
            // Only remove our own lock, never one a successor took over.
            if (readHolder(file)?.token === info.token) rmSync(file, { force: true });
          },
        };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const holder = readHolder(file);
      if (holder === undefined || isAlive(holder.pid)) throw locked(file, holder);
      // Stale: move that exact file aside; if another process took it over first, the rename
      // fails or moves a live holder's lock, which we then put back.
      const aside = `${file}.stale-${info.token}`;
      try {
        renameSync(file, aside);
      } catch {
        continue;
      }
      const moved = readHolder(aside);
      if (moved !== undefined && moved.token !== holder.token) {
        renameSync(aside, file);
        throw locked(file, moved);
      }
      rmSync(aside, { force: true });
    }
    throw locked(file, readHolder(file));
  } finally {
    rmSync(staged, { force: true });
  }
}

function locked(file: string, holder: LockInfo | undefined): BoxfestError {
  return new BoxfestError(
    'PROJECT_LOCKED',
    holder === undefined
      ? `another boxfest is working on this project (lock ${file})`
      : `another boxfest is working on this project: pid ${holder.pid} running \`${holder.command}\` since ${holder.since}`,
    { hint: 'wait for it to finish, or stop it; a lock left by a dead process is taken over automatically' },
  );
}

function readHolder(file: string): LockInfo | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as LockInfo;
  } catch {
    return undefined;
  }
}
