// `boxfest port [MACHINE...]`: the host ports that reach each machine, as set up at its last
// boot (auto_correct may have moved a port from the one the Boxfile asks for).
import { readMachineState } from '../state/machine-state.js';
import type { CommandOptions } from './output.js';
import { observe, openProject } from './project.js';

export async function port(cwd: string, names: string[], o: CommandOptions): Promise<number> {
  const { env, selected } = openProject(cwd, names);
  const observed = await observe(env, selected);
  const rows = selected.map((spec) => {
    const state = readMachineState(env.root, spec.name);
    const a = observed.get(spec.name)?.actual;
    const running = a?.state === 'running';
    return {
      name: spec.name,
      state: a?.state ?? 'not_created',
      ports: [
        ...(running && a.ssh !== undefined
          ? [{ guest: spec.sshGuestPort, host: a.ssh.port, host_ip: a.ssh.host, protocol: 'tcp', ssh: true }]
          : []),
        ...(running ? (state?.ports ?? []) : []).map((p) => ({
          guest: p.guest,
          host: p.host,
          host_ip: p.hostIp,
          protocol: p.protocol,
          ...(p.host === p.requested ? {} : { requested: p.requested, auto_corrected: true }),
        })),
      ],
    };
  });
  if (o.json) {
    o.print(JSON.stringify(rows, null, 2));
    return 0;
  }
  for (const r of rows) {
    if (r.state !== 'running') {
      o.note(`${r.name}: ${r.state.replace('_', ' ')}, no ports forwarded`);
      continue;
    }
    for (const p of r.ports) {
      const what = 'ssh' in p ? '  (ssh)' : 'requested' in p ? `  (auto-corrected from ${p.requested})` : '';
      o.print(
        `${selected.length > 1 ? `${r.name}  ` : ''}${p.guest}/${p.protocol} -> ${p.host_ip}:${p.host}${what}`,
      );
    }
  }
  return 0;
}
