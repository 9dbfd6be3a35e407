import { reconcile } from '../plan/reconcile.js';
import { readMachineState, type InstantRecord } from '../state/machine-state.js';
import type { CommandOptions } from './output.js';
import { observe, openProject } from './project.js';

export async function status(cwd: string, names: string[], o: CommandOptions): Promise<number> {
  const { env, selected } = openProject(cwd, names);
  const observed = await observe(env, selected, { orphans: names.length === 0, unreachable: 'unknown' });
  const plan = reconcile(selected, observed, env.networks);
  const rows = plan.machines.map((m) => {
    const a = observed.get(m.machine)!.actual;
    const provider = selected.find((s) => s.name === m.machine)?.provider ?? env.provider;
    const live = a.state === 'running' || a.state === 'suspended';
    const recorded = readMachineState(env.root, m.machine);
    const addresses = live ? (recorded?.addresses ?? []) : [];
    const spec = selected.find((s) => s.name === m.machine);
    return {
      name: m.machine,
      state: a.state,
      provider,
      /** The box and version the machine was made from (version null: not created yet). */
      box: { name: recorded?.box.name ?? spec?.box ?? null, version: recorded?.box.version ?? null },
      ...(a.accel === undefined ? {} : { accel: a.accel }),
      ...(live && a.ssh !== undefined ? { ssh: a.ssh } : {}),
      networks: addresses.map((n) => ({ network: n.network, iface: n.iface, address: n.cidr, mac: n.mac })),
      /** Extra data disks as attached at the last boot (kept while the machine exists). */
      ...(recorded?.dataDisks === undefined || recorded.dataDisks.length === 0
        ? {}
        : { disks: recorded.dataDisks.map((d) => ({ name: d.name, size_mib: d.size, file: d.file })) }),
      ...instantOf(recorded?.instant),
      ...(a.reason === undefined ? {} : { reason: a.reason }),
      /** Why an `unknown` machine's host could not be asked: the error's code and what to do. */
      ...(a.unreachable === undefined
        ? {}
        : {
            error: {
              code: a.unreachable.code,
              ...(a.unreachable.hint === undefined ? {} : { hint: a.unreachable.hint }),
            },
          }),
      /** Private networks whose switch died under the running machine. */
      ...(a.cutOff === undefined ? {} : { cut_off: a.cutOff }),
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
    const cut =
      r.cut_off === undefined ? '' : `  cut off from ${r.cut_off.join(', ')} (its switch died): reload it`;
    const restored = r.restored === true ? '  restored from a saved state' : '';
    const ips = r.networks.map((n) => `  ${n.network} ${n.address.split('/')[0] ?? ''}`).join('');
    o.print(
      `${r.name.padEnd(width)}  ${r.state.padEnd(11)}  ${how}${ssh}${ips}${restored}${why}${cut}${gone}`,
    );
    for (const c of r.changes)
      o.print(`${' '.repeat(width)}  changed: ${c.message} (${c.class.replace('_', ' ')})`);
  }
  return 0;
}

/** `instant` machines: whether the first start restored a saved state, or why not. */
function instantOf(i: InstantRecord | undefined): { restored?: boolean; instant_fallback?: string } {
  if (i === undefined) return {};
  return {
    restored: i.restored === true,
    ...(i.fallback === undefined ? {} : { instant_fallback: i.fallback }),
  };
}
