// Remote libvirt hosts (qemu+ssh URIs, #16): the URI as the SSH host boxfest connects to
// (ssh/host-link.ts keeps the one connection per host), and as the jump its guests are reached
// through.
import type { Duplex } from 'node:stream';
import { userInfo } from 'node:os';
import { BoxfestError } from '../../errors.js';
import type { JumpHost } from '../../ssh/client.js';
import {
  ChannelRefused,
  closeHostLinks,
  expandHome,
  forwardFailed,
  forwardOut as forwardThrough,
  hostLink,
  linkName,
  type HostSpec,
  type RemoteHost,
} from '../../ssh/host-link.js';
import { sshHost, sshPort, usableUri, type LibvirtUri } from './uri.js';

export type { RemoteHost } from '../../ssh/host-link.js';

/** Who an ssh URI logs in as, where, with which key. */
export function hostSpecOf(u: LibvirtUri): HostSpec & { name: string } {
  const keyfile = u.params.get('keyfile');
  const spec: HostSpec = {
    user: u.user ?? userInfo().username,
    host: sshHost(u),
    port: sshPort(u),
    ...(keyfile === undefined ? {} : { keyfile: expandHome(keyfile) }),
  };
  return { ...spec, name: linkName(spec) };
}

/** The process's connection to the host of an ssh URI. */
export const remoteHost = (u: LibvirtUri): Promise<RemoteHost> => hostLink(hostSpecOf(u));

/** Ends every remote host connection (and the channels on them). */
export const closeRemoteHosts = closeHostLinks;

const parse = (uri: string | LibvirtUri): LibvirtUri => {
  if (typeof uri !== 'string') return uri;
  const p = usableUri(uri);
  if (!p.ok) throw new BoxfestError('CONFIG_INVALID', p.problem, { hint: p.hint });
  if (p.uri.transport !== 'ssh')
    throw new BoxfestError('CONFIG_INVALID', `\`${uri}\` is not a remote (qemu+ssh) host`, {
      hint: 'forwardOut is for guests of a remote libvirt host',
    });
  return p.uri;
};

/** A TCP connection to `ip:port` as the libvirt host sees it (a guest on its networks). */
export async function forwardOut(uri: string | LibvirtUri, ip: string, port: number): Promise<Duplex> {
  return forwardThrough(hostSpecOf(parse(uri)), ip, port).catch((e: unknown) => {
    throw e instanceof ChannelRefused ? forwardFailed(e) : e;
  });
}

/**
 * A remote host as the SSH server its guests are reached through (ssh_config's ProxyJump): who,
 * where, with which key, and the host key boxfest checked on this connection.
 */
export async function jumpHostOf(uri: string | LibvirtUri): Promise<JumpHost> {
  const u = parse(uri);
  const { host, port, user, keyfile } = hostSpecOf(u);
  const { hostKey } = await remoteHost(u);
  return { host, port, user, ...(keyfile === undefined ? {} : { keyfile }), hostKey };
}
