// Host paths that must exist (and be what they are used as), guest paths that must be absolute
// and name one place, provisioner names, SSH users.

import { isAbsolute, posix, relative } from 'node:path';
import type { AnsibleProvisioner } from '../types.js';
import type { KeyPath } from '../load.js';
import { hasControlChars, quoteForMessage, SSH_USER, SSH_USER_RULE } from '../names.js';
import type { FsCheck, PathKind, Rule, RuleContext } from './context.js';
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
      if (folder.type === 'virtiofs' && folder.chown !== undefined)
        add(
          [...path, 'chown'],
          'key',
          'virtiofs cannot set an owner: the guest sees the owners the files have on the host',
          'use `type: 9p` (owners kept in xattrs, the host files keep theirs) or `rsync`, or remove `chown`',
        );
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

export const provisioners: Rule = (ctx) => {
  const { env, written, fs, listOrigin, add } = ctx;
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
      if (p.kind === 'ansible') {
        ansibleProvisioner(ctx, p, path);
        continue;
      }
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

/** Ansible group names: what its inventory accepts, less the two it makes itself. */
const ANSIBLE_GROUP = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * An Ansible playbook is a file inside the project (it is read by `ansible-playbook` with the
 * project's machines' keys at hand, or uploaded to a guest); groups name this Boxfile's machines.
 */
function ansibleProvisioner(ctx: RuleContext, p: AnsibleProvisioner, path: KeyPath): void {
  const { env, written, fs, add } = ctx;
  const key = p.where === 'host' ? 'ansible' : 'ansible_local';
  const shown = writtenAt<string>(written, [...path, key]) ?? p.playbook;
  const rel = relative(env.root, p.playbook);
  const real = fs.realpath?.(p.playbook);
  const realRel = real === undefined ? undefined : relative(fs.realpath?.(env.root) ?? env.root, real);
  const outside = (r: string) => r === '' || r === '..' || r.startsWith('../') || isAbsolute(r);
  if (hasControlChars(p.playbook))
    add(
      [...path, key],
      'value',
      `${quoteForMessage(shown)} has a control character`,
      'name the playbook on one line',
    );
  else if (outside(rel) || (realRel !== undefined && outside(realRel)))
    add(
      [...path, key],
      'value',
      `\`${shown}\` is outside the project (${env.root})`,
      'keep the playbook in the project directory, e.g. `ansible/site.yml`',
    );
  else if (!fs.exists(p.playbook))
    add([...path, key], 'value', missingPath(shown, p.playbook), 'create the playbook or fix the path');
  else if (kindOf(fs, p.playbook) !== undefined && kindOf(fs, p.playbook) !== 'file')
    add(
      [...path, key],
      'value',
      `\`${shown}\` is not a file; \`${key}\` names a playbook file`,
      'name the playbook itself, e.g. `ansible/site.yml`',
    );
  const machines = new Set(env.machines.map((m) => m.name));
  for (const [group, members] of Object.entries(p.groups)) {
    if (!ANSIBLE_GROUP.test(group) || group === 'all' || group === 'ungrouped')
      add(
        [...path, 'groups', group],
        'key',
        `\`${group}\` cannot be an Ansible group name`,
        "use letters, digits and underscores, not starting with a digit; `all` and `ungrouped` are Ansible's own",
      );
    for (const [j, member] of members.entries())
      if (!machines.has(member))
        add(
          [...path, 'groups', group, j],
          'value',
          `\`${member}\` is not a machine of this Boxfile`,
          `groups list machine names: ${[...machines].join(', ')}`,
        );
  }
  if (p.scope === 'machine' && p.limit.length > 0)
    add(
      [...path, 'limit'],
      'key',
      '`limit` applies to `scope: environment`; a `scope: machine` run is limited to its machine',
      'remove `limit`, or use `scope: environment` (the default)',
    );
  for (const [j, l] of p.limit.entries())
    if (hasControlChars(l))
      add(
        typeof writtenAt<unknown>(written, [...path, 'limit']) === 'string'
          ? [...path, 'limit']
          : [...path, 'limit', j],
        'value',
        `${quoteForMessage(l)} has a control character`,
        'write host patterns such as `web` or `db*`',
      );
}

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
