// ssh2 is CommonJS and costs ~45 ms to load: it is required on first use, so commands that never
// open a connection (a no-op `up`, `status`, `plan`) do not pay for it.
import { createRequire } from 'node:module';
import type * as Ssh2 from 'ssh2';

export type { ClientChannel, ConnectConfig, PublicKeyAuthMethod } from 'ssh2';
export type Client = Ssh2.Client;

let ssh2: typeof Ssh2 | undefined;
const load = (): typeof Ssh2 => (ssh2 ??= createRequire(import.meta.url)('ssh2') as typeof Ssh2);

export const newClient = (): Client => new (load().Client)();
export const sshUtils = (): typeof Ssh2.utils => load().utils;

/** "ssh-ed25519 AAAA..." from the raw key blob ssh2 hands to hostVerifier. */
export function hostKeyText(blob: Buffer): string {
  const typeLen = blob.readUInt32BE(0);
  const type = blob.subarray(4, 4 + typeLen).toString('ascii');
  return `${type} ${blob.toString('base64')}`;
}
