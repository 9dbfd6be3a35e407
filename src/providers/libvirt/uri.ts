// libvirt connection URIs (https://libvirt.org/uri.html): driver[+transport]://[user@][host][:port]/path[?params].
// Pure and dependency-free, so config/ can check a Boxfile's `libvirt.uri` at validate time
// without loading the provider. What boxfest can use is decided here, once: a local
// qemu:///system (unix socket, optionally `?socket=`), or a remote host's over SSH
// (qemu+ssh://[USER@]HOST[:PORT]/system[?keyfile=PATH&socket=PATH], #16), which boxfest's own SSH
// client (remote-host.ts) reaches: none of libvirt's client-side ssh parameters apply.

export const DEFAULT_URI = 'qemu:///system';

export interface LibvirtUri {
  /** As written. */
  text: string;
  /** `qemu`, `xen`, `test`, ... */
  driver: string;
  /** `unix` when none is written and there is no host; `tls` when a host is written without one. */
  transport: string;
  user?: string;
  host?: string;
  port?: number;
  /** `/system` or `/session`. */
  path: string;
  params: Map<string, string>;
  /** What the daemon is asked to open: the URI without transport, host and client-side params. */
  driverUri: string;
}

export type Parsed = { ok: true; uri: LibvirtUri } | { ok: false; problem: string; hint: string };

const bad = (problem: string, hint: string): Parsed => ({ ok: false, problem, hint });

/** Parses a URI; says why it is not one libvirt accepts. */
export function parseUri(text: string): Parsed {
  const m = /^([a-z][a-z0-9]*)(?:\+([a-z0-9]+))?:\/\/([^/?#]*)(\/[^?#]*)?(?:\?([^#]*))?$/i.exec(text);
  if (m === null)
    return bad(
      `\`${text}\` is not a libvirt URI`,
      'write it as DRIVER[+TRANSPORT]://[USER@][HOST]/PATH, e.g. qemu:///system',
    );
  const [, driver = '', written, authority = '', path = '', query = ''] = m;
  const at = authority.lastIndexOf('@');
  const user = at >= 0 ? decodeURIComponent(authority.slice(0, at)) : undefined;
  const hostPort = at >= 0 ? authority.slice(at + 1) : authority;
  const hp = /^(\[[^\]]+\]|[^:]*)(?::(\d+))?$/.exec(hostPort);
  if (hp === null) return bad(`\`${text}\` has an unreadable host`, 'write it as HOST or HOST:PORT');
  const host = hp[1] === '' ? undefined : hp[1];
  const params = new Map<string, string>();
  for (const kv of query.split('&').filter((s) => s !== '')) {
    const eq = kv.indexOf('=');
    params.set(
      decodeURIComponent(eq < 0 ? kv : kv.slice(0, eq)),
      decodeURIComponent(eq < 0 ? '' : kv.slice(eq + 1)),
    );
  }
  const transport = written?.toLowerCase() ?? (host === undefined ? 'unix' : 'tls');
  return {
    ok: true,
    uri: {
      text,
      driver: driver.toLowerCase(),
      transport,
      ...(user === undefined ? {} : { user }),
      ...(host === undefined ? {} : { host }),
      ...(hp[2] === undefined ? {} : { port: Number(hp[2]) }),
      path,
      params,
      driverUri: `${driver.toLowerCase()}://${path}`,
    },
  };
}

/** Query parameters a local URI may carry (the rest configure transports boxfest does not use). */
const LOCAL_PARAMS = ['socket'];
/** ... and a remote (ssh) one. */
const SSH_PARAMS = ['keyfile', 'socket'];

/**
 * The spellings of the ssh transport. libvirt's `libssh`/`libssh2` differ from `ssh` only in which
 * SSH implementation *libvirt's* client links; boxfest uses its own (ssh2) for all three, so they
 * mean the same here. Their own parameters (`known_hosts`, `sshauth`, ...) are refused like any
 * other unknown one.
 */
const SSH_TRANSPORTS = ['ssh', 'libssh', 'libssh2'];

/**
 * Why a libvirt client-side ssh parameter is refused, for the ones a vagrant-libvirt or virsh
 * URI commonly carries; the rest get the generic refusal.
 */
const SSH_PARAM_REFUSALS: Record<string, string> = {
  no_verify:
    'remove it: boxfest checks the host key itself (against ~/.ssh/known_hosts, else the key pinned on first contact)',
  known_hosts:
    'remove it: boxfest reads ~/.ssh/known_hosts, and pins a host not listed there on first contact',
  known_hosts_verify:
    'remove it: boxfest reads ~/.ssh/known_hosts, and pins a host not listed there on first contact',
  sshauth:
    'remove it: boxfest offers keyfile=, else the SSH agent, else ~/.ssh/id_{ed25519,ecdsa,rsa}; never a password',
  command: 'remove it: boxfest speaks SSH itself and runs no ssh command',
  netcat: 'remove it: boxfest opens the daemon socket over SSH itself; name it with socket=PATH',
  proxy: 'remove it: boxfest opens the daemon socket over SSH itself; name it with socket=PATH',
  mode: 'remove it, and name the remote daemon socket with socket=PATH if it is not /run/libvirt/libvirt-sock',
  no_tty: 'remove it: boxfest never asks for a password or passphrase',
};

/** The socket a remote daemon is asked for when `socket=` names none (see remoteSocket). */
export const REMOTE_DEFAULT_SOCKET = '/run/libvirt/libvirt-sock';

/** Control characters: never in a host, user or path boxfest hands to SSH or a remote shell. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * The URI when boxfest can use it, else why not (config/ reports that at the Boxfile's position).
 * An ssh URI comes back with `transport: 'ssh'` whichever spelling was written.
 */
export function usableUri(text: string): Parsed {
  const p = parseUri(text);
  if (!p.ok) return p;
  const u = p.uri;
  if (u.driver !== 'qemu')
    return bad(
      `\`${text}\` names the ${u.driver} driver: boxfest makes QEMU domains`,
      'use a qemu:// URI, e.g. qemu:///system',
    );
  if (SSH_TRANSPORTS.includes(u.transport)) return usableSsh(text, { ...u, transport: 'ssh' });
  if (u.transport !== 'unix')
    return bad(
      `\`${text}\` uses the ${u.transport} transport, which boxfest does not speak`,
      'use a local qemu:///system',
    );
  if (u.host !== undefined)
    return bad(`\`${text}\` names a host with the unix transport`, 'a unix socket is local: drop the host');
  const path = systemPath(text, u);
  if (path !== undefined) return path;
  for (const k of u.params.keys())
    if (!LOCAL_PARAMS.includes(k))
      return bad(
        `\`${text}\` has the parameter \`${k}\`, which boxfest does not use`,
        'remove it; only `socket=` is read',
      );
  const socket = u.params.get('socket');
  if (socket !== undefined && !socket.startsWith('/'))
    return bad(
      `\`${text}\`: socket=${socket} is not an absolute path`,
      "give the daemon socket's absolute path",
    );
  return p;
}

/** Only the system daemon has the virtual networks boxfest needs: why another path is refused. */
function systemPath(text: string, u: LibvirtUri): Parsed | undefined {
  if (u.path === '/session')
    return bad(
      `\`${text}\` is a session daemon, which has no virtual networks for the management network`,
      'use qemu:///system (as root, or in the `libvirt` group)',
    );
  if (u.path !== '/system')
    return bad(
      `\`${text}\` names the path ${u.path || '(none)'}`,
      u.transport === 'ssh' ? 'use qemu+ssh://HOST/system' : 'use qemu:///system',
    );
  return undefined;
}

function usableSsh(text: string, u: LibvirtUri): Parsed {
  if (u.host === undefined || u.host === '[]')
    return bad(
      `\`${text}\` is an ssh URI without a host`,
      'write it as qemu+ssh://[USER@]HOST[:PORT]/system',
    );
  if (CONTROL.test(u.host) || (u.user !== undefined && (u.user === '' || CONTROL.test(u.user))))
    return bad(
      `\`${text}\` has an unusable host or user`,
      'write it as qemu+ssh://[USER@]HOST[:PORT]/system',
    );
  if (u.port !== undefined && (u.port < 1 || u.port > 65535))
    return bad(
      `\`${text}\`: port ${u.port} is not a TCP port`,
      'give the SSH port, 1-65535 (22 when left out)',
    );
  const path = systemPath(text, u);
  if (path !== undefined) return path;
  for (const k of u.params.keys())
    if (!SSH_PARAMS.includes(k))
      return bad(
        `\`${text}\` has the parameter \`${k}\`, which boxfest does not use`,
        SSH_PARAM_REFUSALS[k] ?? 'remove it; only `keyfile=` and `socket=` are read',
      );
  const keyfile = u.params.get('keyfile');
  if (keyfile !== undefined && !(keyfile.startsWith('/') || keyfile.startsWith('~/')))
    return bad(
      `\`${text}\`: keyfile=${keyfile} is not an absolute path`,
      'give the private key as an absolute path, or as ~/PATH in your home',
    );
  const socket = u.params.get('socket');
  if (socket !== undefined && (!socket.startsWith('/') || CONTROL.test(socket)))
    return bad(
      `\`${text}\`: socket=${socket} is not an absolute path`,
      "give the absolute path of the daemon's socket on the remote host",
    );
  return { ok: true, uri: u };
}

/**
 * The daemon socket on a remote host: `?socket=`, else the monolithic libvirtd's. libvirt's own
 * client (virt-ssh-helper) would look on the remote host for the modular daemon's virtqemud-sock
 * first; boxfest cannot check a remote path without a round trip, so it asks for libvirt-sock and,
 * when the host has no such socket, lets virt-ssh-helper choose (rpc/transport.ts). Name the
 * socket with `socket=` to skip that.
 */
export const remoteSocket = (u: LibvirtUri): string => u.params.get('socket') ?? REMOTE_DEFAULT_SOCKET;

/** The host to dial: an IPv6 literal without its URI brackets. */
export const sshHost = (u: LibvirtUri): string => (u.host ?? '').replace(/^\[(.*)\]$/, '$1');

/** The SSH port: the URI's, else 22. */
export const sshPort = (u: LibvirtUri): number => u.port ?? 22;

/**
 * The unix socket of a local system daemon, as libvirt's own client picks it: `?socket=`, else
 * the modular QEMU daemon's socket when it exists (Fedora, RHEL 9, newer Debian/Ubuntu), else the
 * monolithic libvirtd's (Debian 12).
 */
export function localSocket(u: LibvirtUri, exists: (p: string) => boolean): string {
  const socket = u.params.get('socket');
  if (socket !== undefined) return socket;
  const modular = '/run/libvirt/virtqemud-sock';
  return exists(modular) ? modular : '/run/libvirt/libvirt-sock';
}
