// Before a command reads or writes anything under `.boxfest/`, the tree must be boxfest's own:
// real directories and files, no symlinks (a cloned repository can carry `.boxfest -> /`), no file
// where a directory belongs. Checked once per command, with lstat-level reads only (a readdir per
// directory, whose entry types need no extra stat), so it costs a no-op `up` nothing measurable.
import { readdirSync, type Dirent } from 'node:fs';
import { join } from 'node:path';
import { BoxfestError } from '../errors.js';
import { PROJECT_DIR, projectPaths } from './paths.js';
import { linkInProject, realDirChain } from './safe-remove.js';

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
