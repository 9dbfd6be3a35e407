import { reconcile } from '../plan/reconcile.js';
import { readMachineState } from '../state/machine-state.js';
import type { CommandOptions } from './output.js';
import { observe, openProject } from './project.js';

export async function status(cwd: string, names: string[], o: CommandOptions): Promise<number> {
  const { env, selected } = openProject(cwd, names);
  const observed = await observe(env, selected);
  const plan = reconcile(selected, observed);
  const rows = selected.map((spec) => {
    const a = observed.get(spec.name)!.actual;
    const addresses = a.state === 'running' ? (readMachineState(env.root, spec.name)?.addresses ?? []) : [];
    return {
      name: spec.name,
      state: a.state,
      provider: spec.provider,
      ...(a.accel === undefined ? {} : { accel: a.accel }),
      ...(a.state === 'running' && a.ssh !== undefined ? { ssh: a.ssh } : {}),
      networks: addresses.map((n) => ({ network: n.network, iface: n.iface, address: n.cidr, mac: n.mac })),
      ...(a.reason === undefined ? {} : { reason: a.reason }),
      drift: plan.machines.find((m) => m.machine === spec.name)?.drift ?? [],
    };
  });
  if (o.json) {
    o.print(JSON.stringify(rows, null, 2));
    return 0;
  }
  const width = Math.max(...rows.map((r) => r.name.length));
  for (const r of rows) {
    const how = r.accel === undefined ? `(${r.provider})` : `(${r.provider}, ${r.accel})`;
    const ssh = r.ssh === undefined ? '' : `  ssh ${r.ssh.host}:${r.ssh.port}`;
    const why = r.reason === undefined ? '' : `  ${r.reason}`;
    const ips = r.networks.map((n) => `  ${n.network} ${n.address.split('/')[0] ?? ''}`).join('');
    o.print(`${r.name.padEnd(width)}  ${r.state.padEnd(11)}  ${how}${ssh}${ips}${why}`);
    for (const d of r.drift) o.print(`${' '.repeat(width)}  drift: ${d}`);
  }
  return 0;
}
