// What is under `.boxfest/` is boxfest's own only when proven so. Before a command reads or writes
// anything there, checkProjectTree() makes sure the tree is real directories and files: no
// symlink (a cloned repository can carry `.boxfest -> /`), no file where a directory belongs;
// lstat-level reads only (a readdir per directory, whose entry types need no extra stat), so it
// costs a no-op `up` nothing measurable. Removal walks every path with lstat from the project
// root down, and stops with an error naming what is wrong before anything is removed; inside a
// directory proven real it never follows a link (Node's rm unlinks links, it does not descend).
import { lstatSync, readdirSync, readlinkSync, rmSync, type Dirent } from 'node:fs';
import { join, relative } from 'node:path';
import { BoxfestError } from '../errors.js';
import { machinePaths, PROJECT_DIR, projectPaths } from './paths.js';

/** The error for a symlink where boxfest keeps its own files. */
export function linkInProject(path: string): BoxfestError {
  let target = '';
  try {
    target = ` (to ${readlinkSync(path)})`;
  } catch {
    // gone meanwhile: the message still names it
  }
  return new BoxfestError(
    'PROJECT_STATE_UNSAFE',
    `${path} is a symbolic link${target}; boxfest keeps its state in real files and directories and never follows a link out of the project`,
    {
      hint: `remove the link (\`rm ${path}\`; what it points to is left alone), then run the command again`,
    },
  );
}

function notADirectory(path: string): BoxfestError {
  return new BoxfestError(
    'PROJECT_STATE_UNSAFE',
    `${path} is not a directory, where boxfest keeps its state`,
    {
      hint: `move it out of the way; boxfest creates ${PROJECT_DIR}/ and what is in it by itself`,
    },
  );
}

/**
 * Checks that `root/segments...` is a chain of real directories. True when all exist, false when
 * one is missing (nothing there to act on); throws on a symlink or a non-directory.
 */
export function realDirChain(root: string, segments: readonly string[]): boolean {
  let path = root;
  for (const seg of segments) {
    path = join(path, seg);
    let st;
    try {
      st = lstatSync(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw e;
    }
    if (st.isSymbolicLink()) throw linkInProject(path);
    if (!st.isDirectory()) throw notADirectory(path);
  }
  return true;
}

/** The segments of `path` below `root`; `path` must be inside `.boxfest/` of that root. */
function segmentsBelow(root: string, path: string): string[] {
  const rel = relative(root, path);
  const segments = rel.split('/');
  if (rel === '' || segments[0] !== PROJECT_DIR || segments.includes('..'))
    throw new Error(`internal: ${path} is not inside ${join(root, PROJECT_DIR)}`);
  return segments;
}

/**
 * Removes the directory `dir` (inside the project's `.boxfest/`) and what is in it, once every
 * directory from the root down to it is proven real. Missing: nothing to do.
 */
export function removeOwnTree(root: string, dir: string): void {
  if (!realDirChain(root, segmentsBelow(root, dir))) return;
  rmSync(dir, { recursive: true, force: true });
}

/** Removes one of boxfest's files (a link is removed, never followed), once its directory is proven real. */
export function removeOwnFile(root: string, file: string): void {
  const segments = segmentsBelow(root, file);
  if (!realDirChain(root, segments.slice(0, -1))) return;
  let st;
  try {
    st = lstatSync(file);
  } catch {
    return;
  }
  if (st.isDirectory()) throw notADirectoryExpectedFile(file);
  rmSync(file, { force: true });
}

function notADirectoryExpectedFile(path: string): BoxfestError {
  return new BoxfestError('PROJECT_STATE_UNSAFE', `${path} is a directory where boxfest keeps a file`, {
    hint: 'move it out of the way; boxfest did not make it',
  });
}

export function removeOwnMachineDir(root: string, name: string): void {
  removeOwnTree(root, machinePaths(root, name).dir);
}

/** Files boxfest keeps in a machine's and a network's directory; none of them may be a link. */
const OWN_FILES = new Set([
  'state.json',
  'disk.qcow2',
  'disk.qcow2.partial',
  'qemu.pid',
  'qemu.cmd',
  'serial.log',
  'id_ed25519',
  'id_ed25519.pub',
  'known_hosts',
  'ssh_config',
  'leases.json',
  'switch.pid',
]);

/**
 * Throws PROJECT_STATE_UNSAFE, naming the path, when `.boxfest/`, `machines/`, `networks/`, a
 * machine's or a network's directory, or one of boxfest's files in them is a symlink, or a file
 * stands where a directory belongs. A project without `.boxfest/` passes.
 */
export function checkProjectTree(root: string): void {
  if (!realDirChain(root, [PROJECT_DIR])) return;
  const p = projectPaths(root);
  for (const entry of entries(p.dir))
    if (entry.isSymbolicLink()) throw linkInProject(join(p.dir, entry.name));
  for (const sub of ['machines', 'networks']) {
    if (!realDirChain(root, [PROJECT_DIR, sub])) continue;
    const dir = join(p.dir, sub);
    for (const entry of entries(dir)) {
      const path = join(dir, entry.name);
      if (entry.isSymbolicLink()) throw linkInProject(path);
      if (!entry.isDirectory()) continue; // not a machine: never listed, never removed
      for (const own of entries(path))
        if (own.isSymbolicLink() && OWN_FILES.has(own.name)) throw linkInProject(join(path, own.name));
    }
  }
}

function entries(dir: string): Dirent[] {
  try {
    return readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    throw new BoxfestError('PROJECT_STATE_UNREADABLE', `cannot read ${dir}: ${(e as Error).message}`, {
      hint: 'check its permissions',
    });
  }
}
