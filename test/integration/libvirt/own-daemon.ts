// Proof that the libvirt tests can reach one daemon only: the private libvirtd that
// scripts/in-libvirtd.sh started for this run. Checked before any test (global-setup) and by
// own-daemon.integration.ts. A URI from the environment (LIBVIRT_DEFAULT_URI, which boxfest and
// virsh both obey, or virsh's VIRSH_DEFAULT_CONNECT_URI) that leads anywhere else -- a system
// daemon, another run's private daemon under /tmp, a remote host -- is refused, never used.
import { spawnSync } from 'node:child_process';
import { existsSync, readlinkSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DEFAULT_URI, localSocket, usableUri } from '../../../src/providers/libvirt/uri.js';

const ROOT = resolve(import.meta.dirname, '../../..');

/** Environment variables that choose a libvirt daemon for boxfest or virsh. */
export const URI_VARS = ['LIBVIRT_DEFAULT_URI', 'VIRSH_DEFAULT_CONNECT_URI'] as const;

/** The socket of the private daemon of DIR (bind-mounted at /run/libvirt in its namespace). */
export const privateSocket = (dir: string): string => join(dir, 'run', 'libvirt', 'libvirt-sock');

/** `dev:ino` of a path (following links), undefined when it does not exist. */
export function fileId(path: string): string | undefined {
  try {
    const s = statSync(path);
    return `${s.dev}:${s.ino}`;
  } catch {
    return undefined;
  }
}

/**
 * Why a URI is not the private daemon of DIR, or undefined when it is: a local qemu:///system
 * whose socket (as boxfest picks it) is the very file the daemon of DIR listens on.
 */
export function notPrivate(
  uri: string,
  dir: string,
  id: (path: string) => string | undefined = fileId,
): string | undefined {
  const u = usableUri(uri);
  if (!u.ok) return `${uri}: ${u.problem}`;
  if (u.uri.transport !== 'unix') return `${uri}: a remote host, not the private daemon's unix socket`;
  const socket = localSocket(u.uri, (p) => id(p) !== undefined);
  const mine = id(privateSocket(dir));
  if (mine === undefined) return `the private daemon's socket ${privateSocket(dir)} does not exist`;
  if (id(socket) !== mine)
    return `${uri} leads to the socket ${socket}, not to the private daemon's ${privateSocket(dir)}`;
  return undefined;
}

/** Every problem with the URIs this environment would make boxfest or virsh use (none: []). */
export function foreignUris(
  env: NodeJS.ProcessEnv,
  dir: string,
  id: (path: string) => string | undefined = fileId,
): string[] {
  const out: string[] = [];
  for (const v of URI_VARS) {
    const uri = env[v];
    if (uri === undefined || uri === '') continue;
    const why = notPrivate(uri, dir, id);
    if (why !== undefined) out.push(`${v}=${why}`);
  }
  const def = notPrivate(DEFAULT_URI, dir, id);
  if (def !== undefined) out.push(`the default ${def}`);
  return out;
}

/**
 * The PID of the private libvirtd this environment names, once proven: it is the daemon of its
 * directory (scripts/libvirtd.sh prove), this process is inside its network and mount namespaces,
 * and no URI of the environment leads elsewhere. Throws with the reason otherwise.
 */
export function proveOwnDaemon(env: NodeJS.ProcessEnv = process.env): { pid: number; dir: string } {
  const pid = Number(env['BOXFEST_TEST_LIBVIRTD_PID']);
  const dir = env['BOXFEST_TEST_LIBVIRTD_DIR'] ?? '';
  if (!Number.isInteger(pid) || pid <= 0 || dir === '')
    throw new Error(
      'the libvirt tests run through `bash scripts/test-libvirt.sh`, which starts their daemon',
    );
  // Prints the PID recorded in DIR only when it is that daemon; exits 1 (nothing printed) otherwise.
  const proven = spawnSync('bash', [join(ROOT, 'scripts/libvirtd.sh'), 'prove', dir], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  }).stdout.trim();
  if (Number(proven) !== pid)
    throw new Error(`pid ${pid} is not the libvirtd of ${dir} (proven: ${proven || 'none'})`);
  for (const ns of ['net', 'mnt'])
    if (readlinkSync(`/proc/self/ns/${ns}`) !== readlinkSync(`/proc/${pid}/ns/${ns}`))
      throw new Error(
        `not inside the ${ns} namespace of libvirtd ${pid}: run through scripts/test-libvirt.sh`,
      );
  if (!existsSync(privateSocket(dir))) throw new Error(`libvirtd ${pid} has no socket ${privateSocket(dir)}`);
  const foreign = foreignUris(env, dir);
  if (foreign.length > 0)
    throw new Error(
      `refusing a libvirt daemon that is not this run's (pid ${pid}): ${foreign.join('; ')}; unset it (scripts/in-libvirtd.sh drops it)`,
    );
  return { pid, dir };
}
