// The address allocations of a project's private networks, on disk (.boxfest/networks/NET/leases.json).
// Written only by commands holding the project lock, with write-then-rename.
import type { Environment, MachineSpec } from '../config/types.js';
import { parseIp } from '../config/rules/ipv4.js';
import { BoxfestError } from '../errors.js';
import { writeJsonAtomic } from '../state/atomic.js';
import { readdirSync } from 'node:fs';
import { isObject, readOwnJson } from '../state/atomic.js';
import { networkPaths, projectPaths } from '../state/paths.js';
import { allocate, dhcpMachines, type Leases } from './addresses.js';

/** The network's leases; LEASES_CORRUPT, naming the file, when it is not a file boxfest wrote. */
export function readLeases(root: string, network: string): Leases {
  return (
    readOwnJson<Leases>(
      networkPaths(root, network).leases,
      {
        code: 'LEASES_CORRUPT',
        what: 'address leases file',
        hint: 'remove it: the next `up` allocates the addresses again (the same ones: lowest free first, in Boxfile order); running machines keep theirs until they are reloaded',
      },
      (v) =>
        !isObject(v)
          ? 'it is not a JSON object'
          : Object.values(v).every((ip) => typeof ip === 'string' && parseIp(ip) !== undefined)
            ? undefined
            : "a machine's address is not an IPv4 address",
    ) ?? {}
  );
}

/** Gives the machines about to come up the addresses they need (`dhcp: true`), in Boxfile order. */
export function allocateAddresses(env: Environment, machines: readonly MachineSpec[]): void {
  for (const net of env.networks) {
    if (net.type !== 'private') continue;
    const current = readLeases(env.root, net.name);
    const wanted = dhcpMachines(
      env.machines.filter((m) => machines.some((x) => x.name === m.name)),
      net.name,
    );
    if (wanted.length === 0 && Object.keys(current).length === 0) continue;
    const next = allocate(net, env, wanted, current);
    if (JSON.stringify(next) !== JSON.stringify(current))
      writeJsonAtomic(networkPaths(env.root, net.name).leases, next);
  }
}

/**
 * Frees the machine's addresses (destroy), also on networks the Boxfile no longer names. A leases
 * file boxfest cannot read is left as it is (destroy goes on): the problems come back as lines.
 */
export function releaseAddresses(root: string, machine: string): string[] {
  let networks;
  try {
    networks = readdirSync(projectPaths(root).networks, { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const problems: string[] = [];
  for (const network of networks.filter((d) => d.isDirectory()).map((d) => d.name)) {
    let current: Leases;
    try {
      current = readLeases(root, network);
    } catch (e) {
      if (!(e instanceof BoxfestError)) throw e;
      problems.push(`${e.message} (left as it is)`);
      continue;
    }
    if (current[machine] === undefined) continue;
    const rest = Object.fromEntries(Object.entries(current).filter(([m]) => m !== machine));
    writeJsonAtomic(networkPaths(root, network).leases, rest);
  }
  return problems;
}
