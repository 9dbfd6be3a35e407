// `global-status`: every project in the index with its machines' live state. Entries whose
// project has no machines left (destroyed, deleted, moved) are pruned as they are found. One
// project boxfest cannot read (a symlinked .boxfest/, a corrupt state.json) is listed as broken,
// with the reason, and never stops the others from being listed.
import { join } from 'node:path';
import { BUILTIN, projectName } from '../config/defaults.js';
import { PROVIDER_NAMES, type Environment } from '../config/types.js';
import { BoxfestError, errorMessage, isHostUnreachable } from '../errors.js';
import type { ActualMachine } from '../providers/provider.js';
import { listerOf } from '../providers/optional.js';
import { providerFor } from '../providers/registry.js';
import { forgetProject, readIndex, type IndexEntry } from '../state/index.js';
import { boxfestHome, machinePaths } from '../state/paths.js';
import { checkProjectTree } from '../state/safe-remove.js';
import { orphanNames, orphanSpec, strayMachineDirs } from './orphans.js';
import type { CommandOptions } from './output.js';

interface ProjectRow {
  root: string;
  name: string;
  /** Why boxfest cannot show this project's machines. */
  broken?: string;
  machines: { name: string; provider: string; state: string; reason?: string }[];
}

export async function globalStatus(o: CommandOptions): Promise<number> {
  const home = boxfestHome();
  const projects: ProjectRow[] = [];
  for (const { file, entry } of readIndex(home)) {
    let row: ProjectRow | undefined;
    try {
      row = await projectRow(entry);
    } catch (e) {
      if (!(e instanceof BoxfestError)) throw e;
      row = { root: entry.root, name: entry.name, broken: errorMessage(e), machines: [] };
    }
    if (row === undefined) forgetProject(file);
    else projects.push(row);
  }
  // Machines a hypervisor knows from their ownership tags whose project has no state for them
  // (a fresh checkout, a deleted .boxfest/): listed under their project all the same.
  for (const provider of PROVIDER_NAMES) {
    const lister = listerOf(providerFor(provider));
    if (lister === undefined) continue;
    for (const m of await lister.listOwned()) {
      let p = projects.find((x) => x.root === m.project);
      if (p === undefined) {
        p = { root: m.project, name: projectName(m.project), machines: [] };
        projects.push(p);
      }
      if (p.machines.some((x) => x.name === m.machine)) continue;
      p.machines.push({ name: m.machine, provider, state: m.state });
    }
  }
  if (o.json) {
    o.print(JSON.stringify(projects, null, 2));
    return 0;
  }
  if (projects.length === 0) o.print('no boxfest environments on this host');
  for (const p of projects) {
    o.print(p.broken === undefined ? p.root : `${p.root}  (broken: ${p.broken})`);
    const width = Math.max(...p.machines.map((m) => m.name.length));
    for (const m of p.machines)
      o.print(
        `  ${m.name.padEnd(width)}  ${m.state.padEnd(11)}  (${m.provider})${m.reason === undefined ? '' : `  ${m.reason}`}`,
      );
  }
  return 0;
}

/** The project's machines; undefined when it has none left (its entry is pruned). */
async function projectRow(entry: IndexEntry): Promise<ProjectRow | undefined> {
  if (entry.root === '') return undefined;
  const env: Environment = {
    file: join(entry.root, 'Boxfile.yaml'),
    root: entry.root,
    name: entry.name,
    // Only a stand-in: each machine's provider comes from its state.json.
    provider: BUILTIN.provider,
    networks: [],
    machines: [],
  };
  checkProjectTree(env.root);
  const names = orphanNames(env);
  const stray = strayMachineDirs(env).filter((s) => s.corrupt);
  if (names.length === 0 && stray.length === 0) return undefined;
  const machines: ProjectRow['machines'] = await Promise.all(
    names.map(async (n) => {
      const spec = orphanSpec(env, n);
      // A machine on a host that is down is listed `unknown` with the reason; the rest still are.
      const a = await providerFor(spec.provider)
        .inspect({ env, spec, paths: machinePaths(env.root, n) })
        .catch((e: unknown): ActualMachine => {
          if (!isHostUnreachable(e)) throw e;
          return { name: n, state: 'unknown', reason: e.message };
        });
      return {
        name: n,
        provider: spec.provider,
        state: a.state,
        ...(a.reason === undefined ? {} : { reason: a.reason }),
      };
    }),
  );
  for (const s of stray) machines.push({ name: s.name, provider: 'unknown', state: 'broken', reason: s.why });
  return { root: entry.root, name: entry.name, machines };
}
