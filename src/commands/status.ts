import { reconcile } from '../plan/reconcile.js';
import { readMachineState } from '../state/machine-state.js';
import type { CommandOptions } from './output.js';
import { observe, openProject } from './project.js';

export async function status(cwd: string, names: string[], o: CommandOptions): Promise<number> {
  const { env, selected } = openProject(cwd, names);
  const observed = await observe(env, selected, { orphans: names.length === 0 });
  const plan = reconcile(selected, observed);
  const rows = plan.machines.map((m) => {
    const a = observed.get(m.machine)!.actual;
    const provider = selected.find((s) => s.name === m.machine)?.provider ?? env.provider;
    const live = a.state === 'running' || a.state === 'suspended';
    const addresses = live ? (readMachineState(env.root, m.machine)?.addresses ?? []) : [];
    return {
      name: m.machine,
      state: a.state,
      provider,
      ...(a.accel === undefined ? {} : { accel: a.accel }),
      ...(live && a.ssh !== undefined ? { ssh: a.ssh } : {}),
      networks: addresses.map((n) => ({ network: n.network, iface: n.iface, address: n.cidr, mac: n.mac })),
      ...(a.reason === undefined ? {} : { reason: a.reason }),
      /** What `up` would do next (see `plan`). */
      next: m.action,
      changes: m.changes,
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
    const gone = r.next === 'remove' ? '  (not in the Boxfile)' : '';
    const ips = r.networks.map((n) => `  ${n.network} ${n.address.split('/')[0] ?? ''}`).join('');
    o.print(`${r.name.padEnd(width)}  ${r.state.padEnd(11)}  ${how}${ssh}${ips}${why}${gone}`);
    for (const c of r.changes)
      o.print(`${' '.repeat(width)}  changed: ${c.message} (${c.class.replace('_', ' ')})`);
  }
  return 0;
}
