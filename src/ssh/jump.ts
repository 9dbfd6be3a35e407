// A guest behind a jump host (a remote libvirt host's guests live on that host's networks): each
// connection to it is a `direct-tcpip` channel of boxfest's one connection to the host
// (ssh/host-link.ts), not a TCP connection of its own and not an OpenSSH process.
import type { Duplex } from 'node:stream';
import { ChannelRefused, forwardOut, type JumpHost } from './host-link.js';

/**
 * A channel to `host:port` as the jump host sees it. A channel the host could not open (nothing
 * listens there yet) rejects with ChannelRefused, which a boot-time probe waits out; the host
 * itself failing (unreachable, changed key, refused login) rejects with a typed BoxfestError.
 */
export async function openThrough(
  jump: JumpHost,
  host: string,
  port: number,
  timeoutMs: number,
): Promise<Duplex> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new ChannelRefused(
            `${jump.user}@${jump.host}:${jump.port} opened no channel to ${host}:${port} within ${Math.round(timeoutMs / 1000)} s`,
          ),
        ),
      timeoutMs,
    );
  });
  const opening = forwardOut(jump, host, port);
  try {
    return await Promise.race([opening, timeout]);
  } catch (e) {
    // Opened after the timeout: nobody will read it.
    void opening.then(
      (ch) => ch.destroy(),
      () => undefined,
    );
    throw e;
  } finally {
    clearTimeout(timer);
  }
}
