// SSH identity of a machine: its generated key, pinned host key, and the OpenSSH config that
// lets plain `ssh`, `scp` and rsync reach it with the same guarantees.
import { existsSync, readFileSync } from 'node:fs';
import { sshUtils } from './ssh2.js';
import { newHostKey } from '../guest/host-key.js';
import { newLoginKey } from './ed25519.js';
import { hasControlChars, quoteForMessage, SSH_USER } from '../config/names.js';
import type { Environment } from '../config/types.js';
import { BoxfestError } from '../errors.js';
import { writeFileAtomic } from '../state/atomic.js';
import { shellQuote } from '../util/quote.js';
import { sshEndpointOf, type MachineState } from '../state/machine-state.js';
import type { MachinePaths } from '../state/paths.js';
import type { JumpHost, SshEndpoint, SshTarget } from './client.js';

/** Host name for ~/.ssh/config and known_hosts: stable across boots even when the port changes. */
export function hostAlias(env: Environment, machine: string): string {
  return `boxfest-${env.name}-${machine}`;
}

/** The comment of a machine's generated key: which project and machine it belongs to. */
export const machineKeyComment = (env: Environment, machine: string): string =>
  `boxfest ${env.name}/${machine}`;

/**
 * A fresh ed25519 key pair for the machine, unless it already has one that parses (one written
 * by ssh2's key generator before, 1 in 256 of them malformed, is replaced: it never logged in).
 */
export function ensureMachineKey(paths: MachinePaths, comment: string): void {
  if (existsSync(paths.privateKey) && existsSync(paths.publicKey) && keyParses(paths.privateKey)) return;
  const pair = newLoginKey(comment);
  writeFileAtomic(paths.privateKey, pair.private, 0o600);
  writeFileAtomic(paths.publicKey, pair.public + '\n', 0o644);
}

function keyParses(file: string): boolean {
  const parsed = sshUtils().parseKey(readFileSync(file, 'utf8'));
  return !(parsed instanceof Error);
}

/**
 * cloud-init boxes: a new SSH host key for the machine, made on the host and handed to the guest
 * in its seed (cloud-init's `ssh_keys`), so its sshd serves it from its very first start and it
 * is pinned before first contact; nothing is installed or restarted in the booting guest (the
 * host-key step's probe, install, sshd re-exec and second login cost a TCG guest seconds while
 * cloud-init was still running). Returns the public key ("ssh-ed25519 AAAA...") to pin.
 */
export function makeSeedHostKey(paths: MachinePaths, machine: string): string {
  const key = newHostKey(machine);
  writeFileAtomic(paths.hostKey, key.openssh, 0o600);
  writeFileAtomic(paths.hostKeyPublic, `${key.publicKey}\n`, 0o644);
  return key.publicKey;
}

/**
 * The seed host key pair, when the machine has one and it is the key pinned in `state`; otherwise
 * undefined (a machine made before seeds carried the key: its host key came otherwise).
 */
export function seedHostKeyOf(
  paths: MachinePaths,
  state: Pick<MachineState, 'hostKey' | 'hostKeySource'>,
): { private: string; public: string } | undefined {
  if (state.hostKeySource !== 'boxfest' || state.hostKey === undefined) return undefined;
  if (!existsSync(paths.hostKey) || !existsSync(paths.hostKeyPublic)) return undefined;
  const pub = readFileSync(paths.hostKeyPublic, 'utf8').trim();
  return pub === state.hostKey ? { private: readFileSync(paths.hostKey, 'utf8'), public: pub } : undefined;
}

export function publicKeyOf(paths: MachinePaths): string {
  return readFileSync(paths.publicKey, 'utf8').trim();
}

/** The keys to offer: the machine's own, plus the box's insecure key until it has been replaced. */
export function machineTarget(
  paths: MachinePaths,
  state: MachineState,
  endpoint: SshEndpoint,
  firstLoginKey: string | undefined,
): SshTarget {
  const keys = [readFileSync(paths.privateKey, 'utf8')];
  if (!state.keyReplaced && firstLoginKey !== undefined) keys.push(readFileSync(firstLoginKey, 'utf8'));
  return {
    host: endpoint.host,
    port: endpoint.port,
    ...(endpoint.jump === undefined ? {} : { jump: endpoint.jump }),
    user: state.sshUser,
    keys,
    hostKey: state.hostKey,
  };
}

/**
 * The block people append to ~/.ssh/config. Every value is checked and quoted as ssh_config reads
 * it (double quotes, which it cannot escape): a user name, port or path that could end a line or
 * a quote (a hand-edited state.json, a project under a directory with a newline in its name)
 * would add directives of its own, such as `ProxyCommand`, so it is refused instead.
 */
export function sshConfigBlock(
  env: Environment,
  machine: string,
  paths: MachinePaths,
  state: MachineState,
  opts: { forwardAgent?: boolean } = {},
): string {
  const at = sshEndpointOf(state);
  const port = at?.port ?? 22;
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw unprintable(machine, 'its SSH port', String(port));
  if (!SSH_USER.test(state.sshUser)) throw unprintable(machine, 'its SSH user', state.sshUser);
  const host = at?.host ?? '127.0.0.1';
  if (!/^[A-Za-z0-9.:_-]{1,253}$/.test(host)) throw unprintable(machine, 'its SSH host', host);
  const alias = hostAlias(env, machine);
  const q = (what: string, value: string) => {
    if (hasControlChars(value) || value.includes('"')) throw unprintable(machine, what, value);
    return `"${value}"`;
  };
  const jump = at?.jump === undefined ? [] : [proxyCommand(machine, alias, at.jump, paths)];
  return [
    `Host ${q('its host alias', alias)}`,
    `  HostName ${q('its SSH host', host)}`,
    `  Port ${port}`,
    `  User ${q('its SSH user', state.sshUser)}`,
    `  IdentityFile ${q('its key path', paths.privateKey)}`,
    `  IdentitiesOnly yes`,
    `  UserKnownHostsFile ${q('its known_hosts path', paths.knownHosts)}`,
    `  HostKeyAlias ${q('its host alias', alias)}`,
    `  StrictHostKeyChecking yes`,
    `  PasswordAuthentication no`,
    `  BatchMode yes`,
    `  LogLevel ERROR`,
    ...(opts.forwardAgent === true ? ['  ForwardAgent yes'] : []),
    ...jump,
    '',
  ].join('\n');
}

/** The name a machine's jump host's key is pinned under in the machine's known_hosts. */
const jumpAlias = (alias: string): string => `${alias}-host`;

/**
 * The jump host (a remote libvirt host) as the guest's ProxyCommand, with the same guarantees as
 * the guest's own block: its key pinned in the machine's known_hosts, no config file read, no
 * password. Not ProxyJump: OpenSSH builds ProxyJump's command with the `-F` path unquoted and runs
 * it through /bin/sh, so a project under a directory named `$(...)` would run that. Here every
 * value is shell-quoted and its `%` doubled (ssh expands %-tokens in the line); no Host block of
 * its own, so no alias can collide with a machine's.
 */
function proxyCommand(machine: string, alias: string, jump: JumpHost, paths: MachinePaths): string {
  if (!Number.isInteger(jump.port) || jump.port < 1 || jump.port > 65535)
    throw unprintable(machine, "its jump host's SSH port", String(jump.port));
  if (!SSH_USER.test(jump.user)) throw unprintable(machine, "its jump host's SSH user", jump.user);
  if (!/^[A-Za-z0-9.:_][A-Za-z0-9.:_-]{0,252}$/.test(jump.host))
    throw unprintable(machine, 'its jump host', jump.host);
  // ssh splits an -o value on blanks unless it is double-quoted; ssh_config lines end at a newline.
  const path = (what: string, value: string) => {
    if (hasControlChars(value) || value.includes('"')) throw unprintable(machine, what, value);
    return value;
  };
  const word = (s: string) => shellQuote(s).replaceAll('%', '%%');
  const words = [
    'ssh',
    '-F',
    'none',
    '-p',
    String(jump.port),
    '-l',
    jump.user,
    ...(jump.keyfile === undefined
      ? []
      : ['-i', path("its jump host's key path", jump.keyfile), '-o', 'IdentitiesOnly=yes']),
    ...(jump.hostKey === undefined
      ? []
      : [
          '-o',
          `UserKnownHostsFile="${path('its known_hosts path', paths.knownHosts)}"`,
          '-o',
          `HostKeyAlias=${jumpAlias(alias)}`,
        ]),
    ...['-o', 'StrictHostKeyChecking=yes', '-o', 'PasswordAuthentication=no'],
    ...['-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR'],
  ];
  return `  ProxyCommand ${words.map(word).join(' ')} -W '[%h]:%p' ${word(jump.host)}`;
}

function unprintable(machine: string, what: string, value: string): BoxfestError {
  return new BoxfestError(
    'SSH_CONFIG_UNSAFE',
    `machine \`${machine}\`: ${what} ${quoteForMessage(value)} cannot be written into an OpenSSH config safely`,
    {
      machine,
      hint: 'ssh_config cannot quote a newline, a control character or `"`: move the project to a plain path, or fix the machine (`boxfest destroy` and `up` again)',
    },
  );
}

/** known_hosts with the pinned key under the alias, and a per-machine ssh_config (used by rsync). */
export function writeSshFiles(
  env: Environment,
  machine: string,
  paths: MachinePaths,
  state: MachineState,
): void {
  const alias = hostAlias(env, machine);
  const jumpKey = state.sshJump?.hostKey;
  if (state.hostKey !== undefined)
    writeFileAtomic(
      paths.knownHosts,
      `${alias} ${state.hostKey}\n${jumpKey === undefined ? '' : `${jumpAlias(alias)} ${jumpKey}\n`}`,
      0o644,
    );
  writeFileAtomic(paths.sshConfig, sshConfigBlock(env, machine, paths, state), 0o644);
}
