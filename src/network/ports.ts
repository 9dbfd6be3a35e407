// Host ports, for every provider: is one free, which free one to take, and who holds it. Choosing is
// serialised across every boxfest process of the user (a lock in the boxfest home), so two projects
// starting at once never pick the same port. ports.json remembers which process holds which port:
// the boxfest process that chose it until the machine's VM (or whatever forwards for it) has bound
// it (a reservation, so VMs start outside the lock and the machines of one `up` start theirs at
// once), then that process. It names the holder when a fixed port collides; dead holders are pruned.
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import type { ForwardedPort, PortProtocol } from '../config/types.js';
import { BoxfestError } from '../errors.js';
import { fieldsProblem, isObject, readOwnJson, writeJsonAtomic } from '../state/atomic.js';
import { readMachineState, updateMachineState, type PortMapping } from '../state/machine-state.js';
import { homePaths } from '../state/paths.js';
import { isAlive, pidFileProcess, startTicksOf } from '../state/process.js';
import { withWaitingLock } from '../state/wait-lock.js';

/** Where `auto_correct` looks for a free port when the asked-for one is taken (Vagrant's range). */
export const AUTO_CORRECT_RANGE = { from: 2200, to: 2250 } as const;

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
  /** Who takes a reservation over once launched, should the reserving boxfest die first. */
  successor?: PortSuccessor;
}

/** A process boxfest launches with a pidfile: the one `pidFile` names, when its command line holds `mark`. */
export interface PortSuccessor {
  pidFile: string;
  mark: string;
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

/** Runs `body` (choose ports and reserve them) as the only boxfest doing so. */
export function withPortsLock<T>(home: string, body: () => Promise<T>): Promise<T> {
  return withWaitingLock(homePaths(home).portsLock, 'choose host ports', LOCK_WAIT_MS, body);
}

/**
 * The recorded holders whose process still runs (the same process: its start time matches). A
 * reservation whose boxfest died (killed right after the launch) belongs to its successor when
 * that runs: the record then names it.
 */
export function portHolders(home: string): PortHolder[] {
  const runs = (pid: number, since: number | undefined) =>
    isAlive(pid) && (since === undefined || startTicksOf(pid) === since);
  return (readPortsFile(home) ?? []).flatMap((h): PortHolder[] => {
    if (runs(h.pid, h.since)) return [h];
    const next =
      h.successor === undefined ? undefined : pidFileProcess(h.successor.pidFile, h.successor.mark);
    const since = next === undefined ? undefined : startTicksOf(next);
    return next === undefined ? [] : [{ ...h, pid: next, ...(since === undefined ? {} : { since }) }];
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
            .map(
              (h, i) =>
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
                    successor: 'object?',
                  },
                  `[${i}].`,
                ) ??
                (isObject(h) && h['successor'] !== undefined
                  ? fieldsProblem(h['successor'], { pidFile: 'string', mark: 'string' }, `[${i}].successor.`)
                  : undefined),
            )
            .find((p) => p !== undefined),
  );
}

/** Records the ports a machine's process holds now (replacing what it held before). Under the ports lock. */
export function recordPortHolders(
  home: string,
  owner: PortOwner & { pid: number; successor?: PortSuccessor | undefined },
  ports: readonly { hostIp: string; port: number; protocol: PortProtocol }[],
): void {
  const others = portHolders(home).filter((h) => h.project !== owner.project || h.machine !== owner.machine);
  const since = startTicksOf(owner.pid);
  const { successor, ...who } = owner;
  writeJsonAtomic(homePaths(home).ports, [
    ...others,
    ...ports.map((p) => ({
      ...p,
      ...who,
      ...(since === undefined ? {} : { since }),
      ...(successor === undefined ? {} : { successor }),
    })),
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

/** The host ports of one boot; `ssh` only when the request asked for an SSH forward. */
export interface BootPorts<S extends boolean = boolean> {
  ssh: S extends true ? number : undefined;
  forwards: PortMapping[];
}

export interface BootPortsRequest<S extends boolean> extends PortOwner {
  /** Forward a port on 127.0.0.1 to the guest's SSH (the last boot's again when free). */
  ssh: S;
  forwards: readonly ForwardedPort[];
  /** The process `launch` starts, which holds the ports should this boxfest die before recording it. */
  successor?: PortSuccessor;
  /** Whether `launch` failed because the SSH port was taken meanwhile: another is chosen, at most 3 times. */
  sshTaken?: (e: unknown, port: number) => boolean;
}

const SSH_ATTEMPTS = 3;

/**
 * One boot's host ports: chosen and reserved (held by this process) in one turn of the host-wide
 * lock; recorded in the machine's state.json before `launch`, so after a crash right after it
 * state.json names the ports the running VM forwards, never the previous boot's (a VM with no
 * state, as instant's golden VM, records nothing); bound by `launch` outside the lock; then held
 * by the process `launch` returns (undefined: this one). A failed launch gives them back.
 */
export async function withBootPorts<S extends boolean>(
  home: string,
  req: BootPortsRequest<S>,
  launch: (ports: BootPorts<S>) => Promise<number | undefined>,
): Promise<BootPorts<S>> {
  const owner: PortOwner = { project: req.project, machine: req.machine };
  const hold = (pid: number, p: BootPorts) =>
    recordPortHolders(home, { ...owner, pid, successor: req.successor }, [
      ...(p.ssh === undefined ? [] : [{ hostIp: '127.0.0.1', port: p.ssh, protocol: 'tcp' as const }]),
      ...p.forwards.map((f) => ({ hostIp: f.hostIp, port: f.host, protocol: f.protocol })),
    ]);
  const state = readMachineState(req.project, req.machine);
  let ports = await withPortsLock(home, async () => {
    const ssh = req.ssh ? await chooseSshPort(home, owner, state?.sshPort) : undefined;
    const forwards = await choosePorts(
      home,
      owner,
      req.forwards,
      state?.ports ?? [],
      ssh === undefined ? [] : [ssh],
    );
    const chosen = { ssh, forwards } as BootPorts<S>;
    hold(process.pid, chosen);
    return chosen;
  });
  try {
    for (let attempt = 1; ; attempt++) {
      if (state !== undefined)
        updateMachineState(req.project, req.machine, (s) => ({
          ...s,
          ...(ports.ssh === undefined ? {} : { sshPort: ports.ssh }),
          ports: ports.forwards,
        }));
      try {
        const pid = await launch(ports);
        await withPortsLock(home, () => Promise.resolve(hold(pid ?? process.pid, ports)));
        return ports;
      } catch (e) {
        if (ports.ssh === undefined || attempt >= SSH_ATTEMPTS || req.sshTaken?.(e, ports.ssh) !== true)
          throw e;
        const next = ports.forwards;
        ports = await withPortsLock(home, async () => {
          const again = { ssh: await chooseSshPort(home, owner), forwards: next } as BootPorts<S>;
          hold(process.pid, again);
          return again;
        });
      }
    }
  } catch (e) {
    // The reservation goes with the failed launch (a dead boxfest's would be pruned anyway).
    await withPortsLock(home, () => Promise.resolve(recordPortHolders(home, { ...owner, pid: 0 }, []))).catch(
      () => undefined,
    );
    throw e;
  }
}
