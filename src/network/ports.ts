// Host ports: is one free, which free one to take, and who holds it. Choosing is serialised across
// every boxfest process of the user (a lock in the boxfest home), so two projects starting at once
// never pick the same port. ports.json remembers which process holds which port: the boxfest
// process that chose it until its VM has bound it (a reservation, so QEMU can start outside the
// lock and the machines of one `up` start theirs at once), then the VM process. It names the
// holder when a fixed port collides; dead holders are pruned.
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import type { ForwardedPort, PortProtocol } from '../config/types.js';
import { BoxfestError } from '../errors.js';
import { writeJsonAtomic } from '../state/atomic.js';
import { fieldsProblem, readOwnJson } from '../state/atomic.js';
import { homePaths, machinePaths } from '../state/paths.js';
import { isAlive, machineQemuPid, startTicksOf } from '../state/process.js';
import { withWaitingLock } from '../state/wait-lock.js';

/** Where `auto_correct` looks for a free port when the asked-for one is taken (Vagrant's range). */
export const AUTO_CORRECT_RANGE = { from: 2200, to: 2250 } as const;

/** A forwarded port as it was set up at boot. */
export interface PortMapping {
  guest: number;
  host: number;
  hostIp: string;
  protocol: PortProtocol;
  /** The port the Boxfile asked for; differs from `host` when auto_correct picked another. */
  requested: number;
}

export interface PortHolder {
  hostIp: string;
  port: number;
  protocol: PortProtocol;
  project: string;
  machine: string;
  /** The VM process that binds it, or the boxfest process that reserved it for its VM. */
  pid: number;
  /** That process's start (clock ticks since boot): a reused PID is not the holder. */
  since?: number;
}

/** Which machine holds (or is about to hold) ports. */
export interface PortOwner {
  project: string;
  machine: string;
}

const overlaps = (a: string, b: string) => a === b || a === '0.0.0.0' || b === '0.0.0.0';
const key = (protocol: string, port: number) => `${protocol} ${port}`;

/** Whether a live process of another machine holds or has reserved this port on an overlapping address. */
function heldByOthers(
  home: string,
  owner: PortOwner,
): (protocol: string, port: number, hostIp: string) => boolean {
  const others = portHolders(home).filter((h) => h.project !== owner.project || h.machine !== owner.machine);
  return (protocol, port, hostIp) =>
    others.some((h) => h.protocol === protocol && h.port === port && overlaps(h.hostIp, hostIp));
}

/** A TCP port on 127.0.0.1 for a machine's SSH: free, and neither held nor reserved by another. */
export async function chooseSshPort(home: string, owner: PortOwner, previous?: number): Promise<number> {
  const held = heldByOthers(home, owner);
  if (previous !== undefined && !held('tcp', previous, '127.0.0.1') && (await portIsFree(previous)))
    return previous;
  for (;;) {
    const port = await freePort();
    if (!held('tcp', port, '127.0.0.1')) return port;
  }
}

/** True when nothing holds hostIp:port for this protocol (we could bind it). */
export function portIsFree(
  port: number,
  hostIp = '127.0.0.1',
  protocol: PortProtocol = 'tcp',
): Promise<boolean> {
  return new Promise((resolve) => {
    if (protocol === 'udp') {
      const s = createSocket('udp4');
      s.once('error', () => resolve(false));
      s.bind({ port, address: hostIp, exclusive: true }, () => s.close(() => resolve(true)));
      return;
    }
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host: hostIp, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** A TCP port the kernel considers free right now on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen({ port: 0, host: '127.0.0.1', exclusive: true }, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

const LOCK_WAIT_MS = 60_000;

/** Runs `body` (choose ports, start the VM that binds them) as the only boxfest doing so. */
export function withPortsLock<T>(home: string, body: () => Promise<T>): Promise<T> {
  return withWaitingLock(homePaths(home).portsLock, 'choose host ports', LOCK_WAIT_MS, body);
}

/**
 * The recorded holders whose process still runs (the same process: its start time matches). A
 * reservation whose boxfest died (killed right after the launch) belongs to the machine's QEMU
 * when that runs: the record then names the QEMU.
 */
export function portHolders(home: string): PortHolder[] {
  const runs = (pid: number, since: number | undefined) =>
    isAlive(pid) && (since === undefined || startTicksOf(pid) === since);
  return (readPortsFile(home) ?? []).flatMap((h): PortHolder[] => {
    if (runs(h.pid, h.since)) return [h];
    const qemu = machineQemuPid(machinePaths(h.project, h.machine));
    const since = qemu === undefined ? undefined : startTicksOf(qemu);
    return qemu === undefined ? [] : [{ ...h, pid: qemu, ...(since === undefined ? {} : { since }) }];
  });
}

/** ports.json; PORTS_CORRUPT, naming the file, when boxfest did not write what is in it. */
function readPortsFile(home: string): PortHolder[] | undefined {
  return readOwnJson<PortHolder[]>(
    homePaths(home).ports,
    {
      code: 'PORTS_CORRUPT',
      what: 'record of forwarded host ports',
      hint: 'remove it: it only names which boxfest machines hold host ports, and running machines are found again by the ports they bind',
    },
    (v) =>
      !Array.isArray(v)
        ? 'it is not a JSON list'
        : v
            .map((h, i) =>
              fieldsProblem(
                h,
                {
                  hostIp: 'string',
                  port: 'number',
                  protocol: 'string',
                  project: 'string',
                  machine: 'string',
                  pid: 'number',
                  since: 'number?',
                },
                `[${i}].`,
              ),
            )
            .find((p) => p !== undefined),
  );
}

/** Records the ports a machine's VM holds now (replacing what it held before). Under the ports lock. */
export function recordPortHolders(
  home: string,
  owner: { project: string; machine: string; pid: number },
  ports: readonly { hostIp: string; port: number; protocol: PortProtocol }[],
): void {
  const others = portHolders(home).filter((h) => h.project !== owner.project || h.machine !== owner.machine);
  const since = startTicksOf(owner.pid);
  writeJsonAtomic(homePaths(home).ports, [
    ...others,
    ...ports.map((p) => ({ ...p, ...owner, ...(since === undefined ? {} : { since }) })),
  ]);
}

function describeHolder(home: string, hostIp: string, port: number, protocol: PortProtocol): string {
  const h = portHolders(home).find(
    (x) => x.port === port && x.protocol === protocol && overlaps(x.hostIp, hostIp),
  );
  return h === undefined ? 'another program' : `boxfest machine \`${h.machine}\` of ${h.project}`;
}

export function portInUse(home: string, machine: string, p: ForwardedPort): BoxfestError {
  return new BoxfestError(
    'PORT_IN_USE',
    `host port ${p.protocol} ${p.hostIp}:${p.host} (forwarded to guest port ${p.guest}) is already in use by ${describeHolder(home, p.hostIp, p.host, p.protocol)}`,
    {
      machine,
      hint: 'stop what holds it, pick another `host` port, or set `auto_correct: true` to take a free one',
    },
  );
}

/**
 * The host port for each forwarded port. A fixed port must be free; an `auto_correct` one takes
 * the asked-for port if free, else the one it had last time, else the first free one in
 * AUTO_CORRECT_RANGE. `taken` holds ports this call must not hand out (e.g. the SSH forward).
 * Call inside withPortsLock.
 */
export async function choosePorts(
  home: string,
  owner: PortOwner,
  wanted: readonly ForwardedPort[],
  previous: readonly PortMapping[],
  taken: readonly number[] = [],
): Promise<PortMapping[]> {
  const machine = owner.machine;
  const used = new Set<string>(taken.map((p) => `tcp ${p}`));
  // Reserved ports are not bound yet: the bind test alone would call them free.
  const held = heldByOthers(home, owner);
  const free = async (p: ForwardedPort, port: number) =>
    !used.has(key(p.protocol, port)) &&
    !held(p.protocol, port, p.hostIp) &&
    (await portIsFree(port, p.hostIp, p.protocol));
  const out: PortMapping[] = [];
  for (const p of wanted) {
    let host: number | undefined;
    if (await free(p, p.host)) host = p.host;
    else if (!p.autoCorrect) throw portInUse(home, machine, p);
    else {
      const before = previous.find(
        (m) =>
          m.guest === p.guest && m.protocol === p.protocol && m.hostIp === p.hostIp && m.requested === p.host,
      );
      if (before !== undefined && (await free(p, before.host))) host = before.host;
      for (let n = AUTO_CORRECT_RANGE.from; host === undefined && n <= AUTO_CORRECT_RANGE.to; n++)
        if (await free(p, n)) host = n;
      if (host === undefined)
        throw new BoxfestError(
          'NO_FREE_PORT',
          `no free host port for guest port ${p.guest}: ${p.host} is taken and so is every port from ${AUTO_CORRECT_RANGE.from} to ${AUTO_CORRECT_RANGE.to}`,
          { machine, hint: 'stop some machines, or give this forward a fixed free `host` port' },
        );
    }
    used.add(key(p.protocol, host));
    out.push({ guest: p.guest, host, hostIp: p.hostIp, protocol: p.protocol, requested: p.host });
  }
  return out;
}
