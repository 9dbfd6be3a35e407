// A machine's identity handed to its guest at the first boot, before any SSH: its hostname, the
// SSH user's one login key (the box's insecure key is not in it) and its host key in both
// formats. A provider that can (QEMU: one `-fw_cfg name=opt/io.boxfest/NAME` item per file) puts
// the files where the guest can read them; a box whose first boot reads them serves that host key
// from its first SSH answer, so boxfest pins a key it made before first contact and the host-key,
// replace-key and set-hostname round trips (a command and a second login) are not needed. A box
// that reads nothing presents another key at first contact and goes the usual way.
import { lstatSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { removeOwnTree, realDirChain } from '../state/safe-remove.js';
import { PROJECT_DIR } from '../state/paths.js';
import type { HostKey } from './host-key.js';

/** The files, by the name the guest finds them under (the fw_cfg item is `opt/io.boxfest/NAME`). */
export const IDENTITY_FILES = [
  'hostname',
  'user',
  'authorized_keys',
  'ssh_host_ed25519_key',
  'dropbear_ed25519_host_key',
] as const;

export type IdentityFile = (typeof IDENTITY_FILES)[number];

export interface OfferedIdentity {
  hostname: string;
  user: string;
  /** The machine's own public key, one authorized_keys line. */
  loginKey: string;
  hostKey: HostKey;
}

function contents(i: OfferedIdentity): Record<IdentityFile, string | Buffer> {
  return {
    hostname: `${i.hostname}\n`,
    user: `${i.user}\n`,
    authorized_keys: `${i.loginKey}\n`,
    ssh_host_ed25519_key: i.hostKey.openssh,
    dropbear_ed25519_host_key: i.hostKey.dropbear,
  };
}

const below = (root: string, dir: string): string[] => dir.slice(root.length + 1).split('/');

/**
 * Writes the identity into `dir` (inside the project's `.boxfest/`), replacing any earlier one:
 * a new directory, mode 0700, files 0600 (it holds a private key), each created, never opened
 * through a link.
 */
export function writeOfferedIdentity(root: string, dir: string, identity: OfferedIdentity): void {
  removeOwnTree(root, dir);
  mkdirSync(dir, { mode: 0o700 });
  for (const [name, data] of Object.entries(contents(identity)))
    writeFileSync(join(dir, name), data, { mode: 0o600, flag: 'wx' });
}

/**
 * The identity files in `dir`, when it holds all of them as regular files in a real directory
 * chain; otherwise none (a file the guest would be handed is never read through a link).
 */
export function offeredIdentityFiles(root: string, dir: string): { name: IdentityFile; file: string }[] {
  if (!dir.startsWith(`${root}/${PROJECT_DIR}/`) || !realDirChain(root, below(root, dir))) return [];
  const files = IDENTITY_FILES.map((name) => ({ name, file: join(dir, name) }));
  return files.every(({ file }) => isRegularFile(file)) ? files : [];
}

function isRegularFile(file: string): boolean {
  try {
    return lstatSync(file).isFile();
  } catch {
    return false;
  }
}

/** Once the guest has answered, the identity is its own or was ignored: the host copy goes. */
export function removeOfferedIdentity(root: string, dir: string): void {
  removeOwnTree(root, dir);
}
