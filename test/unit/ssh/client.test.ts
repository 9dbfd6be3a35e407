// hostKeyText on hand-built key blobs; probeBanner against real sockets on 127.0.0.1 (the SSH
// login over the probed connection is covered by every integration test); servesOtherHostKeys
// against real ssh2 servers with the host key types listed.

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { connect as tcpConnect, createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { Server as SshServer, utils as sshUtils } from 'ssh2';
import type { ServerChannel } from 'ssh2';
import { newLoginKey } from '../../../src/ssh/ed25519.js';
import { afterEach, describe, expect, it } from 'vitest';
import {
  connect,
  exec,
  HostKeyMismatch,
  hostKeyText,
  loginRefused,
  probe,
  probeBanner,
  probeWait,
  servesOtherHostKeys,
  waitForSsh,
} from '../../../src/ssh/client.js';

/** SSH wire format: each field a uint32 length, then its bytes. */
function blob(...fields: Buffer[]): Buffer {
  return Buffer.concat(
    fields.flatMap((f) => {
      const len = Buffer.alloc(4);
      len.writeUInt32BE(f.length);
      return [len, f];
    }),
  );
}

describe('hostKeyText', () => {
  it('gives the OpenSSH public-key form of an ed25519 blob', () => {
    const key = Buffer.alloc(32, 0xab);
    const b = blob(Buffer.from('ssh-ed25519'), key);
    expect(b.length).toBe(4 + 11 + 4 + 32);
    expect(hostKeyText(b)).toBe(
      'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKurq6urq6urq6urq6urq6urq6urq6urq6urq6urq6ur',
    );
  });

  it.each(['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ssh-rsa'])(
    'reads the type %s and encodes the whole blob',
    (type) => {
      const b = blob(Buffer.from(type), randomBytes(32));
      const text = hostKeyText(b);
      expect(text).toBe(`${type} ${b.toString('base64')}`);
      const [head, base64] = text.split(' ');
      expect(head).toBe(type);
      expect(Buffer.from(base64 ?? '', 'base64').equals(b)).toBe(true);
    },
  );
});

const servers: Server[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
});

/** A server on 127.0.0.1 that does `onConnection` with each client; resolves to its port. */
async function serve(onConnection: (s: Socket) => void): Promise<number> {
  const server = createServer((s) => {
    sockets.push(s);
    s.on('error', () => {});
    onConnection(s);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** A port nothing listens on: bound, then closed. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Reads what is left on `sock` until the peer closes it. */
function rest(sock: Duplex): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    sock.setEncoding('latin1');
    sock.on('data', (d: string) => (text += d));
    sock.on('end', () => resolve(text));
    // The probe hands it over paused, as ssh2 expects (it resumes it itself).
    sock.resume();
  });
}

describe('probeBanner', () => {
  it.each<[string, (s: Socket) => void, string]>([
    ['a full banner line', (s) => s.end('SSH-2.0-test\r\n'), 'SSH-2.0-test\r\n'],
    ['a banner without a line end', (s) => s.end('SSH-2.0-OpenSSH_9.2'), 'SSH-2.0-OpenSSH_9.2'],
    [
      'a banner in pieces',
      (s) => (s.write('SS'), setTimeout(() => s.end('H-2.0-x\r\n'), 20)),
      'SSH-2.0-x\r\n',
    ],
    ['a banner and more', (s) => s.end('SSH-2.0-x\r\n\u0000\u0000\u0001'), 'SSH-2.0-x\r\n\u0000\u0000\u0001'],
  ])('the open connection for %s, with every byte read put back', async (_title, onConnection, all) => {
    const port = await serve(onConnection);
    const sock = await probeBanner({ host: '127.0.0.1', port }, 2000);
    expect(sock).toBeDefined();
    expect(await rest(sock!)).toBe(all);
    sock!.destroy();
  });

  it.each<[string, (s: Socket) => void]>([
    ['something else', (s) => s.write('HTTP/1.1 400 Bad Request\r\n')],
    ['a lower-case banner', (s) => s.write('ssh-2.0-test\r\n')],
    ['an immediate close', (s) => s.end()],
    ['a short answer, then close', (s) => s.end('SS')],
    ['a reset', (s) => s.resetAndDestroy()],
  ])('undefined for %s', async (_title, onConnection) => {
    const port = await serve(onConnection);
    expect(await probeBanner({ host: '127.0.0.1', port }, 2000)).toBeUndefined();
  });

  it('undefined within the timeout when the server accepts and says nothing', async () => {
    const port = await serve(() => {});
    const start = Date.now();
    expect(await probeBanner({ host: '127.0.0.1', port }, 200)).toBeUndefined();
    const took = Date.now() - start;
    expect(took).toBeGreaterThanOrEqual(190);
    expect(took).toBeLessThan(1500);
  });

  it('undefined for a closed port', async () => {
    const port = await closedPort();
    const start = Date.now();
    expect(await probeBanner({ host: '127.0.0.1', port }, 2000)).toBeUndefined();
    expect(Date.now() - start).toBeLessThan(1500);
  });

  it('closes its connection when the answer is not SSH', async () => {
    let closed!: () => void;
    const clientGone = new Promise<void>((resolve) => (closed = resolve));
    const port = await serve((s) => {
      s.on('close', () => closed());
      s.write('HTTP/1.1 400 Bad Request\r\n');
    });
    expect(await probeBanner({ host: '127.0.0.1', port }, 2000)).toBeUndefined();
    await clientGone;
  });
});

describe('probe: what waitForSsh learns when there is no banner', () => {
  // `refused` switches waitForSsh to long banner waits: the guest's network answered, so a taken,
  // silent connection is an sshd starting for it (under TCG, OpenSSH's fork and re-exec take
  // seconds; each abandoned probe started another one).
  it.each<[string, () => Promise<number>, string]>([
    [
      'taken, then closed without a byte (a forwarder whose guest refused)',
      () => serve((s) => s.end()),
      'refused',
    ],
    ['taken, then reset', () => serve((s) => s.resetAndDestroy()), 'refused'],
    ['taken and silent', () => serve(() => {}), 'silent'],
    ['not SSH', () => serve((s) => s.write('HTTP/1.1 400 Bad Request\r\n')), 'other'],
    ['a short answer, then close', () => serve((s) => s.end('SS')), 'other'],
    ['no connection at all (the port is closed on this host)', closedPort, 'other'],
  ])('%s: %s', async (_title, server, want) => {
    const port = await server();
    expect(await probe({ host: '127.0.0.1', port }, 300)).toEqual({ why: want });
  });
});

describe('probeWait: how long a probe waits for the banner', () => {
  it.each<[boolean, number, number]>([
    [true, 0, 10_000], // the guest refused once: its network is up, a silent sshd is starting
    [false, 0, 500],
    [false, 4_000, 500],
    [false, 20_000, 2_500], // no refusal seen: grows with the time since launch
    [false, 60_000, 7_500],
    [false, 600_000, 10_000],
  ])('answered %s, %i ms after launch: %i ms', (answered, since, want) => {
    expect(probeWait(answered, since)).toBe(want);
  });
});

describe('waitForSsh: an sshd that is slow to greet and never seen refusing', () => {
  // A real SSH server (ssh2) behind a relay that holds every connection 1 s before passing it on:
  // a guest whose sshd forks slowly, reached through a forwarder that accepts at once. Probes of
  // 500 ms hung up on each one, for ever (seen in CI on a Debian guest: no banner for 600 s).
  it('logs in once it has waited long enough for the banner', async () => {
    const { hostKey, userKey, port: sshPort } = await loginServer();
    let relayed = 0;
    const port = await serve((s) => {
      s.pause();
      setTimeout(() => {
        if (s.destroyed) return;
        relayed++;
        relay(s, sshPort);
        s.resume();
      }, 1_000);
    });
    // Launched 20 s ago, no refusal seen: probes wait 2.5 s.
    const c = await waitForSsh(
      { host: '127.0.0.1', port, user: 'u', keys: [userKey.private], hostKey: undefined },
      { machine: 'm', timeoutMs: 30_000, since: Date.now() - 20_000 },
    );
    expect(c.hostKey).toBe(hostKey.public.split(' ').slice(0, 2).join(' '));
    c.client.end();
    expect(relayed).toBe(1);
  }, 20_000);
});

describe('waitForSsh: a guest whose network comes up while probes wait (overlapping probes)', () => {
  // A forwarder that accepts at once, as QEMU's NAT does: a connection made before `upAt` is a SYN
  // the guest never saw (silent for ever); one made after reaches a real SSH server (ssh2).
  it('logs in within a probe gap of the server listening, three probes at most, the losers closed', async () => {
    const { hostKey, userKey, port: sshPort } = await loginServer();
    const started = Date.now();
    const upAt = started + 1_200;
    let open = 0;
    let mostOpen = 0;
    let firstAfterUp: number | undefined;
    const port = await serve((s) => {
      mostOpen = Math.max(mostOpen, ++open);
      s.on('close', () => open--);
      if (Date.now() < upAt) return; // lost: never answers
      firstAfterUp ??= Date.now();
      relay(s, sshPort);
    });
    const c = await waitForSsh(
      { host: '127.0.0.1', port, user: 'u', keys: [userKey.private], hostKey: undefined },
      { machine: 'm', timeoutMs: 10_000, since: started },
    );
    try {
      expect(c.hostKey).toBe(hostKey.public.split(' ').slice(0, 2).join(' '));
      // One probe at a time, the next after 1.2 s came at 1.8 s (each waits 0.5 s, then a pause).
      expect(firstAfterUp! - upAt).toBeLessThan(400);
      // Three probes, and one more the server may not have seen closed yet when the next came.
      expect(mostOpen).toBeLessThanOrEqual(4);
      await new Promise((r) => setTimeout(r, 100));
      expect(open).toBe(1); // the login's own connection
    } finally {
      c.client.end();
    }
  }, 20_000);
});

describe('waitForSsh with a network probe: no SSH probe given up before the guest could see it', () => {
  // Two forwarders that accept at once, as QEMU's NAT does. Before `netAt` a connection is a SYN
  // the guest never saw (silent); QEMU would complete it later, when the guest's sshd listens,
  // after the probe gave up: a server child forked for nothing. After `netAt` the network probe's
  // port resets (nothing listens there), the SSH port resets until `sshAt`, then reaches a real
  // SSH server (ssh2).
  it('sends one SSH probe before the network is up, and logs in soon after the server listens', async () => {
    const { hostKey, userKey, port: sshPort } = await loginServer();
    const started = Date.now();
    const netAt = started + 1_500;
    const sshAt = started + 2_500;
    let sshBeforeNet = 0;
    let netProbes = 0;
    let loginAt: number | undefined;
    const net = await serve((s) => {
      netProbes++;
      if (Date.now() >= netAt) s.end();
    });
    const port = await serve((s) => {
      const now = Date.now();
      if (now < netAt) return void sshBeforeNet++;
      if (now < sshAt) return void s.end();
      loginAt ??= now;
      relay(s, sshPort);
    });
    const c = await waitForSsh(
      { host: '127.0.0.1', port, user: 'u', keys: [userKey.private], hostKey: undefined },
      { machine: 'm', timeoutMs: 10_000, since: started, networkProbe: { host: '127.0.0.1', port: net } },
    );
    try {
      expect(c.hostKey).toBe(hostKey.public.split(' ').slice(0, 2).join(' '));
      // The one kept open beside the network probes (overlapping SSH probes made 6 or more here).
      expect(sshBeforeNet).toBe(1);
      expect(netProbes).toBeGreaterThan(5);
      // Refused probes after the network is up come 50-250 ms apart.
      expect(loginAt! - sshAt).toBeLessThan(500);
    } finally {
      c.client.end();
    }
  }, 20_000);

  it('logs in through the SSH probe kept open when the network probe never answers (a guest that drops it)', async () => {
    const { hostKey, userKey, port: sshPort } = await loginServer();
    const net = await serve(() => undefined); // dropped: silent for ever
    const port = await serve((s) => {
      // The SSH server answers the first connection 1 s after it came, as QEMU's NAT resends a SYN.
      s.pause();
      setTimeout(() => {
        relay(s, sshPort);
        s.resume();
      }, 1_000);
    });
    const c = await waitForSsh(
      { host: '127.0.0.1', port, user: 'u', keys: [userKey.private], hostKey: undefined },
      { machine: 'm', timeoutMs: 10_000, networkProbe: { host: '127.0.0.1', port: net } },
    );
    c.client.end();
    expect(c.hostKey).toBe(hostKey.public.split(' ').slice(0, 2).join(' '));
  }, 20_000);
});

describe('connect: a server that hangs up before greeting (out of slots, restarting)', () => {
  // A forwarder that closes its first `drops` connections at once, as QEMU's NAT does when the
  // guest refuses, and relays the others to a real SSH server (ssh2).
  it.each([
    [2, 'logs in on the third try', 3],
    [3, 'SSH_NOT_GREETED', 3],
  ] as const)('closed %i times: %s', async (drops, want, tries) => {
    const { hostKey, userKey, port: sshPort } = await loginServer();
    let seen = 0;
    const port = await serve((s) => {
      if (++seen <= drops) return void s.end();
      relay(s, sshPort);
    });
    const target = { host: '127.0.0.1', port, user: 'u', keys: [userKey.private], hostKey: undefined };
    if (want === 'SSH_NOT_GREETED') {
      await expect(connect(target, 5_000)).rejects.toMatchObject({
        code: 'SSH_NOT_GREETED',
        message: expect.stringContaining('closed 3 connections in a row before greeting') as string,
      });
    } else {
      const c = await connect(target, 5_000);
      c.client.end();
      expect(c.hostKey).toBe(hostKey.public.split(' ').slice(0, 2).join(' '));
    }
    expect(seen).toBe(tries);
  });
});

/**
 * A real SSH server (ssh2) on 127.0.0.1 that takes any public key and hands each exec to `onExec`:
 * its host key, a user key, its port.
 */
async function loginServer(onExec?: (command: string, ch: ServerChannel) => void) {
  const hostKey = newLoginKey('host');
  const userKey = newLoginKey('user');
  const ssh = new SshServer({ hostKeys: [hostKey.private] }, (client) => {
    client.on('error', () => {});
    client.on('authentication', (ctx) => (ctx.method === 'publickey' ? ctx.accept() : ctx.reject()));
    if (onExec !== undefined)
      client.on('session', (accept) =>
        accept().on('exec', (acceptExec, _reject, info) => onExec(info.command, acceptExec())),
      );
  });
  servers.push(ssh);
  await new Promise<void>((resolve) => ssh.listen(0, '127.0.0.1', resolve));
  return { hostKey, userKey, port: (ssh.address() as AddressInfo).port };
}

/** Passes a forwarder's connection on to the SSH server at `port`. */
function relay(s: Socket, port: number): void {
  const up = tcpConnect(port, '127.0.0.1', () => s.pipe(up).pipe(s));
  sockets.push(up);
  up.on('error', () => s.destroy());
}

/** A client logged in to a loginServer that hands each exec to `onExec`. The caller ends it. */
async function execServer(onExec: (command: string, ch: ServerChannel) => void) {
  const { userKey, port } = await loginServer(onExec);
  return waitForSsh(
    { host: '127.0.0.1', port, user: 'u', keys: [userKey.private], hostKey: undefined },
    { machine: 'm', timeoutMs: 10_000 },
  );
}

describe('exec with a timeout', () => {
  // The server's `hang` command never ends and its `ok` command prints and exits.
  it.each([
    ['ok', { code: 0, stdout: 'done\n' }],
    ['hang', 'gave no answer within 0.3 s'],
  ] as const)('%s', async (command, want) => {
    let closed = false;
    const c = await execServer((cmd, ch) => {
      ch.resume().on('close', () => (closed = true));
      if (cmd === 'ok') {
        ch.write('done\n');
        ch.exit(0);
        ch.end();
      }
    });
    try {
      const run = exec(c.client, command, { timeoutMs: 300 });
      if (typeof want === 'string') {
        await expect(run).rejects.toMatchObject({
          code: 'SSH_EXEC_FAILED',
          message: expect.stringContaining(want) as string,
        });
        // The channel is closed, not left open on the server.
        await new Promise((r) => setTimeout(r, 200));
        expect(closed).toBe(true);
      } else expect(await run).toMatchObject(want);
    } finally {
      c.client.end();
    }
  });
});

describe('exec with an answer: a value made when the command asks for it', () => {
  it('writes it when the marker shows, then the stdin, then ends the input', async () => {
    // The command runs in a real sh, its stdio joined to the channel.
    const c = await execServer((cmd, ch) => {
      const sh = spawn('sh', ['-c', cmd], { stdio: 'pipe' });
      ch.pipe(sh.stdin);
      sh.stdout.pipe(ch, { end: false });
      sh.on('close', (code) => {
        ch.exit(code ?? 255);
        ch.end();
      });
    });
    const startedAt = Date.now();
    let madeAt = 0;
    const input = randomBytes(256);
    try {
      const r = await exec(
        c.client,
        'sleep 0.4; echo may-i; read -r t; echo "got $t"; od -An -v -tx1 | tr -d " \n"',
        {
          answer: { after: 'may-i', send: () => `${(madeAt = Date.now())}\n` },
          stdin: input,
          timeoutMs: 10_000,
        },
      );
      expect(r).toMatchObject({ code: 0, stdout: `may-i\ngot ${madeAt}\n${input.toString('hex')}` });
      // Made when asked, not when the command was sent.
      expect(madeAt - startedAt).toBeGreaterThanOrEqual(400);
    } finally {
      c.client.end();
    }
  });
});

describe('servesOtherHostKeys: does a real SSH server still offer a host key of another type than ed25519', () => {
  const ed25519 = newLoginKey('host').private;
  const ecdsa = sshUtils.generateKeyPairSync('ecdsa', { bits: 256 }).private;
  const rsa = sshUtils.generateKeyPairSync('rsa', { bits: 2048 }).private;

  it.each<[string, string[], boolean]>([
    ['ed25519 only', [ed25519], false],
    ['ed25519 and ECDSA', [ed25519, ecdsa], true],
    ['ed25519 and RSA', [ed25519, rsa], true],
    ['ECDSA only', [ecdsa], true],
  ])('%s: %s', async (_, hostKeys, want) => {
    let loggedIn = false;
    const ssh = new SshServer({ hostKeys }, (client) => {
      client.on('error', () => {});
      client.on('authentication', (ctx) => {
        loggedIn = true;
        ctx.reject();
      });
    });
    servers.push(ssh);
    await new Promise<void>((resolve) => ssh.listen(0, '127.0.0.1', resolve));
    const port = (ssh.address() as AddressInfo).port;
    expect(await servesOtherHostKeys({ host: '127.0.0.1', port }, 5_000)).toBe(want);
    // The probe never gets as far as offering credentials.
    expect(loggedIn).toBe(false);
  });

  it('says yes when nothing answers (the caller then restarts the server: the safe side)', async () => {
    expect(await servesOtherHostKeys({ host: '127.0.0.1', port: await closedPort() }, 1_000)).toBe(true);
  });
});

describe('connect: which of the offered keys logged in, and a refusal told apart', () => {
  const hostKey = newLoginKey('host');
  const a = newLoginKey('a');
  const b = newLoginKey('b');
  /** A real ssh2 server that lets in the keys whose public blob is in `accepted`. */
  async function server(accepted: string[]): Promise<number> {
    const ssh = new SshServer({ hostKeys: [hostKey.private] }, (client) => {
      client.on('error', () => {});
      client.on('authentication', (ctx) => {
        if (ctx.method !== 'publickey') return ctx.reject(['publickey']);
        const blob = ctx.key.data.toString('base64');
        if (!accepted.some((k) => k.split(' ')[1] === blob)) return ctx.reject(['publickey']);
        // Without a signature the client only asks whether the key would do; with one, the login.
        return ctx.accept();
      });
      client.on('ready', () => client.end());
    });
    servers.push(ssh);
    await new Promise<void>((resolve) => ssh.listen(0, '127.0.0.1', resolve));
    return (ssh.address() as AddressInfo).port;
  }

  it.each<[string, string[], number | 'refused']>([
    ['the first key', [a.public], 0],
    ['the second key', [b.public], 1],
    ['both: the first one offered', [a.public, b.public], 0],
    ['neither', [], 'refused'],
  ])('server takes %s', async (_, accepted, want) => {
    const port = await server(accepted);
    const target = { host: '127.0.0.1', port, user: 'u', keys: [a.private, b.private], hostKey: undefined };
    const got = await connect(target, 5_000).then(
      (c) => {
        c.client.end();
        return c.loginKey;
      },
      (e: unknown) => (loginRefused(e) ? ('refused' as const) : e),
    );
    expect(got).toBe(want);
  });
});

describe('connect: a server presenting another host key than the pinned one', () => {
  it('fails with HostKeyMismatch naming the key it saw, and nothing else is thrown after it', async () => {
    const hostKey = newLoginKey('host');
    const ssh = new SshServer({ hostKeys: [hostKey.private] }, (client) => client.on('error', () => {}));
    servers.push(ssh);
    await new Promise<void>((resolve) => ssh.listen(0, '127.0.0.1', resolve));
    const port = (ssh.address() as AddressInfo).port;
    const uncaught: unknown[] = [];
    const onUncaught = (e: unknown) => uncaught.push(e);
    process.on('uncaughtException', onUncaught);
    try {
      const pinned = newLoginKey('other').public.split(' ').slice(0, 2).join(' ');
      const target = {
        host: '127.0.0.1',
        port,
        user: 'u',
        keys: [newLoginKey('u').private],
        hostKey: pinned,
      };
      const e = await connect(target, 5_000).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(e).toBeInstanceOf(HostKeyMismatch);
      expect((e as Error).message).toBe(hostKey.public.split(' ').slice(0, 2).join(' '));
      // Nothing after the refusal reaches the process (see newClient for ssh2's second error).
      await new Promise((r) => setTimeout(r, 200));
      expect(uncaught).toEqual([]);
    } finally {
      process.off('uncaughtException', onUncaught);
    }
  });
});
