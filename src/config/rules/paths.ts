// Host paths that must exist, guest paths that must be absolute, provisioner names.

import { posix } from 'node:path';
import type { Rule } from './context.js';
import { missingPath, writtenAt } from './context.js';

export const syncedFolders: Rule = ({ env, written, fs, listOrigin, add }) => {
  for (const m of env.machines) {
    for (const [i, folder] of m.syncedFolders.entries()) {
      const path = listOrigin(m, 'synced_folders', i);
      if (!posix.isAbsolute(folder.dest)) {
        add(
          [...path, 'dest'],
          'value',
          'must be an absolute path in the guest',
          `did you mean \`${posix.join('/', folder.dest)}\`?`,
        );
      }
      if (folder.type === 'virtiofs' && folder.chown !== undefined)
        add(
          [...path, 'chown'],
          'key',
          'virtiofs cannot set an owner: the guest sees the owners the files have on the host',
          'use `type: 9p` (owners kept in xattrs, the host files keep theirs) or `rsync`, or remove `chown`',
        );
      if (!folder.disabled && !fs.exists(folder.src)) {
        const src = writtenAt<string>(written, [...path, 'src']) ?? folder.src;
        add(
          [...path, 'src'],
          'value',
          missingPath(src, folder.src),
          'create the directory on the host or fix the path',
        );
      }
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
      if (key !== undefined && host !== undefined && !fs.exists(host)) {
        const shown = writtenAt<string>(written, [...path, key]) ?? host;
        add([...path, key], 'value', missingPath(shown, host), 'create the file on the host or fix the path');
      }
      if (p.kind === 'file' && !posix.isAbsolute(p.dest)) {
        add(
          [...path, 'dest'],
          'value',
          'must be an absolute path in the guest',
          `did you mean \`${posix.join('/', p.dest)}\`?`,
        );
      }
    }
  }
};

export const privateKeys: Rule = ({ env, written, fs, add }) => {
  for (const m of env.machines) {
    const key = m.ssh.privateKey;
    if (key === undefined || fs.exists(key)) continue;
    const path =
      writtenAt<string>(written, ['machines', m.name, 'ssh', 'private_key']) !== undefined
        ? ['machines', m.name, 'ssh', 'private_key']
        : ['defaults', 'ssh', 'private_key'];
    const shown = writtenAt<string>(written, path) ?? key;
    add(
      path,
      'value',
      missingPath(shown, key),
      "point it at an existing private key, or remove it to use the box's key",
    );
  }
};

/** A `run_remote` trigger needs a running guest: never after halt or destroy. */
export const triggers: Rule = ({ env, listOrigin, add }) => {
  for (const m of env.machines)
    for (const [i, t] of m.triggers.entries()) {
      const gone = t.on.filter((e) => e === 'halt' || e === 'destroy');
      if ('runRemote' in t.action && t.when === 'after' && gone.length > 0)
        add(
          [...listOrigin(m, 'triggers', i), 'run_remote'],
          'key',
          `the machine is not running after ${gone.join(' or ')}: \`run_remote\` cannot run then`,
          'use `when: before`, or `run` (a host command)',
        );
    }
};
