// ssh2 is CommonJS and costs ~45 ms to load: it is required on first use, so commands that never
// open a connection (a no-op `up`, `status`, `plan`) do not pay for it.
import { createRequire } from 'node:module';
import type * as Ssh2 from 'ssh2';

export type { ClientChannel, ConnectConfig, PublicKeyAuthMethod } from 'ssh2';
export type Client = Ssh2.Client;

let ssh2: typeof Ssh2 | undefined;
const load = (): typeof Ssh2 => (ssh2 ??= createRequire(import.meta.url)('ssh2') as typeof Ssh2);

/**
 * A client whose errors after the first are dropped: ssh2 1.17 emits a second one after some
 * fatal handshake errors (a host key our hostVerifier refused, with the server's NEWKEYS in the
 * same read: its second doFatalError throws "protocol._destruct is not a function"), and an
 * 'error' event nobody listens to any more ends the process. Every caller handles the first.
 */
export function newClient(): Client {
  const client = new (load().Client)();
  client.on('error', () => undefined);
  return client;
}
export const sshUtils = (): typeof Ssh2.utils => load().utils;

/** "ssh-ed25519 AAAA..." from the raw key blob ssh2 hands to hostVerifier. */
export function hostKeyText(blob: Buffer): string {
  const typeLen = blob.readUInt32BE(0);
  const type = blob.subarray(4, 4 + typeLen).toString('ascii');
  return `${type} ${blob.toString('base64')}`;
}
