// cloud-init user-data: boxfest's part (the SSH user with passwordless sudo and the machine's own
// key, the image's host keys deleted and the machine's own one, made on the host and pinned, in
// `ssh_keys`; no password login, the network config re-read at every boot) merged with
// the Boxfile's `cloud_init:` additions. Keys boxfest owns are refused at validate time
// (OWNED_KEYS in config/rules/cloud-init.ts). Pure.
import { mergeMappings } from '../config/merge.js';

/** sshd drop-in written before sshd first starts: no `ssh_pwauth`, which restarts a running sshd. */
export const SSHD_DROP_IN = '/etc/ssh/sshd_config.d/10-boxfest.conf';

export interface UserDataInput {
  user: string;
  publicKey: string;
  /** The machine's SSH host key (made by boxfest, pinned): served from sshd's first start. */
  hostKey?: { private: string; public: string } | undefined;
  /** The Boxfile's `cloud_init:` (defaults and machine merged). */
  additions: Readonly<Record<string, unknown>>;
}

export function boxfestUserData(
  i: Pick<UserDataInput, 'user' | 'publicKey' | 'hostKey'>,
): Record<string, unknown> {
  return {
    users: [
      {
        name: i.user,
        gecos: 'boxfest',
        shell: '/bin/bash',
        sudo: 'ALL=(ALL) NOPASSWD:ALL',
        lock_passwd: true,
        ssh_authorized_keys: [i.publicKey],
      },
    ],
    ssh_deletekeys: true,
    // With `ssh_keys` cloud-init writes these and generates no others: the only key sshd serves
    // is the one boxfest pinned. Without (an older machine), it generates fresh ones.
    ...(i.hostKey === undefined
      ? {}
      : { ssh_keys: { ed25519_private: i.hostKey.private, ed25519_public: i.hostKey.public } }),
    write_files: [
      {
        path: SSHD_DROP_IN,
        permissions: '0644',
        content: 'PasswordAuthentication no\nKbdInteractiveAuthentication no\n',
      },
    ],
    updates: { network: { when: ['boot-new-instance', 'boot'] } },
  };
}

export function userData(i: UserDataInput): Record<string, unknown> {
  return mergeMappings(boxfestUserData(i), i.additions);
}
