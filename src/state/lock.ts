// One mutating command per project at a time (and the host-wide locks in the boxfest home).
//
// The lock file holds the holder's PID, its start time (/proc/PID/stat: a reused PID is not the
// holder) and a random token. It is written aside and hard-linked into place, so it never exists
// without its content; taking a free lock is that one link(2), which only one process can win.
//
// A stale lock (its holder is gone, or the file is empty or garbage and older than a grace
// period) is taken over without ever removing it: the process that wins `<lock>.takeover-<id>`
// (a link(2) again, so one winner per stale lock) renames its own lock file over it in one
// rename(2). Only that winner ever replaces a lock with that id, and the holder of a stale lock
// is dead, so the lock cannot change between its check and its rename: no two processes ever
// hold it, however many race (test/unit/state/lock-race.test.ts races real processes). A winner
// that dies before its rename leaves a takeover file whose holder is dead: the next one claims
// `<lock>.takeover-<id>-<its id>`, and so on. The holder of a lock removes the takeover files.
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fstatSync,
  linkSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { BoxfestError } from '../errors.js';
import { isAlive, startTicksOf } from './process.js';

interface LockInfo {
  pid: number;
  /** Start of the holder process (clock ticks since boot); absent in locks of older boxfest versions. */
  start?: number;
  command: string;
  since: string;
  /** Tells two locks of one process apart, and names this lock in takeover files. */
  token: string;
}

export interface Lock {
  release(): void;
}

/** An empty or unreadable lock file is taken over once it is this old (ms). */
export const GARBAGE_GRACE_MS = 2_000;
/** Takeover files deeper than this (each a holder dying mid-takeover) are not followed. */
const MAX_CLAIM_DEPTH = 8;

/** What is at a lock path: a holder, garbage (with an id made from the file), or nothing. */
type Seen =
  | { kind: 'holder'; info: LockInfo; id: string }
  | { kind: 'garbage'; id: string; ageMs: number }
  | { kind: 'none' };

export function acquireLock(file: string, command: string): Lock {
  mkdirSync(dirname(file), { recursive: true });
  const info: LockInfo = {
    pid: process.pid,
    ...startOf(process.pid),
    command,
    since: new Date().toISOString(),
    token: randomBytes(8).toString('hex'),
  };
  // Staged aside; linked into place (or, taking over, renamed over the stale one).
  const staged = `${file}.${info.token}`;
  writeFileSync(staged, JSON.stringify(info) + '\n');
  const held = (): Lock => {
    removeTakeoverFiles(file);
    return {
      release: () => {
        // Only remove our own lock, never one a successor took over.
        const now = look(file);
        if (now.kind === 'holder' && now.info.token === info.token) rmSync(file, { force: true });
      },
    };
  };
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        linkSync(staged, file);
        return held();
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const seen = look(file);
      if (seen.kind === 'none') continue; // released meanwhile: link again
      if (!isStale(seen)) throw locked(file, seen);
      const claim = claimTakeover(file, seen.id, info);
      if (claim === 'busy') throw locked(file, seen, true);
      // We alone may replace the lock with this id; it still has it unless someone did before us.
      const now = look(file);
      if (now.kind !== 'none' && now.id === seen.id) {
        renameSync(claim.copy, file);
        return held();
      }
      for (const f of [claim.copy, claim.name]) rmSync(f, { force: true });
    }
    throw locked(file, look(file));
  } finally {
    rmSync(staged, { force: true });
  }
}

/** PID plus start time: the holder runs only while the same process does. */
function holderRuns(info: Pick<LockInfo, 'pid' | 'start'>): boolean {
  if (!Number.isInteger(info.pid) || info.pid <= 0 || !isAlive(info.pid)) return false;
  return info.start === undefined || startTicksOf(info.pid) === info.start;
}

function isStale(seen: Exclude<Seen, { kind: 'none' }>): boolean {
  return seen.kind === 'holder' ? !holderRuns(seen.info) : seen.ageMs >= GARBAGE_GRACE_MS;
}

/**
 * Claims the takeover of the stale lock `id`: the claim's name and a second name of it (our lock
 * info, ready to be renamed over the lock), or 'busy' while a live process holds the claim.
 */
function claimTakeover(file: string, id: string, info: LockInfo): { name: string; copy: string } | 'busy' {
  let name = `${file}.takeover-${id}`;
  for (let depth = 0; depth < MAX_CLAIM_DEPTH; depth++) {
    // Not under the takeover- prefix: a new holder clearing those must not take ours mid-claim.
    const mine = `${file}.claim-${info.token}`;
    writeFileSync(mine, JSON.stringify(info) + '\n');
    try {
      linkSync(mine, name);
      // `mine` is now a second name of the claim: the one that becomes the lock file.
      return { name, copy: mine };
    } catch (e) {
      rmSync(mine, { force: true });
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const other = look(name);
    if (other.kind === 'none') continue; // removed by a new holder meanwhile: try again
    if (!isStale(other)) return 'busy';
    name = `${name}-${other.id.slice(0, 16)}`;
  }
  return 'busy';
}

/** Reads a lock or claim file: who holds it, or that it is garbage (and how old), or nothing. */
function look(file: string): Seen {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { kind: 'none' };
    if (code === 'ELOOP') throw symlinkLock(file);
    throw e;
  }
  try {
    const st = fstatSync(fd);
    const text = st.isFile() ? readFileSync(fd, 'utf8') : '';
    const info = parseInfo(text);
    // A lock written by hand or by an older boxfest may lack a token: its content names it.
    if (info !== undefined)
      return { kind: 'holder', info, id: info.token !== '' ? info.token : `h${sha(text).slice(0, 16)}` };
    return { kind: 'garbage', id: `g${st.ino}-${Math.trunc(st.mtimeMs)}`, ageMs: Date.now() - st.mtimeMs };
  } finally {
    closeSync(fd);
  }
}

function parseInfo(text: string): LockInfo | undefined {
  try {
    const v = JSON.parse(text) as Partial<LockInfo> | null;
    if (
      typeof v === 'object' &&
      v !== null &&
      typeof v.pid === 'number' &&
      (v.token === undefined || (typeof v.token === 'string' && /^[0-9a-f]{1,64}$/.test(v.token))) &&
      (v.start === undefined || typeof v.start === 'number')
    )
      return {
        pid: v.pid,
        ...(v.start === undefined ? {} : { start: v.start }),
        command: typeof v.command === 'string' ? v.command : '?',
        since: typeof v.since === 'string' ? v.since : '?',
        token: v.token ?? '',
      };
  } catch {
    // garbage
  }
  return undefined;
}

/** Takeover files are only of use while a lock is stale; its new holder clears them. */
function removeTakeoverFiles(file: string): void {
  const prefix = `${basename(file)}.takeover-`;
  let names: string[];
  try {
    names = readdirSync(dirname(file));
  } catch {
    return;
  }
  for (const n of names) if (n.startsWith(prefix)) rmSync(join(dirname(file), n), { force: true });
}

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

const startOf = (pid: number): { start?: number } => {
  const start = startTicksOf(pid);
  return start === undefined ? {} : { start };
};

function symlinkLock(file: string): BoxfestError {
  return new BoxfestError('PROJECT_STATE_UNSAFE', `${file} is a symbolic link; boxfest never follows one`, {
    hint: `remove it (\`rm ${file}\`), then run the command again`,
  });
}

function locked(file: string, seen: Seen, takingOver = false): BoxfestError {
  const hint = 'wait for it to finish, or stop it; a lock left by a dead process is taken over automatically';
  if (seen.kind === 'holder')
    return new BoxfestError(
      'PROJECT_LOCKED',
      `another boxfest is working on this project: pid ${seen.info.pid} running \`${seen.info.command}\` since ${seen.info.since}${takingOver ? ' (left by a process that ended; another boxfest is taking it over right now)' : ''}`,
      { hint },
    );
  if (seen.kind === 'garbage')
    return new BoxfestError(
      'PROJECT_LOCKED',
      `the lock ${file} is unreadable; it is taken over ${GARBAGE_GRACE_MS / 1000} s after it was last written`,
      { hint: 'run the command again in a moment' },
    );
  return new BoxfestError('PROJECT_LOCKED', `another boxfest is working on this project (lock ${file})`, {
    hint,
  });
}
