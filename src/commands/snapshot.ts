// `snapshot save|restore|list|delete`: named disk snapshots through the provider's optional
// Snapshotter capability. A restore of a running machine halts it, restores the disk and boots
// it again (folders synced, no provisioner run), so it comes back as the snapshot left it.
import { BoxfestError } from '../errors.js';
import { closestWord } from '../config/schema.js';
import { checkSnapshotName, snapshotterOf } from '../providers/optional.js';
import { closeSsh, newMachineRun, type MachineRun } from '../pipeline/machine-run.js';
import { rendererFor, runJobs, type MachineJob } from '../pipeline/runner.js';
import type { Step } from '../pipeline/step.js';
import { upPipeline } from '../pipeline/up.js';
import { connect, exec } from '../ssh/client.js';
import { machineTarget } from '../ssh/machine.js';
import { readMachineState, updateMachineState } from '../state/machine-state.js';
import { failIfAnyFailed, jobsSummary, type CommandOptions } from './output.js';
import { contextOf, observe, openProject, providerOf, withLock } from './project.js';

const USAGE =
  'boxfest snapshot save NAME [MACHINE...] | restore NAME [MACHINE...] | list [MACHINE...] | delete NAME [MACHINE...]';

export async function snapshot(
  cwd: string,
  action: string,
  args: string[],
  o: CommandOptions,
): Promise<number> {
  if (action === 'list') return list(cwd, args, o);
  const [name, ...machines] = args;
  if (!['save', 'restore', 'delete'].includes(action)) {
    const best = closestWord(action, ['save', 'restore', 'list', 'delete']);
    throw new BoxfestError('USAGE', `unknown action \`snapshot ${action}\``, {
      details: `usage: ${USAGE}`,
      hint: `${best === undefined ? '' : `did you mean \`${best}\`? `}see \`boxfest snapshot --help\``,
    });
  }
  if (name === undefined)
    throw new BoxfestError('USAGE', `\`snapshot ${action}\` needs the snapshot's NAME`, {
      details: `usage: ${USAGE}`,
      hint: `e.g. \`boxfest snapshot ${action} before-upgrade\``,
    });
  checkSnapshotName(name);
  const { env, home, selected } = openProject(cwd, machines);
  for (const s of selected) snapshotterOf(providerOf(s));
  return withLock(env, `snapshot ${action}`, async () => {
    const observed = await observe(env, selected);
    for (const s of selected)
      if (observed.get(s.name)?.actual.state === 'not_created')
        throw new BoxfestError(
          'MACHINE_NOT_CREATED',
          `machine \`${s.name}\` is not created: it has no disk to snapshot`,
          {
            machine: s.name,
            hint: `create it first: boxfest up ${s.name}`,
          },
        );
    // Checked for every machine before any is touched: a restore of a missing name must not
    // power a machine off first.
    for (const spec of selected) {
      const names = (await snapshotterOf(providerOf(spec)).listSnapshots(contextOf(env, spec))).map(
        (s) => s.name,
      );
      if (action === 'save' && names.includes(name))
        throw new BoxfestError(
          'SNAPSHOT_EXISTS',
          `machine \`${spec.name}\` already has a snapshot \`${name}\``,
          {
            machine: spec.name,
            hint: `pick another name, or delete it first: boxfest snapshot delete ${name} ${spec.name}`,
          },
        );
      if (action !== 'save' && !names.includes(name))
        throw new BoxfestError('SNAPSHOT_NOT_FOUND', `machine \`${spec.name}\` has no snapshot \`${name}\``, {
          machine: spec.name,
          hint:
            names.length === 0
              ? `it has no snapshots; take one: boxfest snapshot save NAME ${spec.name}`
              : `its snapshots: ${names.join(', ')}`,
        });
    }
    const jobs: MachineJob<MachineRun>[] = selected.map((spec) => {
      const actual = observed.get(spec.name)!.actual;
      const ctx = newMachineRun(env, spec, providerOf(spec), home, actual, 'none');
      const live = actual.state === 'running' || actual.state === 'suspended';
      const steps =
        action === 'save'
          ? [...(actual.state === 'running' ? [guestSync] : []), saveStep(name)]
          : action === 'delete'
            ? [deleteStep(name)]
            : live
              ? [powerOff, restoreStep(name), ...upPipeline]
              : [restoreStep(name)];
      return { machine: spec.name, ctx, steps };
    });
    const results = await runJobs(jobs, { parallel: true, renderer: rendererFor(o.json) });
    for (const j of jobs) closeSsh(j.ctx);
    if (o.json) o.print(JSON.stringify(jobsSummary(results), null, 2));
    failIfAnyFailed(results, o);
    return 0;
  });
}

async function list(cwd: string, machines: string[], o: CommandOptions): Promise<number> {
  const { env, selected } = openProject(cwd, machines);
  const observed = await observe(env, selected);
  const rows = await Promise.all(
    selected.map(async (spec) => ({
      machine: spec.name,
      snapshots:
        observed.get(spec.name)?.actual.state === 'not_created'
          ? []
          : await snapshotterOf(providerOf(spec)).listSnapshots(contextOf(env, spec)),
    })),
  );
  if (o.json) o.print(JSON.stringify(rows, null, 2));
  else
    for (const r of rows) {
      if (r.snapshots.length === 0) o.print(`${r.machine}  (no snapshots)`);
      for (const s of r.snapshots) o.print(`${r.machine}  ${s.name}  ${s.createdAt}`);
    }
  return 0;
}

/** Flushes the guest's page cache, so the disk snapshot holds what the guest wrote. Best effort. */
const guestSync: Step<MachineRun> = {
  name: 'guest-sync',
  title: 'flush guest writes',
  run: async (ctx, out) => {
    const state = readMachineState(ctx.env.root, ctx.spec.name);
    if (state === undefined || ctx.actual.ssh === undefined || state.hostKey === undefined) return;
    try {
      const { client } = await connect(machineTarget(ctx.paths, state, ctx.actual.ssh, undefined), 10_000);
      try {
        await exec(client, 'sync');
      } finally {
        client.end();
      }
    } catch (e) {
      out.line(
        `could not run sync in the guest (${e instanceof Error ? e.message : String(e)}); the snapshot is crash-consistent`,
      );
    }
  },
};

const saveStep = (name: string): Step<MachineRun> => ({
  name: 'snapshot-save',
  title: `save snapshot ${name}`,
  run: (ctx) => snapshotterOf(ctx.provider).saveSnapshot(ctx, name),
});

const deleteStep = (name: string): Step<MachineRun> => ({
  name: 'snapshot-delete',
  title: `delete snapshot ${name}`,
  run: (ctx) => snapshotterOf(ctx.provider).deleteSnapshot(ctx, name),
});

/** The running state is thrown away by the restore anyway: power off at once. */
const powerOff: Step<MachineRun> = {
  name: 'power-off',
  title: 'power off',
  run: async (ctx) => {
    updateMachineState(ctx.env.root, ctx.spec.name, (s) => ({ ...s, converged: false }));
    await ctx.provider.stop(ctx, { force: true, timeoutMs: 0 });
    ctx.actual = { name: ctx.spec.name, state: 'halted' };
  },
};

const restoreStep = (name: string): Step<MachineRun> => ({
  name: 'snapshot-restore',
  title: `restore snapshot ${name}`,
  run: (ctx) => snapshotterOf(ctx.provider).restoreSnapshot(ctx, name),
});
