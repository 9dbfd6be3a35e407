// Byte streams to a libvirt daemon. Local: its unix socket. A remote host (qemu+ssh, #16): a
// channel on the host's one cached SSH connection (remote-host.ts) that RpcConnection takes the
// same way: the wire layer only needs a Duplex.
import { existsSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import type { Transport } from './connection.js';
import { BoxfestError } from '../../../errors.js';
import type { ClientChannel } from '../../../ssh/ssh2.js';
import { remoteHost, type RemoteHost } from '../remote-host.js';
import { localSocket, remoteSocket, type LibvirtUri } from '../uri.js';

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
  if (u.transport === 'ssh') return openSsh(u);
  return Promise.reject(new Error(`internal: transport ${u.transport} passed validation`));
}

/** How long the remote shell of the exec fallback may take to say which tool it runs. */
const PROXY_START_MS = 20_000;

/** A word for a POSIX shell, whatever it holds. */
const shq = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * A channel to the daemon socket on a remote host, in this order:
 *  1. `direct-streamlocal@openssh.com` (OpenSSH's `ssh -L path`): sshd connects to the socket
 *     itself, so nothing is spawned on the host (no login shell, whose rc files may print to the
 *     stream or take a second to run), nothing needs installing there, and it is on by default
 *     (AllowStreamLocalForwarding yes);
 *  2. when sshd refuses it (forwarding disabled, or no such socket: a modular-daemons host has
 *     virtqemud-sock, not the default libvirt-sock), an exec of a proxy on the host:
 *     `virt-ssh-helper URI` first when no `socket=` was given (libvirt's own, what `virsh -c
 *     qemu+ssh://` runs since libvirt 8.5: it picks the modular or monolithic daemon itself), else
 *     `nc -U SOCKET` (what older libvirt clients ran, OpenBSD netcat), else `socat`.
 */
async function openSsh(u: LibvirtUri): Promise<Transport> {
  const host = await remoteHost(u);
  const socket = remoteSocket(u);
  // Held while opening (like a pending unix connect); RpcConnection takes over from there.
  const opening = host.hold();
  try {
    let refusal: Error;
    try {
      const ch = await channel(host, (cb) => host.client.openssh_forwardOutStreamLocal(socket, cb));
      return channelTransport(host, ch, `ssh:${host.name}:${socket}`);
    } catch (e) {
      if (e instanceof BoxfestError) throw e;
      refusal = e as Error;
    }
    return await openProxy(host, u, socket, refusal);
  } finally {
    opening();
  }
}

/** An ssh2 channel, or why it was not opened (a gone connection is a BoxfestError). */
function channel(
  host: RemoteHost,
  open: (cb: (err: Error | undefined, ch: ClientChannel) => void) => void,
): Promise<ClientChannel> {
  return new Promise((resolve, reject) => {
    try {
      open((err, ch) => (err ? reject(err) : resolve(ch)));
    } catch (e) {
      // ssh2 throws "Not connected" synchronously when the connection is gone.
      reject(
        new BoxfestError('SSH_HOST_UNREACHABLE', `the SSH connection to ${host.name} is gone`, {
          details: (e as Error).message,
          hint: 'run the command again',
          cause: e,
        }),
      );
    }
  });
}

/** RpcConnection's ref/unref on a channel: a hold on the host's shared connection. */
function channelTransport(host: RemoteHost, ch: ClientChannel, describe: string): Transport {
  let release: (() => void) | undefined;
  const unref = () => {
    release?.();
    release = undefined;
  };
  ch.once('close', unref);
  return { stream: ch, ref: () => (release ??= host.hold()), unref, describe };
}

/** The exec fallback: a shell on the host finds a proxy and says which on stderr, then runs it. */
async function openProxy(
  host: RemoteHost,
  u: LibvirtUri,
  socket: string,
  refusal: Error,
): Promise<Transport> {
  const tools: [string, string][] = [
    ...(u.params.has('socket')
      ? []
      : [['virt-ssh-helper', `virt-ssh-helper ${shq(u.driverUri)}`] as [string, string]]),
    ['nc', `nc -U ${shq(socket)}`],
    ['socat', `socat - UNIX-CONNECT:${shq(socket)}`],
  ];
  const script = [
    ...tools.map(
      ([tool, cmd]) =>
        `if command -v ${tool} >/dev/null 2>&1; then echo 'boxfest-proxy: ${tool}' >&2; exec ${cmd}; fi`,
    ),
    "echo 'boxfest-proxy: none' >&2; exit 127",
  ].join('\n');
  const ch = await channel(host, (cb) => host.client.exec(`sh -c ${shq(script)}`, cb)).catch((e: unknown) => {
    if (e instanceof BoxfestError) throw e;
    throw noSocket(host, socket, refusal, `exec refused: ${(e as Error).message}`);
  });
  // stderr until the marker line (a login shell may print before it), then the tool's own messages.
  let err = '';
  const tool = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      ch.destroy();
      reject(
        noSocket(host, socket, refusal, `no answer from the remote shell within ${PROXY_START_MS / 1000} s`),
      );
    }, PROXY_START_MS);
    const onErr = (d: Buffer) => {
      err += d.toString('utf8');
      const m = /^boxfest-proxy: (\S+)$/m.exec(err);
      if (m === null) return;
      clearTimeout(timer);
      ch.stderr.removeListener('data', onErr);
      ch.removeListener('close', onClose);
      err = err.slice(m.index + m[0].length).trimStart();
      resolve(m[1] ?? 'none');
    };
    const onClose = () => {
      clearTimeout(timer);
      reject(noSocket(host, socket, refusal, `the remote shell ended: ${err.trim() || '(no output)'}`));
    };
    ch.stderr.on('data', onErr);
    ch.once('close', onClose);
  });
  if (tool === 'none') {
    ch.destroy();
    throw noSocket(host, socket, refusal, 'the host has none of virt-ssh-helper, nc, socat');
  }
  // What the tool says on stderr (nc: no such socket), kept for the connection's error.
  ch.stderr.on('data', (d: Buffer) => {
    if (err.length < 4096) err += d.toString('utf8');
  });
  ch.once('exit', (code: number | null, signal?: string) => {
    if (code === 0) return;
    // ssh2's Channel.destroy() takes no error: it is emitted first, for RpcConnection's message.
    ch.emit(
      'error',
      new Error(
        `${tool} on ${host.name} ended (${signal ?? `exit ${code}`}): ${err.trim() || '(no message)'}`,
      ),
    );
    ch.destroy();
  });
  return channelTransport(
    host,
    ch,
    `ssh:${host.name} (${tool}${tool === 'virt-ssh-helper' ? ` ${u.driverUri}` : ` ${socket}`})`,
  );
}

function noSocket(host: RemoteHost, socket: string, refusal: Error, why: string): BoxfestError {
  return new BoxfestError('LIBVIRT_SSH_NO_SOCKET', `cannot reach the libvirt daemon socket on ${host.name}`, {
    details: `${socket}: sshd refused a channel to it (${refusal.message}); then ${why}`,
    hint: `check that libvirtd runs on the host and ${socket} exists (or name the socket with socket=); its sshd must allow AllowStreamLocalForwarding, or have virt-ssh-helper, nc or socat installed`,
  });
}
