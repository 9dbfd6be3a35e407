// Host ports, with real loopback sockets: a port held by a server here is a port in use.
// The auto_correct range may hold ports of other programs on this host, so expectations in it
// are computed with portIsFree first rather than assumed.

import { createSocket, type Socket } from 'node:dgram';
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { ForwardedPort, PortProtocol } from '../../../src/config/types.js';
import { BoxfestError } from '../../../src/errors.js';
import {
  AUTO_CORRECT_RANGE,
  choosePorts,
  chooseSshPort,
  freePort,
  portHolders,
  portIsFree,
  recordPortHolders,
  type PortHolder,
} from '../../../src/network/ports.js';
import { writeJsonAtomic } from '../../../src/state/atomic.js';
import type { PortMapping } from '../../../src/state/machine-state.js';
import { startTicksOf } from '../../../src/state/process.js';
import { homePaths } from '../../../src/state/paths.js';
import { tempDir } from '../helpers.js';

const DEAD_PID = 2 ** 22 + 12345; // above Linux's largest pid_max: never a live process

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

/** Holds a free TCP port on 127.0.0.1 until the test ends. */
function holdTcp(port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv: Server = createServer();
    srv.once('error', reject);
    srv.listen({ port, host: '127.0.0.1', exclusive: true }, () => {
      closers.push(() => new Promise((done) => srv.close(() => done())));
      const addr = srv.address();
      resolve(typeof addr === 'object' && addr !== null ? addr.port : 0);
    });
  });
}

/** Holds a free UDP port on 127.0.0.1 until the test ends. */
function holdUdp(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s: Socket = createSocket('udp4');
    s.once('error', reject);
    s.bind({ port: 0, address: '127.0.0.1', exclusive: true }, () => {
      closers.push(() => new Promise((done) => s.close(() => done())));
      resolve(s.address().port);
    });
  });
}

/** The free ports of AUTO_CORRECT_RANGE right now, for `protocol`, minus `except`. */
async function freeInRange(
  protocol: PortProtocol = 'tcp',
  except: readonly number[] = [],
): Promise<number[]> {
  const out: number[] = [];
  for (let n = AUTO_CORRECT_RANGE.from; n <= AUTO_CORRECT_RANGE.to; n++)
    if (!except.includes(n) && (await portIsFree(n, '127.0.0.1', protocol))) out.push(n);
  return out;
}

const fwd = (over: Partial<ForwardedPort> & { host: number }): ForwardedPort => ({
  guest: 80,
  hostIp: '127.0.0.1',
  protocol: 'tcp',
  autoCorrect: false,
  ...over,
});

function thrown(f: () => unknown): Promise<BoxfestError> {
  return Promise.resolve()
    .then(f)
    .then(
      () => {
        throw new Error('expected a throw');
      },
      (e: unknown) => {
        expect(e).toBeInstanceOf(BoxfestError);
        return e as BoxfestError;
      },
    );
}

describe('portIsFree', () => {
  it.each<PortProtocol>(['tcp', 'udp'])(
    'a %s port held here is not free, and free once released',
    async (protocol) => {
      const port = protocol === 'tcp' ? await holdTcp() : await holdUdp();
      expect(await portIsFree(port, '127.0.0.1', protocol)).toBe(false);
      for (const close of closers.splice(0)) await close();
      expect(await portIsFree(port, '127.0.0.1', protocol)).toBe(true);
    },
  );

  it('defaults to tcp on 127.0.0.1', async () => {
    const port = await holdTcp();
    expect(await portIsFree(port)).toBe(false);
  });

  it('an address that is not ours is never free', async () => {
    expect(await portIsFree(8080, '203.0.113.7', 'tcp')).toBe(false);
    expect(await portIsFree(8080, '203.0.113.7', 'udp')).toBe(false);
  });
});

const WEB = { project: '/p', machine: 'web' };

describe('choosePorts', () => {
  it('takes free fixed ports as asked, keeping guest, host_ip and protocol', async () => {
    const tcp = await holdTcp();
    const udp = await holdUdp();
    for (const close of closers.splice(0)) await close();
    expect(
      await choosePorts(
        tempDir(),
        WEB,
        [fwd({ host: tcp, guest: 80 }), fwd({ host: udp, guest: 53, protocol: 'udp' })],
        [],
      ),
    ).toEqual<PortMapping[]>([
      { guest: 80, host: tcp, hostIp: '127.0.0.1', protocol: 'tcp', requested: tcp },
      { guest: 53, host: udp, hostIp: '127.0.0.1', protocol: 'udp', requested: udp },
    ]);
  });

  it('throws PORT_IN_USE naming "another program" for a fixed port held by a stranger', async () => {
    const port = await holdTcp();
    const e = await thrown(() => choosePorts(tempDir(), WEB, [fwd({ host: port, guest: 8080 })], []));
    expect(e.code).toBe('PORT_IN_USE');
    expect(e.machine).toBe('web');
    expect(e.message).toBe(
      `host port tcp 127.0.0.1:${port} (forwarded to guest port 8080) is already in use by another program`,
    );
  });

  it.each(['127.0.0.1', '0.0.0.0'])(
    'names the boxfest machine recorded as holding the port (holder on %s)',
    async (holderIp) => {
      const home = tempDir();
      const port = await holdTcp();
      recordPortHolders(home, { project: '/other', machine: 'db', pid: process.pid }, [
        { hostIp: holderIp, port, protocol: 'tcp' },
      ]);
      const e = await thrown(() => choosePorts(home, WEB, [fwd({ host: port })], []));
      expect(e.code).toBe('PORT_IN_USE');
      expect(e.message).toBe(
        `host port tcp 127.0.0.1:${port} (forwarded to guest port 80) is already in use by boxfest machine \`db\` of /other`,
      );
    },
  );

  it('a recorded holder with another protocol or a dead pid is "another program"', async () => {
    const home = tempDir();
    const port = await holdTcp();
    writeJsonAtomic(homePaths(home).ports, [
      { hostIp: '127.0.0.1', port, protocol: 'udp', project: '/p', machine: 'a', pid: process.pid },
      { hostIp: '127.0.0.1', port, protocol: 'tcp', project: '/p', machine: 'b', pid: DEAD_PID },
    ] satisfies PortHolder[]);
    const e = await thrown(() => choosePorts(home, WEB, [fwd({ host: port })], []));
    expect(e.message).toMatch(/already in use by another program$/);
  });

  it('auto_correct keeps the asked-for port when it is free', async () => {
    const port = await holdTcp();
    for (const close of closers.splice(0)) await close();
    expect(await choosePorts(tempDir(), WEB, [fwd({ host: port, autoCorrect: true })], [])).toEqual([
      { guest: 80, host: port, hostIp: '127.0.0.1', protocol: 'tcp', requested: port },
    ]);
  });

  it('auto_correct takes the previous mapping when the asked-for port is taken and it is free', async () => {
    const asked = await holdTcp();
    const before = await holdTcp();
    await closers.pop()?.(); // release `before` only
    const previous: PortMapping[] = [
      { guest: 80, host: before, hostIp: '127.0.0.1', protocol: 'tcp', requested: asked },
    ];
    expect(await choosePorts(tempDir(), WEB, [fwd({ host: asked, autoCorrect: true })], previous)).toEqual([
      { guest: 80, host: before, hostIp: '127.0.0.1', protocol: 'tcp', requested: asked },
    ]);
  });

  it.each<[string, Partial<PortMapping>]>([
    ['another guest port', { guest: 81 }],
    ['another protocol', { protocol: 'udp' }],
    ['another host_ip', { hostIp: '0.0.0.0' }],
    ['another requested port', { requested: 1 }],
  ])('auto_correct ignores a previous mapping for %s', async (_, over) => {
    const asked = await holdTcp();
    const before = await holdTcp();
    await closers.pop()?.();
    const previous: PortMapping[] = [
      { guest: 80, host: before, hostIp: '127.0.0.1', protocol: 'tcp', requested: asked, ...over },
    ];
    const [first] = await freeInRange();
    const [m] = await choosePorts(tempDir(), WEB, [fwd({ host: asked, autoCorrect: true })], previous);
    expect(m?.host).toBe(first);
  });

  it('auto_correct skips a previous mapping that is taken now', async () => {
    const asked = await holdTcp();
    const before = await holdTcp();
    const previous: PortMapping[] = [
      { guest: 80, host: before, hostIp: '127.0.0.1', protocol: 'tcp', requested: asked },
    ];
    const [first] = await freeInRange();
    const [m] = await choosePorts(tempDir(), WEB, [fwd({ host: asked, autoCorrect: true })], previous);
    expect(m).toEqual({ guest: 80, host: first, hostIp: '127.0.0.1', protocol: 'tcp', requested: asked });
  });

  it.each<PortProtocol>(['tcp', 'udp'])(
    'auto_correct takes the first free %s port of AUTO_CORRECT_RANGE',
    async (protocol) => {
      const asked = protocol === 'tcp' ? await holdTcp() : await holdUdp();
      const [first] = await freeInRange(protocol);
      expect(first).toBeDefined();
      expect(
        await choosePorts(tempDir(), WEB, [fwd({ host: asked, protocol, autoCorrect: true })], []),
      ).toEqual([{ guest: 80, host: first, hostIp: '127.0.0.1', protocol, requested: asked }]);
    },
  );

  it('auto_correct skips range ports recorded for a live boxfest machine, not for a dead one', async () => {
    const home = tempDir();
    const asked = await holdTcp();
    const [a, b] = await freeInRange();
    if (a === undefined || b === undefined) throw new Error('AUTO_CORRECT_RANGE is nearly full on this host');
    writeJsonAtomic(homePaths(home).ports, [
      { hostIp: '127.0.0.1', port: a, protocol: 'tcp', project: '/p', machine: 'x', pid: process.pid },
    ] satisfies PortHolder[]);
    expect((await choosePorts(home, WEB, [fwd({ host: asked, autoCorrect: true })], []))[0]?.host).toBe(b);
    writeJsonAtomic(homePaths(home).ports, [
      { hostIp: '127.0.0.1', port: a, protocol: 'tcp', project: '/p', machine: 'x', pid: DEAD_PID },
    ] satisfies PortHolder[]);
    expect((await choosePorts(home, WEB, [fwd({ host: asked, autoCorrect: true })], []))[0]?.host).toBe(a);
  });

  it("a port reserved for another machine (not bound yet) is taken; the machine's own is not", async () => {
    const home = tempDir();
    const port = await holdTcp();
    for (const close of closers.splice(0)) await close();
    recordPortHolders(home, { project: '/other', machine: 'db', pid: process.pid }, [
      { hostIp: '127.0.0.1', port, protocol: 'tcp' },
    ]);
    const e = await thrown(() => choosePorts(home, WEB, [fwd({ host: port })], []));
    expect(e.message).toMatch(/already in use by boxfest machine `db` of \/other$/);
    recordPortHolders(home, { ...WEB, pid: process.pid }, [{ hostIp: '127.0.0.1', port, protocol: 'tcp' }]);
    recordPortHolders(home, { project: '/other', machine: 'db', pid: process.pid }, []);
    expect((await choosePorts(home, WEB, [fwd({ host: port })], []))[0]?.host).toBe(port);
  });

  it('chooseSshPort keeps the previous port unless it is bound or reserved by another machine', async () => {
    const home = tempDir();
    const previous = await freePort();
    expect(await chooseSshPort(home, WEB, previous)).toBe(previous);
    recordPortHolders(home, { project: '/other', machine: 'db', pid: process.pid }, [
      { hostIp: '127.0.0.1', port: previous, protocol: 'tcp' },
    ]);
    const other = await chooseSshPort(home, WEB, previous);
    expect(other).not.toBe(previous);
    expect(await portIsFree(other)).toBe(true);
  });

  it('never hands out a `taken` port: a fixed one throws, an auto_correct one moves on', async () => {
    const port = await holdTcp();
    for (const close of closers.splice(0)) await close();
    const e = await thrown(() => choosePorts(tempDir(), WEB, [fwd({ host: port })], [], [port]));
    expect(e.code).toBe('PORT_IN_USE');
    expect(e.message).toMatch(/already in use by another program$/);

    const [a, b] = await freeInRange();
    const [m] = await choosePorts(
      tempDir(),
      WEB,
      [fwd({ host: port, autoCorrect: true })],
      [],
      [port, a ?? 0],
    );
    expect(m?.host).toBe(b);
  });

  it('a previous mapping that is `taken` is not reused', async () => {
    const asked = await holdTcp();
    const before = await holdTcp();
    await closers.pop()?.();
    const previous: PortMapping[] = [
      { guest: 80, host: before, hostIp: '127.0.0.1', protocol: 'tcp', requested: asked },
    ];
    const [first] = await freeInRange();
    const [m] = await choosePorts(tempDir(), WEB, [fwd({ host: asked, autoCorrect: true })], previous, [
      before,
    ]);
    expect(m?.host).toBe(first);
  });

  it('two auto_correct forwards of one call never get the same port', async () => {
    const asked = await holdTcp();
    const [a, b] = await freeInRange();
    const out = await choosePorts(
      tempDir(),
      WEB,
      [
        fwd({ host: asked, guest: 80, autoCorrect: true }),
        fwd({ host: asked, guest: 81, autoCorrect: true }),
      ],
      [],
    );
    expect(out.map((m) => m.host)).toEqual([a, b]);
  });

  it('a fixed port asked for twice in one call collides with itself', async () => {
    const port = await holdTcp();
    for (const close of closers.splice(0)) await close();
    const e = await thrown(() =>
      choosePorts(tempDir(), WEB, [fwd({ host: port, guest: 80 }), fwd({ host: port, guest: 81 })], []),
    );
    expect(e.code).toBe('PORT_IN_USE');
  });

  it('throws NO_FREE_PORT when the whole range is unavailable', async () => {
    const asked = await holdTcp();
    const range: number[] = [];
    for (let n = AUTO_CORRECT_RANGE.from; n <= AUTO_CORRECT_RANGE.to; n++) range.push(n);
    const e = await thrown(() =>
      choosePorts(tempDir(), WEB, [fwd({ host: asked, guest: 8080, autoCorrect: true })], [], range),
    );
    expect(e.code).toBe('NO_FREE_PORT');
    expect(e.machine).toBe('web');
    expect(e.message).toBe(
      `no free host port for guest port 8080: ${asked} is taken and so is every port from 2200 to 2250`,
    );
  });
});

describe('portHolders / recordPortHolders', () => {
  const live = { project: '/p', machine: 'web', pid: process.pid };
  const since = startTicksOf(process.pid)!;

  it('is empty without a ports file', () => {
    expect(portHolders(tempDir())).toEqual([]);
  });

  it('records a machine’s ports and replaces them on the next record', () => {
    const home = tempDir();
    recordPortHolders(home, live, [
      { hostIp: '127.0.0.1', port: 8080, protocol: 'tcp' },
      { hostIp: '0.0.0.0', port: 53, protocol: 'udp' },
    ]);
    expect(portHolders(home)).toEqual([
      { hostIp: '127.0.0.1', port: 8080, protocol: 'tcp', ...live, since },
      { hostIp: '0.0.0.0', port: 53, protocol: 'udp', ...live, since },
    ]);
    recordPortHolders(home, live, [{ hostIp: '127.0.0.1', port: 9090, protocol: 'tcp' }]);
    expect(portHolders(home)).toEqual([{ hostIp: '127.0.0.1', port: 9090, protocol: 'tcp', ...live, since }]);
  });

  it('keeps other machines’ live holders and prunes dead ones', () => {
    const home = tempDir();
    const otherMachine = { project: '/p', machine: 'db', pid: process.pid };
    const otherProject = { project: '/q', machine: 'web', pid: process.pid };
    const dead = { project: '/p', machine: 'gone', pid: DEAD_PID };
    writeJsonAtomic(homePaths(home).ports, [
      { hostIp: '127.0.0.1', port: 1, protocol: 'tcp', ...otherMachine },
      { hostIp: '127.0.0.1', port: 2, protocol: 'tcp', ...otherProject },
      { hostIp: '127.0.0.1', port: 3, protocol: 'tcp', ...dead },
      { hostIp: '127.0.0.1', port: 4, protocol: 'tcp', ...live },
    ] satisfies PortHolder[]);
    expect(portHolders(home).map((h) => h.port)).toEqual([1, 2, 4]);

    recordPortHolders(home, live, [{ hostIp: '127.0.0.1', port: 5, protocol: 'udp' }]);
    expect(portHolders(home)).toEqual([
      { hostIp: '127.0.0.1', port: 1, protocol: 'tcp', ...otherMachine },
      { hostIp: '127.0.0.1', port: 2, protocol: 'tcp', ...otherProject },
      { hostIp: '127.0.0.1', port: 5, protocol: 'udp', ...live, since },
    ]);
  });

  it('a holder whose PID now belongs to a process started later is gone', () => {
    const home = tempDir();
    writeJsonAtomic(homePaths(home).ports, [
      { hostIp: '127.0.0.1', port: 1, protocol: 'tcp', ...live, since },
      { hostIp: '127.0.0.1', port: 2, protocol: 'tcp', ...live, since: since - 1 },
    ] satisfies PortHolder[]);
    expect(portHolders(home).map((h) => h.port)).toEqual([1]);
  });

  it('a reservation on another address of the same port does not block it', async () => {
    const home = tempDir();
    const port = await freePort();
    recordPortHolders(home, { project: '/other', machine: 'db', pid: process.pid }, [
      { hostIp: '127.0.0.2', port, protocol: 'tcp' },
    ]);
    expect((await choosePorts(home, WEB, [fwd({ host: port })], []))[0]?.host).toBe(port);
    recordPortHolders(home, { project: '/other', machine: 'db', pid: process.pid }, [
      { hostIp: '0.0.0.0', port, protocol: 'tcp' },
    ]);
    expect((await thrown(() => choosePorts(home, WEB, [fwd({ host: port })], []))).code).toBe('PORT_IN_USE');
  });

  it('records nothing for a machine with no ports, dropping what it held', () => {
    const home = tempDir();
    recordPortHolders(home, live, [{ hostIp: '127.0.0.1', port: 8080, protocol: 'tcp' }]);
    recordPortHolders(home, live, []);
    expect(portHolders(home)).toEqual([]);
  });
});
