// The SSH layer on ssh2: every connection boxfest makes to a guest goes through here, and every
// failure becomes a BoxfestError with a code and a hint.
import { createConnection } from 'node:net';
import type { Duplex } from 'node:stream';
import {
  hostKeyText,
  newClient,
  type Client,
  type ClientChannel,
  type ConnectConfig,
  type PublicKeyAuthMethod,
} from './ssh2.js';
import { BoxfestError, errorMessage } from '../errors.js';
import { sleep } from '../state/process.js';
import { algorithmsOtherThan, ChannelRefused, forwardFailed, type JumpHost } from './host-link.js';
import { openThrough } from './jump.js';

export { hostKeyText } from './ssh2.js';
export type { JumpHost } from './host-link.js';

/** Where a guest's SSH server answers: a forward on this host, or the guest's own address. */
export interface SshEndpoint {
  host: string;
  port: number;
  /** Reached through this SSH server (its `host`/`port` are then as that server sees them). */
  jump?: JumpHost;
}

export interface SshTarget extends SshEndpoint {
  user: string;
  /** Private keys (OpenSSH/PEM text) to offer, in order. */
  keys: string[];
  /** Pinned host key ("ssh-ed25519 AAAA..."); when unset, any key is accepted and reported. */
  hostKey: string | undefined;
  /** The local agent's socket to forward into the guest (`ssh.forward_agent`). */
  forwardAgent?: string;
  /** A second key also accepted: one boxfest made and was installing when it was interrupted. */
  alsoAccept?: string | undefined;
}

export interface Connected {
  client: Client;
  /** The host key the server presented, OpenSSH public-key form. */
  hostKey: string;
  /** Which of the target's keys logged in (its index in `keys`). */
  loginKey: number;
}

/** ssh2's error when the server took none of the keys offered (its host key was accepted first). */
export const loginRefused = (e: unknown): boolean =>
  e instanceof Error && (e as { level?: unknown }).level === 'client-authentication';

/** The server presented another host key than the pinned one; the message is the key it presented. */
export class HostKeyMismatch extends Error {}

/**
 * `sock`: an open connection to the server to use (waitForSsh's probe), instead of a new one.
 * A target behind a jump host is reached over a channel of boxfest's connection to that host.
 */
export async function connect(t: SshTarget, readyTimeoutMs = 10_000, sock?: Duplex): Promise<Connected> {
  if (sock !== undefined) return connectOver(t, readyTimeoutMs, sock);
  for (let attempt = 0; ; attempt++) {
    try {
      return await connectFresh(t, readyTimeoutMs);
    } catch (e) {
      if (!lostBeforeGreeting(e)) throw e;
      const pause = GREETING_RETRY_PAUSES_MS[attempt];
      if (pause === undefined) throw notGreeted(t, e);
      await sleep(pause);
    }
  }
}

/**
 * A new connection the server closed before it greeted is tried again, after these pauses: a
 * running SSH server does that when it is out of slots for connections still logging in (OpenSSH's
 * MaxStartups drops some at random; dropbear allows 5 per client address, and behind QEMU's NAT
 * every connection comes from one), or while it restarts. Seen once in the integration run: a
 * `boxfest ssh` to a running tiny box between two that worked.
 */
const GREETING_RETRY_PAUSES_MS = [300, 1_000];

/** ssh2's error for a connection that ended before the server's SSH banner. */
const lostBeforeGreeting = (e: unknown): e is Error =>
  e instanceof Error && e.message === 'Connection lost before handshake';

const notGreeted = (t: SshTarget, e: Error): BoxfestError =>
  new BoxfestError(
    'SSH_NOT_GREETED',
    `the SSH server at ${t.host}:${t.port} closed ${GREETING_RETRY_PAUSES_MS.length + 1} connections in a row before greeting`,
    {
      hint: 'it may be restarting or out of connection slots: run the command again; `boxfest status` shows whether the machine runs',
      cause: e,
    },
  );

async function connectFresh(t: SshTarget, readyTimeoutMs: number): Promise<Connected> {
  if (t.jump === undefined) return connectOver(t, readyTimeoutMs, undefined);
  const jump = t.jump;
  const channel = await openThrough(jump, t.host, t.port, readyTimeoutMs).catch((e: unknown) => {
    throw e instanceof ChannelRefused ? forwardFailed(e) : e;
  });
  return connectOver(t, readyTimeoutMs, channel);
}

function connectOver(t: SshTarget, readyTimeoutMs: number, sock: Duplex | undefined): Promise<Connected> {
  return new Promise((resolve, reject) => {
    const client = newClient();
    let seen = '';
    let mismatch = false;
    let offered = -1;
    const config: ConnectConfig = {
      host: t.host,
      port: t.port,
      ...(sock === undefined ? {} : { sock }),
      username: t.user,
      readyTimeout: readyTimeoutMs,
      keepaliveInterval: 15_000,
      ...(t.forwardAgent === undefined ? {} : { agent: t.forwardAgent, agentForward: true }),
      // ssh2's own list handler, which also notes the key offered last: the one that logged in.
      authHandler: (): PublicKeyAuthMethod | false => {
        const key = t.keys[offered + 1];
        if (key === undefined) return false;
        offered++;
        return { type: 'publickey', username: t.user, key };
      },
      hostVerifier: (key: Buffer) => {
        seen = hostKeyText(key);
        if (t.hostKey !== undefined && t.hostKey !== seen && t.alsoAccept !== seen) {
          mismatch = true;
          return false;
        }
        return true;
      },
    };
    client.once('ready', () => resolve({ client, hostKey: seen, loginKey: offered }));
    // A stream handed in (a probe's socket, a jump host's channel) is ours to end with the client.
    if (sock !== undefined) client.once('close', () => sock.destroy());
    client.once('error', (e) => {
      client.end();
      reject(mismatch ? new HostKeyMismatch(seen) : e);
    });
    client.connect(config);
  });
}

/**
 * The open connection, once something on host:port sends an SSH banner; undefined otherwise.
 * QEMU's user networking accepts TCP connections before the guest listens, so an open port alone
 * means nothing. The bytes read are put back, so the SSH client goes on over the same
 * connection: one connection (one fork of the guest's sshd) per login, not two.
 */
export async function probeBanner(at: SshEndpoint, timeoutMs: number): Promise<Duplex | undefined> {
  const r = await probe(at, timeoutMs);
  return 'sock' in r ? r.sock : undefined;
}

/**
 * What a probe found: the SSH connection; `refused` (taken, then closed or reset before a byte
 * came: a port forwarder such as QEMU's user networking whose guest answered that nothing listens
 * yet); `silent` (no answer within the timeout: the guest is not reachable yet, or its sshd has
 * taken the connection and not yet greeted); `other` (not SSH, or no connection at all).
 */
export type ProbeResult = { sock: Duplex } | { why: 'refused' | 'silent' | 'other' };

/**
 * Behind a jump host the probe is a channel of the connection to it: a channel the host could not
 * open (nothing listens at the guest's address yet) is `other`, as a refused TCP connect is; the
 * jump host itself failing (unreachable, key changed) is a typed error at once, not a wait.
 */
export async function probe(at: SshEndpoint, timeoutMs: number, signal?: AbortSignal): Promise<ProbeResult> {
  if (at.jump === undefined) {
    const sock = createConnection({ host: at.host, port: at.port });
    let connected = false;
    sock.once('connect', () => (connected = true));
    return readBanner(sock, () => connected, timeoutMs, signal);
  }
  let channel: Duplex;
  try {
    channel = await openThrough(at.jump, at.host, at.port, timeoutMs);
  } catch (e) {
    if (e instanceof BoxfestError) throw e;
    return { why: 'other' };
  }
  return readBanner(channel, () => true, timeoutMs, signal);
}

/**
 * Reads the first bytes of a new connection: an SSH banner, or why not (see ProbeResult). Aborted,
 * it hangs up at once (`other`): another probe won, and this one must not keep a server forking.
 */
function readBanner(
  sock: Duplex,
  connected: () => boolean,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const got: Buffer[] = [];
    let settled = false;
    let reset = false;
    const done = (why: 'banner' | 'refused' | 'silent' | 'other') => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      sock.removeListener('data', onData);
      if (why !== 'banner') {
        sock.destroy();
        resolve({ why: why === 'refused' && (got.length > 0 || !(connected() || reset)) ? 'other' : why });
        return;
      }
      sock.pause();
      sock.unshift(Buffer.concat(got));
      // Only the probe's own listeners: a jump host's channel carries the host link's too.
      sock.removeListener('error', onError);
      sock.removeListener('close', onClose);
      resolve({ sock });
    };
    const onData = (d: Buffer) => {
      got.push(d);
      const text = Buffer.concat(got).toString('latin1');
      if (text.length >= 4) done(text.startsWith('SSH-') ? 'banner' : 'other');
    };
    const timer = setTimeout(() => done('silent'), timeoutMs);
    sock.on('data', onData);
    // A reset means something took the connection (it may come before `connect` is seen).
    function onError(e: NodeJS.ErrnoException): void {
      if (e.code === 'ECONNRESET') reset = true;
      done('refused');
    }
    function onClose(): void {
      done('refused');
    }
    function onAbort(): void {
      done('other');
    }
    sock.on('error', onError);
    sock.on('close', onClose);
    if (signal?.aborted === true) onAbort();
    else signal?.addEventListener('abort', onAbort);
  });
}

/** A probe's wait for the banner before the guest's network has answered. */
const SHORT_PROBE_MS = 500;
/**
 * ... and after it has: a connection that is taken and silent now means an sshd is starting for
 * it. OpenSSH forks and re-executes itself per connection, which takes seconds on a busy TCG
 * guest; giving up after 500 ms made the booting guest start another sshd every few hundred ms.
 */
const LONG_PROBE_MS = 10_000;

/**
 * How long a probe waits for the banner. Short until the guest has answered (a refusal: its
 * network is up), then long. Without any refusal it grows with the time since launch (an eighth
 * of it): a guest whose sshd was already listening when its network came up is never seen to
 * refuse, and 500 ms probes then hung up on every sshd still forking for them (a Debian guest
 * while another test file ran on the 2 cores: no banner for 600 s after the guest was up).
 */
export function probeWait(answered: boolean, sinceLaunchMs: number): number {
  if (answered) return LONG_PROBE_MS;
  return Math.min(LONG_PROBE_MS, Math.max(SHORT_PROBE_MS, Math.round(sinceLaunchMs / 8)));
}

/**
 * Until the guest has answered, probes overlap: a new one every wait/3 (at least 100 ms apart),
 * at most three at once, each still waiting its full time for a banner. One at a time, the boot
 * was seen a whole probe late: a SYN sent before the guest's network is up is lost (QEMU's NAT
 * sends it again only seconds later), so the next chance came with the next probe, up to 0.7 s
 * after the guest's sshd listened (the tiny box's boot-to-login: 4.14 s against 3.66 s). Three
 * at most: each one the server accepts costs it a fork, and the losers hang up at once.
 */
const OVERLAPPING_PROBES = 3;
const MIN_PROBE_GAP_MS = 100;

/**
 * The first banner of overlapping probes, or the first refusal (the guest's network is up: the
 * caller goes on one probe at a time), or, when every probe failed by `until`, why the last
 * did. `each` reports every failed probe; `waitNow` says how long a probe launched now waits.
 */
function overlappingProbe(
  at: SshEndpoint,
  waitNow: () => number,
  until: number,
  each: (why: 'silent' | 'other') => void,
  stop?: AbortSignal,
): Promise<ProbeResult> {
  const winner = new AbortController();
  return new Promise<ProbeResult>((resolve, reject) => {
    let pending = 0;
    let last: ProbeResult = { why: 'silent' };
    let timer: NodeJS.Timeout | undefined;
    const settle = (r: ProbeResult | Error) => {
      if (winner.signal.aborted) return;
      clearTimeout(timer);
      winner.abort();
      if (r instanceof Error) reject(r);
      else resolve(r);
    };
    // Stopped from outside: what it has is no answer.
    stop?.addEventListener('abort', () => settle({ why: 'silent' }), { once: true });
    const launch = () => {
      const now = Date.now();
      if (winner.signal.aborted) return;
      if (now >= until) return pending === 0 ? settle(last) : undefined;
      const wait = Math.min(waitNow(), Math.max(100, until - now));
      pending++;
      probe(at, wait, winner.signal).then(
        (r) => {
          pending--;
          if (winner.signal.aborted) return 'sock' in r ? r.sock.destroy() : undefined;
          if ('sock' in r || r.why === 'refused') return settle(r);
          last = r;
          each(r.why);
          if (pending === 0 && Date.now() >= until) settle(r);
          // A slot came free: the next probe need not wait for the gap.
          else if (pending < OVERLAPPING_PROBES && timer === undefined) launch();
        },
        (e: unknown) => settle(e instanceof Error ? e : new Error(String(e))),
      );
      timer = undefined;
      if (pending < OVERLAPPING_PROBES)
        timer = setTimeout(launch, Math.max(MIN_PROBE_GAP_MS, Math.round(wait / OVERLAPPING_PROBES)));
    };
    launch();
  });
}

/** A probe of the network probe's port: once the guest's network is up, its reset comes in one round trip. */
const NETWORK_PROBE_MS = 300;
/** The SSH probe kept open beside them, for a guest that drops what reaches that port. */
const KEPT_PROBE_MS = 20_000;

/**
 * Until the booting guest's network is up, seen at `net` (a host port forwarded to a guest port
 * nothing listens on: the guest resets it once its network is up): probes there overlap and are
 * given up freely, beside one SSH probe kept open. Why: a probe given up before the guest's
 * network is up leaves its SYN with QEMU's NAT, which resends it for up to 75 s and completes it
 * when something listens, after the probe is long gone. Aimed at the SSH port, each became a
 * server child the guest forked for nothing just as its SSH server started (a Debian guest, with
 * probes overlapping on the SSH port: 7 to 14 per boot, and once OpenSSH's MaxStartups dropped
 * one, while cloud-init's last stage ran); aimed at `net`, it is reset. After this, SSH probes
 * go one at a time and wait long: they reach a guest whose network is up, so none is given up.
 * `up`: the network answered (or the SSH probe was refused: the same news); the SSH probe's
 * banner, if it came first; `timeout` at `until`.
 */
async function untilNetworkUp(
  t: SshEndpoint,
  net: SshEndpoint,
  until: number,
): Promise<{ sock: Duplex } | 'up' | 'timeout'> {
  const done = new AbortController();
  const sshProbe = async (): Promise<{ sock: Duplex } | 'up' | 'timeout'> => {
    while (!done.signal.aborted && Date.now() < until) {
      const r = await probe(t, Math.min(KEPT_PROBE_MS, Math.max(100, until - Date.now())), done.signal);
      if ('sock' in r) return r;
      if (r.why === 'refused') return 'up';
      if (r.why === 'other' && !done.signal.aborted) await sleep(250);
    }
    return 'timeout';
  };
  const network = async (): Promise<'up' | 'timeout'> => {
    const r = await overlappingProbe(
      net,
      () => NETWORK_PROBE_MS,
      until,
      () => undefined,
      done.signal,
    );
    if ('sock' in r) r.sock.destroy();
    return 'sock' in r || r.why === 'refused' ? 'up' : 'timeout';
  };
  const ssh = sshProbe();
  const first = await Promise.race([ssh, network()]);
  done.abort();
  // The SSH probe may have its banner at the moment the network answered: not thrown away.
  const late = await ssh;
  if (typeof late === 'object') return late;
  return first === 'timeout' ? late : 'up';
}

/** Between probes the guest refused (its network is up, its SSH server not yet). */
const REFUSED_GAP_MS = 50;

/** What the last failed probe saw, for the timeout's message. */
const PROBE_WHY: Record<'refused' | 'silent' | 'other', string> = {
  refused: 'the port answered, nothing listened behind it yet',
  silent: 'no SSH banner yet',
  other: 'something other than an SSH server answered',
};

export interface WaitOptions {
  machine: string;
  timeoutMs: number;
  /** Called on each failed attempt (progress display). */
  onAttempt?: (attempt: number, why: string) => void;
  /** When the clock started (ms since the epoch): the guest's launch. Default: now. */
  since?: number;
  /**
   * A host port forwarded to a guest port nothing listens on (the QEMU provider's, for a guest it
   * has just launched): told by it when the guest's network is up, the wait sends no SSH probe
   * that the guest could complete after it was given up (see untilNetworkUp).
   */
  networkProbe?: SshEndpoint;
  /**
   * The server listens already (a guest restored from a state saved with it listening): a probe
   * waits long for the banner from the first, as after a refusal. With 500 ms probes, twenty
   * restored guests on 2 cores each got five probes they were too busy to greet in time, every
   * one a server child forked for nothing.
   */
  listening?: boolean;
}

/**
 * Waits for the guest's SSH server, then authenticates, retrying with backoff until the timeout.
 * A host key that differs from the pinned one fails at once: that is never a boot-time race.
 */
export async function waitForSsh(t: SshTarget, o: WaitOptions): Promise<Connected> {
  const deadline = (o.since ?? Date.now()) + o.timeoutMs;
  let attempt = 0;
  let last = 'no SSH banner yet';
  let authFailures = 0;
  let answered = o.listening === true;
  const started = o.since ?? Date.now();
  const waitNow = () => probeWait(answered, Date.now() - started);
  let found: ProbeResult | undefined;
  if (!answered && o.networkProbe !== undefined) {
    const r = await untilNetworkUp(t, o.networkProbe, deadline);
    answered = r !== 'timeout';
    if (typeof r === 'object') found = r;
  }
  while (Date.now() < deadline) {
    attempt++;
    const r =
      found ??
      (answered
        ? await probe(t, Math.min(waitNow(), Math.max(100, deadline - Date.now())))
        : await overlappingProbe(t, waitNow, deadline, (why) => o.onAttempt?.(attempt++, PROBE_WHY[why])));
    found = undefined;
    if ('why' in r && r.why === 'refused') answered = true;
    if ('why' in r) last = PROBE_WHY[r.why];
    if ('sock' in r) {
      try {
        return await connect(t, Math.max(1_000, Math.min(15_000, deadline - Date.now())), r.sock);
      } catch (e) {
        if (e instanceof HostKeyMismatch) throw hostKeyMismatch(o.machine, t, e.message);
        last = errorMessage(e);
        if (/authentication methods failed/i.test(last) && ++authFailures >= 3)
          throw new BoxfestError(
            'SSH_AUTH_FAILED',
            `the guest refused boxfest's SSH key for user \`${t.user}\``,
            {
              machine: o.machine,
              hint: "check the box's ssh user and key (`boxfest box add --ssh-user/--ssh-key`, or `ssh:` in the Boxfile); if the machine was changed by hand, `boxfest destroy` and `up` recreate it",
            },
          );
      }
    }
    o.onAttempt?.(attempt, last);
    // Short steps: a probe costs the guest one SYN, while a long sleep delays every boot by up to
    // its length (measured: capping at 1 s cost about 0.5 s per `up`). A refused probe cost it a
    // reset, not a server: the next one comes soon (its SSH server starts any moment; growing
    // steps of up to 250 ms made the tiny box's `up` about 0.2 s later than 50 ms ones).
    await sleep('why' in r && r.why === 'refused' ? REFUSED_GAP_MS : Math.min(50 * attempt, 250));
  }
  throw new BoxfestError(
    'SSH_TIMEOUT',
    `SSH did not answer on ${t.host}:${t.port} within ${Math.round(o.timeoutMs / 1000)} s${o.since === undefined ? '' : ' of its launch'} (last: ${last})`,
    {
      machine: o.machine,
      hint: 'the guest may not have booted; read its console above, or raise `boot_timeout` in the Boxfile',
    },
  );
}

/**
 * After the guest's SSH server was told to serve `expected` instead of `previous`: connects,
 * pinned to `expected`, until the new server answers. Until then the old one may still answer
 * with `previous`, or the port may be closed or drop the connection while the server re-executes
 * (OpenSSH after SIGHUP): both are waited out. Any third key fails at once.
 */
export async function waitForNewHostKey(
  t: SshTarget & { hostKey: string },
  previous: string,
  o: WaitOptions,
): Promise<Connected> {
  const deadline = Date.now() + o.timeoutMs;
  let last = 'no answer yet';
  for (let attempt = 1; Date.now() < deadline; attempt++) {
    const sock = await probeBanner(t, 1_000);
    if (sock !== undefined) {
      try {
        return await connect(t, Math.max(1_000, Math.min(30_000, deadline - Date.now())), sock);
      } catch (e) {
        if (e instanceof HostKeyMismatch && e.message !== previous)
          throw hostKeyMismatch(o.machine, t, e.message);
        // The new key answered and refused every login key: waiting longer changes nothing.
        if (loginRefused(e)) throw e;
        last = e instanceof HostKeyMismatch ? 'the old server still answers' : errorMessage(e);
      }
    }
    o.onAttempt?.(attempt, last);
    await sleep(Math.min(50 * attempt, 250));
  }
  throw new BoxfestError(
    'SSH_TIMEOUT',
    `the guest's SSH server did not come back with its new host key within ${Math.round(o.timeoutMs / 1000)} s (last: ${last})`,
    {
      machine: o.machine,
      hint: 'the server may have failed to restart with the new key; read its console (`boxfest ssh` will not work), then `boxfest destroy` and `up`',
    },
  );
}

/** Every host key algorithm but ed25519's, the type boxfest pins. */
const OTHER_HOST_KEY_TYPES = algorithmsOtherThan('ssh-ed25519');

/**
 * Whether the server at `at` still serves a host key of another type than ed25519: a handshake
 * that offers only those types, ended when the server presents one (never logging in). A server
 * with none refuses at the algorithm negotiation; any other outcome (no banner, a timeout) counts
 * as "yes", so a caller that restarts the server on "yes" errs on the safe side.
 */
export async function servesOtherHostKeys(at: SshEndpoint, timeoutMs: number): Promise<boolean> {
  const sock = await probeBanner(at, timeoutMs);
  if (sock === undefined) return true;
  return new Promise((resolve) => {
    const client = newClient();
    let presented = false;
    client.once('close', () => sock.destroy());
    client.once('ready', () => {
      client.end();
      resolve(true);
    });
    client.once('error', (e) => {
      client.end();
      resolve(presented || !/no matching host key/i.test(e.message));
    });
    client.connect({
      sock,
      username: 'boxfest-probe',
      readyTimeout: timeoutMs,
      algorithms: { serverHostKey: OTHER_HOST_KEY_TYPES },
      hostVerifier: () => {
        presented = true;
        return false;
      },
    });
  });
}

/** A presented host key that is not the pinned one, as a typed error naming the machine. */
export function hostKeyMismatch(machine: string, t: SshTarget, seen: string): BoxfestError {
  return new BoxfestError(
    'SSH_HOSTKEY_MISMATCH',
    `the SSH host key of ${t.host}:${t.port} is not the one pinned for this machine`,
    {
      machine,
      details: `pinned:    ${t.hostKey ?? '(none)'}\npresented: ${seen}`,
      hint: 'another VM may have taken its port, or the guest was altered; `boxfest destroy` and `up` recreate the machine',
    },
  );
}

export interface ExecOptions {
  stdin?: string | Buffer;
  onStdout?: (chunk: string) => void;
  onStderr?: (chunk: string) => void;
  /** The command must end within this long, or its channel is closed and exec rejects. */
  timeoutMs?: number;
  /**
   * A value the command asks for, made when it asks: once its stdout shows `after`, `send()` is
   * written to its stdin, then `stdin`, and stdin ends. For what must be fresh when read (the
   * host's clock: the command's start can take seconds on a loaded guest).
   */
  answer?: { after: string; send: () => string };
}

export interface ExecResult {
  code: number;
  signal: string | undefined;
  stdout: string;
  stderr: string;
}

/** Runs one command (a string for the guest's shell: callers quote what they put in it). */
export function exec(client: Client, command: string, o: ExecOptions = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    // Listeners go on in the callback itself: ssh2 may deliver the command's output, exit and
    // close in the same read as the channel's confirmation, before an awaiting caller resumes.
    client.exec(command, (err, ch: ClientChannel) => {
      if (err) return reject(execFailed(err));
      let stdout = '';
      let stderr = '';
      let code = -1;
      let signal: string | undefined;
      const timer =
        o.timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              ch.close();
              reject(
                new BoxfestError(
                  'SSH_EXEC_FAILED',
                  `a command over SSH gave no answer within ${o.timeoutMs! / 1000} s`,
                ),
              );
            }, o.timeoutMs);
      ch.setEncoding('utf8');
      ch.stderr.setEncoding('utf8');
      let answered = o.answer === undefined;
      ch.on('data', (d: string) => {
        stdout += d;
        o.onStdout?.(d);
        if (!answered && stdout.includes(o.answer!.after)) {
          answered = true;
          ch.write(o.answer!.send());
          ch.end(o.stdin);
        }
      });
      ch.stderr.on('data', (d: string) => {
        stderr += d;
        o.onStderr?.(d);
      });
      ch.on('exit', (c: number | null, sig?: string) => {
        code = c ?? -1;
        signal = sig;
      });
      ch.on('close', () => {
        clearTimeout(timer);
        resolve({ code, signal, stdout, stderr });
      });
      if (answered) ch.end(o.stdin);
    });
  });
}

/** A command the server would not start (no channel, or exec refused). */
const execFailed = (err: Error): BoxfestError =>
  new BoxfestError('SSH_EXEC_FAILED', `could not run a command over SSH: ${err.message}`, { cause: err });

/**
 * Runs one command with its stdin, stdout and stderr joined to these streams byte for byte, as
 * they come (OpenSSH's `ssh HOST COMMAND`): nothing is decoded or held in memory. Without
 * `stdin` the command reads end-of-file. Resolves to its exit code, 255 when a signal ended it.
 */
export function execPiped(
  client: Client,
  command: string,
  io: { stdin?: NodeJS.ReadableStream; stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream },
): Promise<number> {
  return new Promise((resolve, reject) => {
    // As in exec: listeners on in the callback, so nothing the command sends comes before them.
    client.exec(command, (err, ch: ClientChannel) => {
      if (err) return reject(execFailed(err));
      let code = 255;
      ch.on('exit', (c: number | null) => (code = c ?? 255));
      ch.pipe(io.stdout, { end: false });
      ch.stderr.pipe(io.stderr, { end: false });
      if (io.stdin === undefined) ch.end();
      else io.stdin.pipe(ch);
      ch.on('close', () => {
        // A command may end before its input does: stop reading it, so this process can exit.
        io.stdin?.unpipe(ch);
        io.stdin?.pause();
        resolve(code);
      });
    });
  });
}

/** exec that must succeed; failure names what it was doing. */
export async function execChecked(
  client: Client,
  command: string,
  what: string,
  machine: string,
): Promise<string> {
  const r = await exec(client, command);
  if (r.code !== 0)
    throw new BoxfestError('GUEST_COMMAND_FAILED', `${what} failed in the guest (exit code ${r.code})`, {
      machine,
      details: r.stderr.trim() || r.stdout.trim(),
      hint: 'the guest may lack a standard tool this step needs; see its message above',
    });
  return r.stdout;
}
