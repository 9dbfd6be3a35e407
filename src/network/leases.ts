// The address allocations of a project's private networks, on disk (.boxfest/networks/NET/leases.json).
// Written only by commands holding the project lock, with write-then-rename.
import type { Environment, MachineSpec } from '../config/types.js';
import { readJson, writeJsonAtomic } from '../state/atomic.js';
import { existsSync, readdirSync } from 'node:fs';
import { networkPaths, projectPaths } from '../state/paths.js';
import { allocate, dhcpMachines, type Leases } from './addresses.js';

export function readLeases(root: string, network: string): Leases {
  return readJson<Leases>(networkPaths(root, network).leases) ?? {};
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

/** Frees the machine's addresses (destroy), also on networks the Boxfile no longer names. */
export function releaseAddresses(root: string, machine: string): void {
  const dir = projectPaths(root).networks;
  if (!existsSync(dir)) return;
  for (const network of readdirSync(dir)) {
    const current = readLeases(root, network);
    if (current[machine] === undefined) continue;
    const rest = Object.fromEntries(Object.entries(current).filter(([m]) => m !== machine));
    writeJsonAtomic(networkPaths(root, network).leases, rest);
  }
}
