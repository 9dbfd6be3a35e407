// Finds the project's Boxfile the way Vagrant finds a Vagrantfile: in the working directory,
// then in each parent up to the filesystem root, so commands work from any subdirectory.

import { statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { BoxfestError } from '../errors.js';

export const BOXFILE_NAME = 'Boxfile.yaml';

/** Absolute path of the nearest Boxfile.yaml at or above `cwd`. */
export function findBoxfile(cwd: string): string {
  const looked: string[] = [];
  let misnamed: string | undefined;
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    const candidate = join(dir, BOXFILE_NAME);
    if (isFile(candidate)) return candidate;
    // `.yml` is the usual slip; say so rather than just "not found".
    if (misnamed === undefined && isFile(join(dir, 'Boxfile.yml'))) misnamed = join(dir, 'Boxfile.yml');
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

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false; // missing or unreadable directory: keep walking up
  }
}
