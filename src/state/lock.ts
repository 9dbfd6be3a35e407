// One mutating command per project at a time. The lock file holds the holder's PID and command;
// a lock left by a dead process is taken over.
import { mkdirSync, openSync, readFileSync, rmSync, writeSync, closeSync } from 'node:fs';
import { dirname } from 'node:path';
import { BoxfestError } from '../errors.js';
import { isAlive } from './process.js';

interface LockInfo {
  pid: number;
  command: string;
  since: string;
}

export interface Lock {
  release(): void;
}

export function acquireLock(file: string, command: string): Lock {
  mkdirSync(dirname(file), { recursive: true });
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o644);
      const info: LockInfo = { pid: process.pid, command, since: new Date().toISOString() };
      writeSync(fd, JSON.stringify(info) + '\n');
      closeSync(fd);
      return {
        release: () => {
          // Only remove our own lock, never one a successor took over.
          if (readHolder(file)?.pid === process.pid) rmSync(file, { force: true });
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const holder = readHolder(file);
      if (holder !== undefined && holder.pid !== process.pid && isAlive(holder.pid)) {
        throw new BoxfestError(
          'PROJECT_LOCKED',
          `another boxfest is working on this project: pid ${holder.pid} running \`${holder.command}\` since ${holder.since}`,
          {
            hint: 'wait for it to finish, or stop it; a lock left by a dead process is taken over automatically',
          },
        );
      }
      rmSync(file, { force: true }); // stale: its holder is gone
    }
  }
  throw new BoxfestError('PROJECT_LOCKED', `could not take the project lock ${file}`, {
    hint: 'another boxfest may be starting at the same moment; run the command again',
  });
}

function readHolder(file: string): LockInfo | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as LockInfo;
  } catch {
    return undefined;
  }
}
