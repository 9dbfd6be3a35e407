// Which other machines a machine should know by name: every machine sharing one of its private
// networks, at its address there (static, or allocated and recorded).
import type { Environment, MachineSpec } from '../config/types.js';
import type { HostEntry } from '../guest/network.js';
import type { Leases } from './addresses.js';

export function peerHosts(
  env: Environment,
  self: MachineSpec,
  leasesOf: (network: string) => Leases,
): HostEntry[] {
  const mine = new Set(self.networks.map((a) => a.network));
  const out: HostEntry[] = [];
  for (const m of env.machines) {
    if (m.name === self.name) continue;
    for (const a of m.networks) {
      const net = env.networks.find((n) => n.name === a.network);
      if (net?.type !== 'private' || !mine.has(a.network)) continue;
      const ip = a.ip ?? leasesOf(a.network)[m.name];
      if (ip === undefined) continue;
      const names = [...new Set([m.hostname, m.hostname.split('.')[0] ?? m.hostname, m.name])];
      out.push({ ip, names });
      break; // one address per peer: the first shared network's
    }
  }
  return out;
}
