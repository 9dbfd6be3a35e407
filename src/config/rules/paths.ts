// Host paths that must exist (and be what they are used as), guest paths that must be absolute
// and name one place, provisioner names, SSH users.

import { posix } from 'node:path';
import { hasControlChars, quoteForMessage, SSH_USER, SSH_USER_RULE } from '../names.js';
import type { FsCheck, PathKind, Rule } from './context.js';
import { missingPath, writtenAt } from './context.js';

/**
 * Why a guest path cannot be a destination: not absolute, the guest's root (rsync --delete would
 * empty it), a `..` that climbs out of what it names, or a control character.
 */
export function guestPathProblem(dest: string): [string, string] | undefined {
  if (hasControlChars(dest))
    return [
      `${quoteForMessage(dest)} has a control character`,
      'write the guest path on one line, without escapes',
    ];
  if (!posix.isAbsolute(dest))
    return ['must be an absolute path in the guest', `did you mean \`${posix.join('/', dest)}\`?`];
  if (dest.split('/').includes('..'))
    return [`\`${dest}\` has a \`..\` segment`, `write the path it means: \`${posix.normalize(dest)}\``];
  if (posix.normalize(dest) === '/')
    return [
      "is the guest's root directory",
      'sync into a directory of its own, e.g. `/srv/app`; with `delete` rsync would remove everything else there',
    ];
  return undefined;
}

const kindOf = (fs: FsCheck, path: string): PathKind | undefined => fs.kind?.(path);

export const syncedFolders: Rule = ({ env, written, fs, listOrigin, add }) => {
  for (const m of env.machines) {
    for (const [i, folder] of m.syncedFolders.entries()) {
      const path = listOrigin(m, 'synced_folders', i);
      const destProblem = guestPathProblem(folder.dest);
      if (destProblem !== undefined) add([...path, 'dest'], 'value', ...destProblem);
      if (folder.disabled) continue;
      const src = writtenAt<string>(written, [...path, 'src']) ?? folder.src;
      if (!fs.exists(folder.src))
        add(
          [...path, 'src'],
          'value',
          missingPath(src, folder.src),
          'create the directory on the host or fix the path',
        );
      else if (kindOf(fs, folder.src) === 'file')
        add(
          [...path, 'src'],
          'value',
          `\`${src}\` is a file; a synced folder is a directory`,
          'sync the directory that holds it, or upload the file with a `file` provisioner',
        );
    }
  }
};

export const provisioners: Rule = ({ env, written, fs, listOrigin, add }) => {
  for (const m of env.machines) {
    const seen = new Set<string>();
    for (const [i, p] of m.provision.entries()) {
      const path = listOrigin(m, 'provision', i);
      if (seen.has(p.name)) {
        const named = writtenAt<string>(written, [...path, 'name']) !== undefined;
        add(
          named ? [...path, 'name'] : path,
          'value',
          `duplicate provisioner name \`${p.name}\``,
          'give each provisioner of a machine its own `name`',
        );
      }
      seen.add(p.name);
      const [key, host] =
        p.kind === 'file' ? ['file', p.src] : 'path' in p.source ? ['shell_path', p.source.path] : [];
      if (key !== undefined && host !== undefined) {
        const shown = writtenAt<string>(written, [...path, key]) ?? host;
        if (!fs.exists(host))
          add(
            [...path, key],
            'value',
            missingPath(shown, host),
            'create the file on the host or fix the path',
          );
        else if (key === 'shell_path' && kindOf(fs, host) === 'directory')
          add(
            [...path, key],
            'value',
            `\`${shown}\` is a directory; \`shell_path\` is a script file`,
            'name the script itself, e.g. `scripts/setup.sh`',
          );
      }
      if (p.kind === 'file') {
        const destProblem = guestPathProblem(p.dest);
        if (destProblem !== undefined) add([...path, 'dest'], 'value', ...destProblem);
      }
    }
  }
};

export const privateKeys: Rule = ({ env, written, fs, add }) => {
  for (const m of env.machines) {
    const key = m.ssh.privateKey;
    if (key === undefined) continue;
    const path =
      writtenAt<string>(written, ['machines', m.name, 'ssh', 'private_key']) !== undefined
        ? ['machines', m.name, 'ssh', 'private_key']
        : ['defaults', 'ssh', 'private_key'];
    const shown = writtenAt<string>(written, path) ?? key;
    const hint = "point it at an existing private key, or remove it to use the box's key";
    if (hasControlChars(key)) add(path, 'value', `${quoteForMessage(shown)} has a control character`, hint);
    else if (!fs.exists(key)) add(path, 'value', missingPath(shown, key), hint);
    else if (kindOf(fs, key) === 'directory')
      add(path, 'value', `\`${shown}\` is a directory, not a key file`, hint);
  }
};

/** The login name is printed into ssh_config and guest command lines: nothing that could break out. */
export const sshUsers: Rule = ({ env, own, add }) => {
  for (const m of env.machines) {
    const user = m.ssh.user;
    if (user === undefined || SSH_USER.test(user)) continue;
    const path =
      own(m).ssh?.user !== undefined ? ['machines', m.name, 'ssh', 'user'] : ['defaults', 'ssh', 'user'];
    add(path, 'value', `${quoteForMessage(user)} is not a valid user name`, SSH_USER_RULE);
  }
};
