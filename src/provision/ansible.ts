// Ansible provisioners. `ansible`: `ansible-playbook` on the host, spawned with an argv (no
// shell), against an inventory boxfest writes: every machine of the environment reached through
// its own ssh_config (the one `ssh-config` prints: generated key, pinned host key in a
// known_hosts file boxfest writes, StrictHostKeyChecking yes). `ansible_local`: the playbook and
// the directories beside it that Ansible looks in (templates/, files/, roles/...) are uploaded and
// run by the guest's own `ansible-playbook` against the machine itself.
import { spawn } from 'node:child_process';
import { accessSync, constants, lstatSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { delimiter, dirname, isAbsolute, join } from 'node:path';
import type { AnsibleProvisioner, Environment } from '../config/types.js';
import { BoxfestError, errorMessage } from '../errors.js';
import { asRoot } from '../ssh/as-root.js';
import { exec } from '../ssh/client.js';
import { hostAlias, writeSshFiles } from '../ssh/machine.js';
import type { Client } from '../ssh/ssh2.js';
import { writeFileAtomic } from '../state/atomic.js';
import { readMachineState, sshEndpointOf } from '../state/machine-state.js';
import { ansiblePaths, machinePaths } from '../state/paths.js';
import { lineSplitter as lines } from '../util/lines.js';
import { shellQuote } from '../util/quote.js';

const TAIL_LINES = 20;
export const ANSIBLE_PLAYBOOK = 'ansible-playbook';
export const ANSIBLE_INSTALL_HINT =
  'install Ansible on the host: `apt-get install ansible` (Debian/Ubuntu), `dnf install ansible-core`, `brew install ansible` or `pipx install ansible-core`';

/** One machine as the inventory names it: its ssh_config, user and what `-F` needs. */
export interface InventoryHost {
  name: string;
  /** The Host alias of its ssh_config block (`boxfest-<project>-<machine>`). */
  alias: string;
  sshConfig: string;
  user: string;
}

/**
 * The inventory (Ansible's YAML/JSON form): each host is its ssh_config's alias, so ssh takes
 * HostName, Port, IdentityFile, UserKnownHostsFile and StrictHostKeyChecking from that file.
 * `-F PATH` is split by Ansible with shlex, so the path is quoted for a POSIX shell.
 */
export function inventoryOf(
  hosts: readonly InventoryHost[],
  groups: Record<string, readonly string[]>,
): object {
  const known = new Set(hosts.map((h) => h.name));
  return {
    all: {
      hosts: Object.fromEntries(
        hosts.map((h) => [
          h.name,
          {
            ansible_host: h.alias,
            ansible_user: h.user,
            ansible_connection: 'ssh',
            ansible_ssh_common_args: `-F ${shellQuote(h.sshConfig)}`,
          },
        ]),
      ),
      children: Object.fromEntries(
        Object.entries(groups).map(([g, members]) => [
          g,
          { hosts: Object.fromEntries(members.filter((m) => known.has(m)).map((m) => [m, {}])) },
        ]),
      ),
    },
  };
}

/** `ansible-playbook`'s arguments: options in their `--name=value` form, so no value reads as an option. */
export function playbookArgs(
  p: AnsibleProvisioner,
  files: { inventory: string; extraVars?: string | undefined },
  limit: readonly string[],
): string[] {
  return [
    `--inventory=${files.inventory}`,
    ...(files.extraVars === undefined ? [] : [`--extra-vars=@${files.extraVars}`]),
    ...(limit.length === 0 ? [] : [`--limit=${limit.join(',')}`]),
    ...(p.tags.length === 0 ? [] : [`--tags=${p.tags.join(',')}`]),
    ...(p.skipTags.length === 0 ? [] : [`--skip-tags=${p.skipTags.join(',')}`]),
    p.playbook,
  ];
}

/**
 * What `ansible-playbook` must not take from the user's environment or an ansible.cfg: host keys
 * are always checked (a setting of False would add `StrictHostKeyChecking=no` to every ssh
 * command), and no ssh master is left running after the run (ControlPersist).
 */
export const ANSIBLE_ENV: Readonly<Record<string, string>> = {
  ANSIBLE_HOST_KEY_CHECKING: 'True',
  ANSIBLE_SSH_ARGS: '-o ControlMaster=no',
  ANSIBLE_RETRY_FILES_ENABLED: 'False',
  ANSIBLE_NOCOLOR: '1',
};

/** Passes lines on and keeps the last ones, for the error when the run fails. */
function keepingTail(onLine: (line: string) => void): {
  emit: (line: string) => void;
  details: () => string;
} {
  const tail: string[] = [];
  return {
    emit: (line) => {
      tail.push(line);
      if (tail.length > TAIL_LINES) tail.shift();
      onLine(line);
    },
    details: () =>
      tail.length > 0 ? `last lines of its output:\n${tail.join('\n')}` : '(it printed nothing)',
  };
}

/** The absolute path of `program` on PATH, or undefined. */
export function findOnPath(program: string, path = process.env['PATH'] ?? ''): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (dir === '' || !isAbsolute(dir)) continue;
    const candidate = join(dir, program);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * The inventory's hosts: every machine of the environment that has been up (it has an SSH
 * endpoint and a pinned host key), with its ssh_config and known_hosts written afresh from its
 * state. A machine never up is left out; `limit` decides which of them the playbook touches.
 */
export function inventoryHosts(env: Environment): InventoryHost[] {
  const hosts: InventoryHost[] = [];
  for (const m of env.machines) {
    const state = readMachineState(env.root, m.name);
    if (state === undefined || sshEndpointOf(state) === undefined || state.hostKey === undefined) continue;
    const paths = machinePaths(env.root, m.name);
    writeSshFiles(env, m.name, paths, state);
    hosts.push({
      name: m.name,
      alias: hostAlias(env, m.name),
      sshConfig: paths.sshConfig,
      user: state.sshUser,
    });
  }
  return hosts;
}

/**
 * Runs the playbook on the host. `run` names the run's files (`environment` or `machine-<name>`);
 * `machines` are the ones it is for (named in errors); `limit` is the user's, else `machines`.
 */
export async function runAnsiblePlaybook(
  env: Environment,
  p: AnsibleProvisioner,
  run: string,
  machines: readonly string[],
  onLine: (line: string) => void,
): Promise<void> {
  const who = machines.join(', ');
  const program = findOnPath(ANSIBLE_PLAYBOOK);
  if (program === undefined)
    throw new BoxfestError(
      'ANSIBLE_NOT_FOUND',
      `provisioner \`${p.name}\` (for ${who}) needs \`${ANSIBLE_PLAYBOOK}\` on the host, and it is not on PATH`,
      { hint: `${ANSIBLE_INSTALL_HINT}, then run \`boxfest provision ${machines.join(' ')}\`` },
    );
  const hosts = inventoryHosts(env);
  const limit = p.limit.length > 0 ? p.limit : [...machines];
  if (hosts.length === 0)
    throw new BoxfestError('ANSIBLE_NO_HOSTS', `provisioner \`${p.name}\`: no machine of the project is up`, {
      hint: 'run `boxfest up` first',
    });
  const files = ansiblePaths(env.root, run);
  mkdirSync(files.dir, { recursive: true, mode: 0o700 });
  writeFileAtomic(files.inventory, JSON.stringify(inventoryOf(hosts, p.groups), null, 2) + '\n', 0o644);
  const withVars = Object.keys(p.extraVars).length > 0;
  if (withVars) writeFileAtomic(files.extraVars, JSON.stringify(p.extraVars) + '\n', 0o600);
  const { emit, details } = keepingTail(onLine);
  try {
    const args = playbookArgs(
      p,
      { inventory: files.inventory, extraVars: withVars ? files.extraVars : undefined },
      limit,
    );
    const code = await new Promise<number | string>((done) => {
      const child = spawn(program, args, {
        cwd: env.root,
        env: { ...process.env, ...ANSIBLE_ENV },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const out = lines(emit);
      const err = lines(emit);
      child.stdout.setEncoding('utf8').on('data', out.push);
      child.stderr.setEncoding('utf8').on('data', err.push);
      child.on('error', (e) => done(errorMessage(e)));
      child.on('close', (c, signal) => {
        out.end();
        err.end();
        done(c ?? `was killed by ${signal ?? 'a signal'}`);
      });
    });
    if (code !== 0)
      throw new BoxfestError(
        'ANSIBLE_FAILED',
        typeof code === 'string'
          ? `provisioner \`${p.name}\` (for ${who}): ${ANSIBLE_PLAYBOOK} ${code}`
          : `provisioner \`${p.name}\` (for ${who}): ${ANSIBLE_PLAYBOOK} exited with code ${code}`,
        {
          details: details(),
          hint: `fix the playbook (the inventory is ${files.inventory}), then run \`boxfest provision ${machines.join(' ')}\``,
        },
      );
  } finally {
    if (withVars) rmSync(files.extraVars, { force: true });
  }
}

/** The guest's inventory for `ansible_local`: the machine itself, connection local, in its groups. */
export function localInventoryOf(machine: string, groups: Record<string, readonly string[]>): object {
  return {
    all: {
      hosts: { [machine]: { ansible_connection: 'local' } },
      children: Object.fromEntries(
        Object.entries(groups)
          .filter(([, members]) => members.includes(machine))
          .map(([g]) => [g, { hosts: { [machine]: {} } }]),
      ),
    },
  };
}

/**
 * The directories beside a playbook that Ansible resolves its relative paths against: a
 * `template`'s and a `copy`'s `src` (templates/, files/), `vars_files`, `include_tasks` and
 * handlers, roles, and the group and host variables it reads next to the playbook. Vagrant's
 * ansible_local finds them because it runs from the synced project folder; boxfest uploads them,
 * and only them: the playbook's directory may be the project's root, with its disks and sources.
 */
export const ANSIBLE_LOCAL_DIRS = [
  'templates',
  'files',
  'vars',
  'tasks',
  'handlers',
  'roles',
  'group_vars',
  'host_vars',
] as const;

/** Which of ANSIBLE_LOCAL_DIRS are directories beside `playbook` (a link is not followed). */
export function localDirsOf(playbook: string): string[] {
  const dir = dirname(playbook);
  return ANSIBLE_LOCAL_DIRS.filter((d) => {
    try {
      return lstatSync(join(dir, d)).isDirectory();
    } catch {
      return false;
    }
  });
}

/**
 * `ansible_local` adds pipelining: each module goes to the guest's python on its stdin instead of
 * a temp file made, chmodded and removed by separate commands. Measured on the Debian test box
 * under TCG: a facts + file + template + copy playbook took 81 s without, 50 s with. It is also
 * what lets `become_user` to an unprivileged user work on a guest without setfacl (the temp file
 * would be unreadable to that user). Nothing in the guest can require a tty: the run is root's.
 */
export const ANSIBLE_LOCAL_ENV: Readonly<Record<string, string>> = {
  ...ANSIBLE_ENV,
  ANSIBLE_PIPELINING: 'True',
};

/** The guest command that runs the uploaded playbook in `dir` (every value quoted). */
export function localCommand(p: AnsibleProvisioner, machine: string, dir: string, withVars: boolean): string {
  const args = playbookArgs(
    { ...p, playbook: `${dir}/playbook.yml` },
    { inventory: `${dir}/inventory.json`, extraVars: withVars ? `${dir}/extra-vars.json` : undefined },
    [machine],
  );
  const env = Object.entries(ANSIBLE_LOCAL_ENV)
    .map(([k, v]) => `${k}=${shellQuote(v)}`)
    .join(' ');
  return `cd ${shellQuote(dir)} && env ${env} ${ANSIBLE_PLAYBOOK} ${args.map(shellQuote).join(' ')}`;
}

/** Runs the playbook in the guest as root; a guest without ansible-playbook is a clear error. */
export async function runAnsibleLocal(
  ssh: Client,
  machine: string,
  user: string,
  p: AnsibleProvisioner,
  onLine: (line: string) => void,
): Promise<void> {
  const found = await exec(ssh, asRoot(user, `command -v ${ANSIBLE_PLAYBOOK}`));
  if (found.code !== 0)
    throw new BoxfestError(
      'ANSIBLE_LOCAL_NOT_FOUND',
      `provisioner \`${p.name}\` runs ${ANSIBLE_PLAYBOOK} in the guest, and the guest has none`,
      {
        hint: `install Ansible in the guest first, e.g. a \`shell\` provisioner before it: \`apt-get install -y ansible\`; or use \`ansible:\` to run it from the host, then run \`boxfest provision ${machine}\``,
      },
    );
  const made = await exec(ssh, asRoot(user, 'umask 077 && mktemp -d /tmp/boxfest-ansible.XXXXXX'));
  const dir = made.stdout.trim();
  if (made.code !== 0 || !dir.startsWith('/tmp/boxfest-ansible.'))
    throw new BoxfestError(
      'PROVISION_UPLOAD_FAILED',
      `could not upload provisioner \`${p.name}\` to the guest`,
      {
        details: made.stderr.trim(),
        hint: 'the guest needs a writable /tmp and mktemp',
      },
    );
  const withVars = Object.keys(p.extraVars).length > 0;
  const put = async (name: string, text: string) => {
    const r = await exec(ssh, asRoot(user, `cat > ${shellQuote(`${dir}/${name}`)}`), { stdin: text });
    if (r.code !== 0)
      throw new BoxfestError(
        'PROVISION_UPLOAD_FAILED',
        `could not upload provisioner \`${p.name}\` to the guest`,
        {
          details: r.stderr.trim(),
          hint: `the guest could not write ${dir}/${name}`,
        },
      );
  };
  const { emit, details } = keepingTail(onLine);
  try {
    await put('playbook.yml', readFileSync(p.playbook, 'utf8'));
    const dirs = localDirsOf(p.playbook);
    if (dirs.length > 0) {
      // One tar stream for the whole trees (one SSH channel, not one per file); links are kept as
      // links, never followed out of the project. -o: the files are root's, not the host user's.
      const { c } = await import('tar');
      const chunks: Buffer[] = [];
      for await (const chunk of c({ cwd: dirname(p.playbook), portable: true }, dirs)) chunks.push(chunk);
      const r = await exec(ssh, asRoot(user, `tar -x -o -f - -C ${shellQuote(dir)}`), {
        stdin: Buffer.concat(chunks),
      });
      if (r.code !== 0)
        throw new BoxfestError(
          'PROVISION_UPLOAD_FAILED',
          `could not upload provisioner \`${p.name}\` to the guest`,
          {
            details: r.stderr.trim(),
            hint: `the guest could not unpack ${dirs.join(', ')} into ${dir} (it needs tar)`,
          },
        );
    }
    await put('inventory.json', JSON.stringify(localInventoryOf(machine, p.groups)));
    if (withVars) await put('extra-vars.json', JSON.stringify(p.extraVars));
    const out = lines(emit);
    const err = lines(emit);
    const r = await exec(ssh, asRoot(user, localCommand(p, machine, dir, withVars)), {
      onStdout: out.push,
      onStderr: err.push,
    });
    out.end();
    err.end();
    if (r.code !== 0)
      throw new BoxfestError(
        'ANSIBLE_FAILED',
        `provisioner \`${p.name}\`: ${ANSIBLE_PLAYBOOK} in the guest exited with code ${r.code}`,
        {
          details: details(),
          hint: `fix the playbook, then run \`boxfest provision ${machine}\``,
        },
      );
  } finally {
    await exec(ssh, asRoot(user, `rm -rf ${shellQuote(dir)}`)).catch(() => undefined);
  }
}
