// The libvirt target of the shared scenarios, on this run's private daemon reached as a remote
// host: the Boxfile names it by its qemu+ssh URI (its remote path, scripts/libvirtd.sh sshd), so
// boxfest speaks libvirt's RPC over its SSH connection to that host and reaches the guests
// through it. The tests run inside the daemon's network namespace, where the guests' addresses
// are also routable directly: the sshd log proves the jump carried their connections.
import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { inject } from 'vitest';
import { LIBVIRT, type Target } from '../targets.js';

const ROOT = resolve(import.meta.dirname, '../../..');

/** The daemon's directory and its URI over SSH (the remote path is started once, then reused). */
export function remotePath(): { dir: string; uri: string } {
  const dir = inject('libvirtdDir');
  const uri = /^LIBVIRTD_REMOTE_URI='?([^'\n]+)'?$/m.exec(
    execFileSync('bash', [join(ROOT, 'scripts/libvirtd.sh'), 'sshd', dir], { encoding: 'utf8' }),
  )?.[1];
  if (uri === undefined) throw new Error('scripts/libvirtd.sh sshd printed no LIBVIRTD_REMOTE_URI');
  return { dir, uri };
}

export function remoteTarget(uri: string): Target {
  return {
    ...LIBVIRT,
    boxfile: (text) =>
      LIBVIRT.boxfile(text).replace(
        /^provider: libvirt\n/m,
        `provider: libvirt\nlibvirt: { uri: "${uri}" }\n`,
      ),
  };
}
