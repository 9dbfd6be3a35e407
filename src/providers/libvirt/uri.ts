// libvirt connection URIs (https://libvirt.org/uri.html): driver[+transport]://[user@][host][:port]/path[?params].
// Pure and dependency-free, so config/ can check a Boxfile's `libvirt.uri` at validate time
// without loading the provider. What boxfest can use is decided here, once: a local
// qemu:///system (unix socket, optionally `?socket=`); remote hosts over ssh come with #16.

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

/**
 * The URI when boxfest can use it, else why not (config/ reports that at the Boxfile's position).
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
  if (u.transport === 'ssh' || u.transport === 'libssh' || u.transport === 'libssh2')
    return bad(
      `\`${text}\` is a remote host: boxfest drives local libvirt daemons only, for now`,
      'run boxfest on the libvirt host with qemu:///system (remote hosts over SSH are planned)',
    );
  if (u.transport !== 'unix')
    return bad(
      `\`${text}\` uses the ${u.transport} transport, which boxfest does not speak`,
      'use a local qemu:///system',
    );
  if (u.host !== undefined)
    return bad(`\`${text}\` names a host with the unix transport`, 'a unix socket is local: drop the host');
  if (u.path === '/session')
    return bad(
      `\`${text}\` is a session daemon, which has no virtual networks for the management network`,
      'use qemu:///system (as root, or in the `libvirt` group)',
    );
  if (u.path !== '/system')
    return bad(`\`${text}\` names the path ${u.path || '(none)'}`, 'use qemu:///system');
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
