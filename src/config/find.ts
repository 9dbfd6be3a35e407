// Finds the project's Boxfile the way Vagrant finds a Vagrantfile: in the working directory,
// then in each parent up to the filesystem root, so commands work from any subdirectory. A
// Boxfile.yaml that is there but is not a readable regular file (a dangling or looping symlink, a
// directory, a FIFO, a device) stops the search with an error: walking past it would hand the
// command to a parent project, and a `destroy` run in the child would destroy the parent's machines.

import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { BoxfestError, errorMessage } from '../errors.js';
import { MAX_BOXFILE_BYTES } from './load.js';

export const BOXFILE_NAME = 'Boxfile.yaml';

/** Absolute path of the nearest Boxfile.yaml at or above `cwd`. */
export function findBoxfile(cwd: string): string {
  const looked: string[] = [];
  let misnamed: string | undefined;
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    const candidate = join(dir, BOXFILE_NAME);
    if (present(candidate)) {
      checkRegularFile(candidate);
      return candidate;
    }
    // `.yml` is the usual slip; say so rather than just "not found".
    if (misnamed === undefined && present(join(dir, 'Boxfile.yml'))) misnamed = join(dir, 'Boxfile.yml');
    looked.push(dir);
    if (dirname(dir) === dir) break;
  }
  throw new BoxfestError('BOXFILE_NOT_FOUND', `no ${BOXFILE_NAME} found; looked in ${looked.join(', ')}`, {
    hint:
      misnamed === undefined
        ? `create a ${BOXFILE_NAME} (see examples/quickstart) or cd into a project`
        : `found ${misnamed}: rename it to ${BOXFILE_NAME}`,
  });
}

/** Whether a directory entry of that name exists at all (a dangling symlink does). */
function present(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return false;
    // The directory cannot be read: we cannot tell whether a Boxfile is there, so do not pass it.
    throw notAFile(
      path,
      `cannot be looked at (${errorMessage(e)})`,
      'check the permissions of its directory',
    );
  }
}

function checkRegularFile(path: string): void {
  let kind: string;
  try {
    const st = statSync(path);
    if (st.isFile()) return;
    kind = st.isDirectory()
      ? 'a directory'
      : st.isFIFO()
        ? 'a FIFO (named pipe)'
        : st.isSocket()
          ? 'a socket'
          : st.isCharacterDevice() || st.isBlockDevice()
            ? 'a device'
            : 'not a regular file';
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    kind =
      code === 'ENOENT'
        ? 'a symbolic link to nothing (its target does not exist)'
        : code === 'ELOOP'
          ? 'a symbolic link that loops'
          : `unreadable (${errorMessage(e)})`;
  }
  throw notAFile(path, `is ${kind}`, `make ${path} the project's Boxfile (a regular file), or remove it`);
}

function notAFile(path: string, what: string, hint: string): BoxfestError {
  return new BoxfestError('BOXFILE_NOT_A_FILE', `${path} ${what}`, {
    hint: `${hint}; boxfest does not look past it to a parent directory's Boxfile`,
  });
}

/**
 * The Boxfile's text. Opened without blocking and checked on the open descriptor, so a file
 * swapped for a FIFO after the search cannot hang the command; read up to just past the size
 * limit (the loader reports a file over it).
 */
export function readBoxfile(path: string): string {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (e) {
    throw new BoxfestError('BOXFILE_UNREADABLE', `cannot read ${path}: ${errorMessage(e)}`, {
      hint: 'check the file permissions',
      cause: e,
    });
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) checkRegularFile(path);
    const buf = Buffer.allocUnsafe(Math.min(st.size, MAX_BOXFILE_BYTES) + 1);
    let n = 0;
    for (let r = -1; r !== 0 && n < buf.length; n += r) r = readSync(fd, buf, n, buf.length - n, null);
    return buf.subarray(0, n).toString('utf8');
  } catch (e) {
    if (e instanceof BoxfestError) throw e;
    throw new BoxfestError('BOXFILE_UNREADABLE', `cannot read ${path}: ${errorMessage(e)}`, {
      hint: 'check the file permissions',
      cause: e,
    });
  } finally {
    closeSync(fd);
  }
}
