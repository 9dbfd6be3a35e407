// Byte streams to a libvirt daemon. Local: its unix socket. A remote host (#16) adds an ssh2
// channel here (virt-ssh-helper over exec, or a streamlocal forward) that RpcConnection takes
// the same way: the wire layer only needs a Duplex.
import { existsSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import type { Transport } from './connection.js';
import { localSocket, type LibvirtUri } from '../uri.js';

/** Why a transport could not be opened: errno of the connect, with what was tried. */
export class TransportError extends Error {
  override name = 'TransportError';
  constructor(
    message: string,
    readonly errno: string | undefined,
    readonly target: string,
  ) {
    super(message);
  }
}

export function openUnix(path: string, timeoutMs = 10_000): Promise<Transport> {
  return new Promise((resolve, reject) => {
    const sock: Socket = connect({ path });
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new TransportError(`no answer from ${path} within ${timeoutMs / 1000} s`, 'ETIMEDOUT', path));
    }, timeoutMs);
    sock.once('connect', () => {
      clearTimeout(timer);
      sock.removeAllListeners('error');
      resolve({
        stream: sock,
        ref: () => sock.ref(),
        unref: () => sock.unref(),
        describe: `unix:${path}`,
      });
    });
    sock.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new TransportError(`cannot connect to ${path}: ${e.message}`, e.code, path));
    });
  });
}

/** The transport for a URI that passed usableUri(). */
export function openTransport(u: LibvirtUri): Promise<Transport> {
  if (u.transport === 'unix') return openUnix(localSocket(u, existsSync));
  return Promise.reject(new Error(`internal: transport ${u.transport} passed validation`));
}
