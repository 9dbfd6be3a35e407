// SSH identity of a machine: its generated key, pinned host key, and the OpenSSH config that
// lets plain `ssh`, `scp` and rsync reach it with the same guarantees.
import { existsSync, readFileSync } from 'node:fs';
import { sshUtils } from './ssh2.js';
import type { Environment } from '../config/types.js';
import { writeFileAtomic } from '../state/atomic.js';
import { sshEndpointOf, type MachineState } from '../state/machine-state.js';
import type { MachinePaths } from '../state/paths.js';
import type { SshEndpoint, SshTarget } from './client.js';

/** Host name for ~/.ssh/config and known_hosts: stable across boots even when the port changes. */
export function hostAlias(env: Environment, machine: string): string {
  return `boxfest-${env.name}-${machine}`;
}

/** A fresh ed25519 key pair for the machine, unless it already has one. */
export function ensureMachineKey(paths: MachinePaths, comment: string): void {
  if (existsSync(paths.privateKey) && existsSync(paths.publicKey)) return;
  const pair = sshUtils().generateKeyPairSync('ed25519', { comment });
  writeFileAtomic(paths.privateKey, pair.private, 0o600);
  writeFileAtomic(paths.publicKey, pair.public.trim() + '\n', 0o644);
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
  return { host: endpoint.host, port: endpoint.port, user: state.sshUser, keys, hostKey: state.hostKey };
}

export function sshConfigBlock(
  env: Environment,
  machine: string,
  paths: MachinePaths,
  state: MachineState,
): string {
  const q = (p: string) => `"${p}"`;
  const at = sshEndpointOf(state);
  return [
    `Host ${hostAlias(env, machine)}`,
    `  HostName ${at?.host ?? '127.0.0.1'}`,
    `  Port ${at?.port ?? 22}`,
    `  User ${state.sshUser}`,
    `  IdentityFile ${q(paths.privateKey)}`,
    `  IdentitiesOnly yes`,
    `  UserKnownHostsFile ${q(paths.knownHosts)}`,
    `  HostKeyAlias ${hostAlias(env, machine)}`,
    `  StrictHostKeyChecking yes`,
    `  PasswordAuthentication no`,
    `  BatchMode yes`,
    `  LogLevel ERROR`,
    '',
  ].join('\n');
}

/** known_hosts with the pinned key under the alias, and a per-machine ssh_config (used by rsync). */
export function writeSshFiles(
  env: Environment,
  machine: string,
  paths: MachinePaths,
  state: MachineState,
): void {
  if (state.hostKey !== undefined)
    writeFileAtomic(paths.knownHosts, `${hostAlias(env, machine)} ${state.hostKey}\n`, 0o644);
  writeFileAtomic(paths.sshConfig, sshConfigBlock(env, machine, paths, state), 0o644);
}
