// boxfest's SSH connection to a host it works through (a remote libvirt host, #16): ONE ssh2
// connection per user@host:port per process, opened on first use and shared by everything that
// needs the host: the libvirt RPC channel (providers/libvirt/rpc/transport.ts) and TCP channels to
// its guests (ssh/jump.ts). One connection, not one per use, because each costs a TCP + SSH
// handshake and an sshd fork on the host (tens of ms), and libvirt's own client pays that per
// `virsh` call.
//
// It never keeps the process alive while idle: the TCP socket is unref'd whenever nobody holds
// the host (the RPC connection holds it while a call is pending, a guest channel while it is
// open), so a command ends when its work does, without closeHostLinks().
//
// Trust: the host key is checked against the user's ~/.ssh/known_hosts when that lists the host
// (plain or hashed entries, `[host]:port` for other ports than 22), else against the key boxfest
// pinned on first contact (homePaths().knownHosts); a different key is refused before any
// credential is used. Authentication: the host's keyfile (a libvirt URI's keyfile=), else the SSH
// agent, then the default keys; never a password (nothing could type it: boxfest runs unattended).
import { createHash, createHmac } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { connect as tcpConnect, type Socket } from 'node:net';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Duplex } from 'node:stream';
import type { AgentAuthMethod, AuthMethod, PublicKeyAuthMethod, ServerHostKeyAlgorithm } from 'ssh2';
import { BoxfestError, errorMessage } from '../errors.js';
import { hostKeyText, newClient, sshUtils, type Client, type ClientChannel } from './ssh2.js';
import { boxfestHome, homePaths } from '../state/paths.js';

/** The handshake (TCP, key exchange, authentication) must be done within this. */
const READY_TIMEOUT_MS = 20_000;

/** The user's keys tried after the agent, in OpenSSH's order (its defaults that ssh2 can use). */
const DEFAULT_KEYS = ['id_ed25519', 'id_ecdsa', 'id_rsa'];

/** One remote host's connection. */
export interface RemoteHost {
  /** `user@host:port`, the cache key and what messages name. */
  readonly name: string;
  readonly client: Client;
  /** Keeps the process alive until the returned release is called (idempotent). */
  hold(): () => void;
  readonly closed: boolean;
  /** The host key it presented and boxfest checked (or pinned), "ssh-ed25519 AAAA...". */
  readonly hostKey: string;
}

/**
 * An SSH server between boxfest and the guest: a remote libvirt host, on whose networks the
 * guest's address lives. Plain data (it is kept in the machine's state and written into its
 * ssh_config as a ProxyJump); this module keeps the one connection to it.
 */
export interface JumpHost {
  host: string;
  port: number;
  user: string;
  /** The key to log in with (a libvirt URI's `keyfile=`); unset: the SSH agent, else ~/.ssh's keys. */
  keyfile?: string;
  /** Its host key as boxfest checked it when the machine booted ("ssh-ed25519 AAAA..."). */
  hostKey?: string;
}

/** Who logs in where, as a connection's name (the cache key, and what messages say). */
export type HostSpec = Pick<JumpHost, 'host' | 'port' | 'user' | 'keyfile'>;

export const linkName = (h: HostSpec): string =>
  `${h.user}@${h.host.includes(':') ? `[${h.host}]` : h.host}:${h.port}`;

/** A channel the host could not open to a guest's address (nothing listens there yet, or no route). */
export class ChannelRefused extends Error {
  override name = 'ChannelRefused';
  constructor(
    message: string,
    /** What the host said, when it said anything. */
    readonly details?: string,
  ) {
    super(message);
  }
}

// ---------------------------------------------------------------------------------------------
// known_hosts

/** How a host is written in known_hosts: the bare name on port 22, else `[name]:port`. */
export const knownHostsName = (host: string, port: number): string =>
  (port === 22 ? host : `[${host}]:${port}`).toLowerCase();

/** One glob of a known_hosts host list (`*`, `?`), as OpenSSH's match_pattern. */
function globMatch(pattern: string, name: string): boolean {
  const re = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${re}$`).test(name);
}

/** Whether a known_hosts host field (`a,b,!c`, or one hashed `|1|salt|hash`) names `name`. */
export function hostFieldMatches(field: string, name: string): boolean {
  if (field.startsWith('|1|')) {
    const [, , salt = '', hash = ''] = field.split('|');
    const mac = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64');
    return mac === hash;
  }
  let matched = false;
  for (const p of field.toLowerCase().split(',')) {
    if (p.startsWith('!')) {
      if (globMatch(p.slice(1), name)) return false;
    } else if (globMatch(p, name)) matched = true;
  }
  return matched;
}

/** The keys a known_hosts text lists for `name` ("type base64"), and those it marks revoked. */
export function knownKeys(text: string, name: string): { keys: string[]; revoked: string[] } {
  const keys: string[] = [];
  const revoked: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    let fields = line.split(/\s+/);
    let marker: string | undefined;
    if (fields[0]?.startsWith('@')) {
      marker = fields[0];
      fields = fields.slice(1);
    }
    const [hosts, type, blob] = fields;
    if (hosts === undefined || type === undefined || blob === undefined) continue;
    if (!hostFieldMatches(hosts, name)) continue;
    // Certificate authorities are not supported: boxfest does not check host certificates.
    if (marker === '@cert-authority') continue;
    (marker === '@revoked' ? revoked : keys).push(`${type} ${blob}`);
  }
  return { keys, revoked };
}

/** `SHA256:...` as `ssh-keygen -l` prints it. */
export function fingerprint(key: string): string {
  const blob = Buffer.from(key.split(' ')[1] ?? '', 'base64');
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** Host key algorithms ssh2 may negotiate for a key of each type, best first. */
const ALGOS_OF_TYPE: Record<string, ServerHostKeyAlgorithm[]> = {
  'ssh-ed25519': ['ssh-ed25519'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
};

/** Every host key algorithm ssh2 may negotiate but those for keys of `type`. */
export function algorithmsOtherThan(type: string): ServerHostKeyAlgorithm[] {
  return Object.entries(ALGOS_OF_TYPE).flatMap(([t, algos]) => (t === type ? [] : algos));
}

/**
 * The host key algorithms to offer when keys are known: only those of the known keys' types, so
 * a host with several keys presents the one on file (OpenSSH does the same), not one of another
 * type that would look like a changed key.
 */
export function algorithmsFor(keys: string[]): ServerHostKeyAlgorithm[] | undefined {
  const out: ServerHostKeyAlgorithm[] = [];
  for (const k of keys) for (const a of ALGOS_OF_TYPE[k.split(' ')[0] ?? ''] ?? []) out.push(a);
  const unique = [...new Set(out)];
  return unique.length === 0 ? undefined : unique;
}

/** Where a host's key is checked, and what is on file there. */
interface Trust {
  /** The file checked against; on first contact, the file the key is pinned into. */
  file: string;
  keys: string[];
  revoked: string[];
  source: 'known_hosts' | 'pinned' | 'first contact';
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new BoxfestError('SSH_HOST_KNOWN_HOSTS', `cannot read the host keys in ${file}`, {
      details: errorMessage(e),
      hint: `make ${file} readable by this user`,
      cause: e,
    });
  }
}

/** The system-wide known_hosts OpenSSH reads after the user's. */
const GLOBAL_KNOWN_HOSTS = '/etc/ssh/ssh_known_hosts';

/**
 * The user's known_hosts (then the system's) when it lists a key for the host, else boxfest's
 * pins (which may not list it yet). Revoked keys count from every file: a host that only has a
 * `@revoked` line somewhere is still pinned on first contact, never trusted with any key.
 */
function trustFor(name: string): Trust {
  const revoked: string[] = [];
  for (const file of [join(homedir(), '.ssh', 'known_hosts'), GLOBAL_KNOWN_HOSTS]) {
    const k = knownKeys(readText(file) ?? '', name);
    revoked.push(...k.revoked);
    if (k.keys.length > 0) return { file, keys: k.keys, revoked, source: 'known_hosts' };
  }
  const pins = homePaths(boxfestHome()).knownHosts;
  const k = knownKeys(readText(pins) ?? '', name);
  return {
    file: pins,
    keys: k.keys,
    revoked: [...revoked, ...k.revoked],
    source: k.keys.length > 0 ? 'pinned' : 'first contact',
  };
}

function pin(file: string, name: string, key: string): void {
  try {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    // One line appended (O_APPEND): two processes pinning the same host at once write the same
    // key twice, which reads back the same.
    appendFileSync(file, `${name} ${key}\n`, { mode: 0o600 });
  } catch (e) {
    throw new BoxfestError('SSH_HOST_KNOWN_HOSTS', `cannot pin the SSH host key of ${name} in ${file}`, {
      details: errorMessage(e),
      hint: `make ${dirname(file)} writable by this user (BOXFEST_HOME moves it)`,
      cause: e,
    });
  }
}

function mismatch(h: { name: string; host: string; port: number }, t: Trust, seen: string): BoxfestError {
  const entry = knownHostsName(h.host, h.port);
  const revoked = t.revoked.includes(seen);
  return new BoxfestError(
    'SSH_HOST_HOSTKEY_MISMATCH',
    revoked
      ? `${h.name} presented a host key that ${t.file} marks as revoked`
      : `${h.name} presented another SSH host key than the one in ${t.file}`,
    {
      details: [
        `presented: ${seen.split(' ')[0]} ${fingerprint(seen)}`,
        ...t.keys.map((k) => `on file:   ${k.split(' ')[0]} ${fingerprint(k)}`),
      ].join('\n'),
      hint:
        `nothing was sent to it. If the host was reinstalled or its keys were changed on purpose, ` +
        `check the new key's fingerprint on the host (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub), ` +
        `then remove the old entry: ssh-keygen -R '${entry}' -f ${t.file}; otherwise something may be ` +
        `intercepting the connection`,
    },
  );
}

// ---------------------------------------------------------------------------------------------
// authentication

/** `~/x` as the user's home's `x`, as OpenSSH reads a key path. */
export const expandHome = (p: string): string => (p.startsWith('~/') ? join(homedir(), p.slice(2)) : p);

/** Why a key file cannot be offered, or undefined when it can. */
function keyProblem(key: Buffer): string | undefined {
  const parsed = sshUtils().parseKey(key);
  if (parsed instanceof Error) return parsed.message;
  return undefined;
}

/** What to offer the host, in order, and what was left out (for the auth failure's details). */
function authMethods(h: HostSpec, where: string): { methods: AuthMethod[]; tried: string[] } {
  const user = h.user;
  if (h.keyfile !== undefined) {
    const file = expandHome(h.keyfile);
    let key: Buffer;
    try {
      key = readFileSync(file);
    } catch (e) {
      throw new BoxfestError('SSH_HOST_KEY', `cannot read the SSH key ${file} (the keyfile for ${where})`, {
        details: errorMessage(e),
        hint: 'give keyfile= the path of a private key this user can read',
        cause: e,
      });
    }
    const problem = keyProblem(key);
    if (problem !== undefined)
      throw new BoxfestError('SSH_HOST_KEY', `the SSH key ${file} cannot be used for ${where}`, {
        details: problem,
        hint: 'boxfest never asks for a passphrase: load the key into ssh-agent and drop keyfile=, or give an unencrypted key',
      });
    return { methods: [{ type: 'publickey', username: user, key } as PublicKeyAuthMethod], tried: [file] };
  }
  const methods: AuthMethod[] = [];
  const tried: string[] = [];
  const agent = process.env['SSH_AUTH_SOCK'];
  if (agent !== undefined && agent !== '') {
    methods.push({ type: 'agent', username: user, agent } as AgentAuthMethod);
    tried.push(`the SSH agent (${agent})`);
  }
  for (const name of DEFAULT_KEYS) {
    const file = join(homedir(), '.ssh', name);
    if (!existsSync(file)) continue;
    let key: Buffer;
    try {
      key = readFileSync(file);
    } catch (e) {
      tried.push(`${file} (unreadable: ${errorMessage(e)})`);
      continue;
    }
    const problem = keyProblem(key);
    if (problem !== undefined) {
      // An encrypted key is skipped, not an error: the agent may hold it.
      tried.push(`${file} (skipped: ${problem})`);
      continue;
    }
    methods.push({ type: 'publickey', username: user, key } as PublicKeyAuthMethod);
    tried.push(file);
  }
  if (methods.length === 0)
    throw new BoxfestError('SSH_HOST_NO_KEY', `no SSH key to log in to ${where} with`, {
      details: tried.length > 0 ? `looked at: ${tried.join('; ')}` : undefined,
      hint: `add keyfile=PATH to the URI, start an SSH agent holding the key (SSH_AUTH_SOCK), or create ~/.ssh/id_ed25519 and authorize it for ${user} on the host; boxfest never uses a password`,
    });
  return { methods, tried };
}

// ---------------------------------------------------------------------------------------------
// the connection

class Host implements RemoteHost {
  private holds = 0;
  closed = false;

  constructor(
    readonly name: string,
    readonly client: Client,
    private readonly sock: Socket,
    readonly hostKey: string,
  ) {
    this.update();
  }

  private update(): void {
    if (this.holds > 0) this.sock.ref();
    else this.sock.unref();
  }

  hold(): () => void {
    this.holds++;
    this.update();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.holds--;
      this.update();
    };
  }
}

const hosts = new Map<string, Promise<Host>>();

function open(spec: HostSpec): Promise<Host> {
  const h = { ...spec, name: linkName(spec) };
  const entry = knownHostsName(h.host, h.port);
  return new Promise<Host>((resolve, reject) => {
    // Both may throw a BoxfestError (which rejects) before anything is dialled.
    const trust = trustFor(entry);
    const { methods, tried } = authMethods(h, h.name);
    const algorithms = algorithmsFor(trust.keys);
    const client = newClient();
    // Our own socket, not one ssh2 makes: only through it can the connection be unref'd.
    const sock = tcpConnect({ host: h.host, port: h.port });
    // The kernel's keepalive (it holds no timer in this process, unlike ssh2's): a host that
    // vanished is noticed by the socket instead of only at the next write's retransmit timeout.
    sock.setKeepAlive(true, 15_000);
    let seen = '';
    let refused = false;
    let settled = false;
    const fail = (e: BoxfestError) => {
      if (settled) return;
      settled = true;
      client.end();
      sock.destroy();
      reject(e);
    };
    client.once('ready', () => {
      if (settled) return;
      if (trust.source === 'first contact') {
        try {
          pin(trust.file, entry, seen);
        } catch (e) {
          fail(e as BoxfestError);
          return;
        }
      }
      settled = true;
      const host = new Host(h.name, client, sock, seen);
      client.on('error', () => undefined); // a later failure reaches the channels as their close
      client.once('close', () => {
        host.closed = true;
        // The next user connects anew (the host rebooted, the network dropped).
        // (The entry may be a newer attempt by now, which may fail: that is its callers' to see.)
        void hosts.get(h.name)?.then(
          (x) => x === host && hosts.delete(h.name),
          () => undefined,
        );
      });
      resolve(host);
    });
    client.once('error', (e: Error & { level?: string; code?: string }) => {
      if (refused) return fail(mismatch(h, trust, seen));
      // With the known key types only on offer, a host that has none of them cannot prove itself.
      if (e.level === 'handshake' && algorithms !== undefined && /host key/i.test(e.message))
        return fail(
          new BoxfestError(
            'SSH_HOST_HOSTKEY_MISMATCH',
            `${h.name} offers no host key of the types ${trust.file} lists for it`,
            {
              details: `${e.message}\non file: ${trust.keys.map((k) => `${k.split(' ')[0]} ${fingerprint(k)}`).join(', ')}`,
              hint: `if its keys were changed on purpose, remove the old entry: ssh-keygen -R '${entry}' -f ${trust.file}`,
            },
          ),
        );
      if (e.level === 'client-authentication')
        return fail(
          new BoxfestError('SSH_HOST_AUTH_FAILED', `${h.name} refused every key boxfest offered`, {
            details: `offered: ${tried.join('; ')}`,
            hint: `authorize one of them for ${h.user} on ${h.host} (~${h.user}/.ssh/authorized_keys), or name the right key with keyfile= in the URI`,
            cause: e,
          }),
        );
      fail(
        new BoxfestError('SSH_HOST_UNREACHABLE', `cannot reach the SSH server of ${h.name}`, {
          details: `${e.code !== undefined ? `${e.code}: ` : ''}${e.message}`,
          hint: `check that ${h.host} is up and sshd listens on port ${h.port} (ssh -p ${h.port} ${h.user}@${h.host} true)`,
          cause: e,
        }),
      );
    });
    client.connect({
      sock,
      username: h.user,
      readyTimeout: READY_TIMEOUT_MS,
      // No SSH keepalive: ssh2 runs it on a setInterval that cannot be unref'd, which would keep
      // every command alive. libvirtd's own keepalive PINGs travel over the RPC channel instead.
      keepaliveInterval: 0,
      authHandler: methods,
      ...(algorithms === undefined ? {} : { algorithms: { serverHostKey: algorithms } }),
      hostVerifier: (blob: Buffer) => {
        seen = hostKeyText(blob);
        if (trust.revoked.includes(seen) || (trust.keys.length > 0 && !trust.keys.includes(seen))) {
          refused = true;
          return false;
        }
        return true;
      },
    });
  });
}

/** The process's connection to a host (opened once; a failed open is retried by the next caller). */
export function hostLink(spec: HostSpec): Promise<RemoteHost> {
  const name = linkName(spec);
  let p = hosts.get(name);
  if (p === undefined) {
    p = open(spec);
    hosts.set(name, p);
    p.catch(() => hosts.get(name) === p && hosts.delete(name));
  }
  return p.then((h) => {
    if (!h.closed) return h;
    if (hosts.get(name) === p) hosts.delete(name);
    return hostLink(spec);
  });
}

/** Ends every host connection (and the channels on them). */
export function closeHostLinks(): void {
  for (const p of hosts.values())
    p.then(
      (h) => h.client.end(),
      () => undefined,
    );
  hosts.clear();
}

/**
 * A TCP connection to `ip:port` as seen from the host (a guest on its networks), tunnelled
 * through the host's one connection (a `direct-tcpip` channel). The channel keeps the process
 * alive while it is open, as a TCP socket to the guest would. A channel the host refuses rejects
 * with ChannelRefused (a booting guest's port is waited for); the host failing, with a BoxfestError.
 */
export async function forwardOut(spec: HostSpec, ip: string, port: number): Promise<Duplex> {
  const host = await hostLink(spec);
  const release = host.hold();
  return new Promise<Duplex>((resolve, reject) => {
    try {
      host.client.forwardOut('127.0.0.1', 0, ip, port, (err: Error | undefined, ch: ClientChannel) => {
        if (err) {
          release();
          reject(new ChannelRefused(`${host.name} cannot open a connection to ${ip}:${port}`, err.message));
          return;
        }
        // A relayed TCP connection is done once either side sent its EOF: released then, not at
        // the channel's CLOSE, which never comes while the far end is silent (a guest that
        // powered off holds its half open), and closed from here when our side ended.
        ch.once('close', release);
        ch.once('end', release);
        ch.once('finish', () => {
          release();
          ch.destroy();
        });
        resolve(ch);
      });
    } catch (e) {
      // ssh2 throws synchronously when the connection went away between the lookup and now.
      release();
      reject(
        new BoxfestError('SSH_HOST_UNREACHABLE', `the SSH connection to ${host.name} is gone`, {
          details: errorMessage(e),
          hint: 'run the command again',
          cause: e,
        }),
      );
    }
  });
}

/** A refused channel as the error of a command that needed it (not a boot-time wait). */
export function forwardFailed(e: ChannelRefused): BoxfestError {
  return new BoxfestError('SSH_HOST_FORWARD_FAILED', e.message, {
    details: e.details,
    hint: 'is the machine running (`boxfest status`), and does the host reach that address? Its sshd must allow TCP forwarding (AllowTcpForwarding yes)',
    cause: e,
  });
}
