import { BoxfestError } from '../errors.js';
import { NEEDS_CONSENT, reconcile, type MachinePlan, type Plan, type UpAction } from '../plan/reconcile.js';
import { shrinkOf } from '../plan/drift.js';
import { availableParallelism } from 'node:os';
import { defaultBootLimit, hostPacer } from '../pipeline/boot-pacer.js';
import {
  closeSsh,
  newMachineRun,
  releaseBootSlot,
  type MachineRun,
  type ProvisionMode,
} from '../pipeline/machine-run.js';
import { rendererFor, runJobs, type JobResult, type MachineJob } from '../pipeline/runner.js';
import type { Step } from '../pipeline/step.js';
import { destroyMachine } from '../pipeline/steps/destroy.js';
import { withTriggers } from '../pipeline/steps/triggers.js';
import { provisionPipeline, upPipeline } from '../pipeline/up.js';
import {
  environmentRuns,
  runEnvironmentProvisioners,
  withEnvironmentResults,
} from '../pipeline/environment-provision.js';
import { registerProject } from '../state/index.js';
import { askYesNo, canAsk } from './confirm.js';
import { orphanSpec } from './orphans.js';
import {
  environmentJson,
  environmentOutput,
  failIfAnyFailed,
  jobsSummary,
  type CommandOptions,
} from './output.js';
import { observe, openProject, providerOf, withLock } from './project.js';
import { allocateAddresses } from '../network/leases.js';
import { checkFixedPorts } from '../network/preflight.js';

export interface UpOptions extends CommandOptions {
  /** False: one machine at a time, whole pipelines (`--no-parallel`). */
  parallel: boolean;
  /** `--parallel N`: at most N guests booting at once; default one per core, adaptive. */
  bootLimit?: number | undefined;
  /** Every step of every machine on a terminal, however many machines. */
  verbose?: boolean;
  provision: ProvisionMode;
  /** Reload machines whose changes need it (halt, then boot). */
  reload: boolean;
  /** Recreate machines whose changes need it (destroy, then create). */
  recreate: boolean;
  /** Destroy machines that are no longer in the Boxfile. */
  prune: boolean;
  /** `boxfest reload`: reload every running or suspended machine, changed or not. */
  reloadAll?: boolean;
}

export async function up(cwd: string, names: string[], o: UpOptions): Promise<number> {
  const { env, home, selected: named } = openProject(cwd, names);
  // `autostart: false` machines come up only when named.
  const selected = names.length > 0 ? named : named.filter((m) => m.autostart);
  return withLock(env, o.reloadAll === true ? 'reload' : 'up', async () => {
    registerProject(home, env.root, env.name);
    // A host that is down fails only its machines (reported below); the others come up.
    const observed = await observe(env, selected, { orphans: names.length === 0, unreachable: 'unknown' });
    const plan =
      o.reloadAll === true
        ? reloadEverything(reconcile(selected, observed, env.networks))
        : reconcile(selected, observed, env.networks);
    for (const m of plan.machines)
      for (const c of m.changes) o.note(`${m.machine}: ${c.message} (${c.class.replace('_', ' ')})`);

    const refused: JobResult[] = [];
    const approved = new Map<string, MachinePlan>();
    for (const m of plan.machines) {
      const down = observed.get(m.machine)?.actual.unreachable;
      if (m.action === 'unreachable' && down !== undefined) {
        refused.push({ machine: m.machine, ok: false, ran: [], failedStep: 'inspect', error: down });
        continue;
      }
      const shrink = shrinkOf(m.changes);
      if (shrink !== undefined) {
        refused.push({
          machine: m.machine,
          ok: false,
          ran: [],
          failedStep: 'plan',
          error: shrinkRefusal(m, shrink),
        });
        continue;
      }
      if (!NEEDS_CONSENT.includes(m.action)) approved.set(m.machine, m);
      else if (await consent(m, o)) approved.set(m.machine, m);
      else if (m.action === 'remove')
        o.note(
          `${m.machine}: no longer in the Boxfile; \`boxfest up --prune\` or \`boxfest destroy ${m.machine}\` removes it`,
        );
      else refused.push({ machine: m.machine, ok: false, ran: [], failedStep: 'plan', error: refusal(m) });
    }

    // `--provision` on a machine that is up to date runs its provisioners, as Vagrant does.
    const provisionOnly = (m: MachinePlan) => m.action === 'none' && o.provision === 'all';
    const jobs: MachineJob<MachineRun>[] = [];
    for (const m of approved.values()) {
      if (m.action === 'none' && !provisionOnly(m)) {
        o.note(`${m.machine}: ${m.reason}, nothing to do`);
        continue;
      }
      const spec = selected.find((s) => s.name === m.machine) ?? orphanSpec(env, m.machine);
      const actual = observed.get(m.machine)!.actual;
      const run = newMachineRun(env, spec, providerOf(spec), home, actual, o.provision);
      const steps = upSteps(m.action === 'none' ? 'provision' : m.action, run);
      // Triggers fire on the command as typed (`up --reload` fires `up`), not on a prune's removal.
      const event = o.reloadAll === true ? 'reload' : 'up';
      jobs.push({
        machine: m.machine,
        steps: m.action === 'remove' ? steps : withTriggers(env, spec, event, steps),
        ctx: run,
        onEnd: () => releaseBootSlot(run),
      });
    }
    // Before any VM starts: colliding fixed ports fail the whole command; addresses are
    // allocated in Boxfile order, so the same Boxfile always gives the same ones.
    const BOOTS: readonly string[] = ['create', 'start', 'reload', 'recreate'];
    await checkFixedPorts(
      home,
      env.root,
      [...approved.values()]
        .filter((m) => BOOTS.includes(m.action))
        .flatMap((m) => selected.filter((s) => s.name === m.machine)),
    );
    // Not for a refused machine: it keeps the address its guest has until its reload.
    allocateAddresses(
      env,
      selected.filter((s) => approved.has(s.name)),
    );
    // Cold boots are paced to the host: a few guests boot at a time, the rest wait their turn.
    const paced =
      o.parallel && jobs.length > 1
        ? await hostPacer(
            o.bootLimit ?? defaultBootLimit(availableParallelism()),
            o.bootLimit === undefined,
            jobs.map((j) => j.ctx.spec.name),
          )
        : undefined;
    for (const j of jobs) if (paced !== undefined) j.ctx.pacer = paced.pacer;
    let ran: JobResult[];
    try {
      ran = await runJobs(jobs, {
        parallel: o.parallel,
        renderer: rendererFor(o.json),
        verbose: o.verbose === true,
      });
    } finally {
      paced?.stop();
    }
    for (const j of jobs) closeSsh(j.ctx);
    // Environment-wide provisioners (ansible) once every machine's pipeline has ended.
    const envRuns = await runEnvironmentProvisioners(
      env,
      environmentRuns(
        env,
        selected.filter((s) => approved.has(s.name)),
        ran,
        o.provision,
      ),
      environmentOutput(o),
    );
    const results = [...withEnvironmentResults(ran, envRuns), ...refused];
    if (o.json)
      o.print(
        JSON.stringify(
          plan.machines.map((m) => {
            const r = results.find((x) => x.machine === m.machine);
            const ctx = jobs.find((j) => j.machine === m.machine)?.ctx;
            return {
              ...m,
              ...(r ? jobsSummary([r])[0] : { ok: true, steps: [] }),
              // How long it waited for its turn to boot (paced cold boots), when it booted.
              ...(ctx?.bootWaitedMs === undefined ? {} : { boot_wait_ms: ctx.bootWaitedMs }),
              output: ctx?.log ?? [],
              ...environmentJson(envRuns, m.machine),
            };
          }),
          null,
          2,
        ),
      );
    failIfAnyFailed(results, o);
    return 0;
  });
}

/**
 * The steps `up` runs for a machine's planned action (`none`: asked to provision it anyway). The
 * one list serves every other action: its steps skip themselves by the machine's state.
 */
export function upSteps(
  action: Exclude<UpAction, 'none'> | 'provision',
  run: MachineRun,
): Step<MachineRun>[] {
  if (action === 'remove') return [destroyMachine];
  if (action === 'provision') {
    run.endpoint = run.actual.ssh;
    return provisionPipeline;
  }
  run.reload = action === 'reload';
  run.recreate = action === 'recreate';
  return upPipeline;
}

/** `boxfest reload`: every created machine is rebooted with the Boxfile's settings. */
function reloadEverything(plan: Plan): Plan {
  return {
    ...plan,
    machines: plan.machines.map((m) =>
      ['none', 'apply', 'continue', 'resume', 'reload'].includes(m.action)
        ? { ...m, action: 'reload', reason: m.action === 'reload' ? m.reason : 'reload asked for' }
        : m,
    ),
  };
}

async function consent(m: MachinePlan, o: UpOptions): Promise<boolean> {
  const given =
    m.action === 'reload' ? o.reload || o.reloadAll === true : m.action === 'recreate' ? o.recreate : o.prune;
  if (given) return true;
  if (!canAsk(o.json)) return false;
  const what =
    m.action === 'reload'
      ? 'reload it now (halt, then boot with the new settings)'
      : m.action === 'recreate'
        ? 'recreate it now (its disk is deleted and made anew from the box)'
        : 'destroy it now (its disk is deleted)';
  return askYesNo(`${m.machine}: ${m.reason}. ${what[0]!.toUpperCase()}${what.slice(1)}? [y/N] `);
}

function refusal(m: MachinePlan): BoxfestError {
  const changes = m.changes.filter((c) => c.class === (m.action === 'reload' ? 'reload' : 'recreate'));
  const list = changes.map((c) => c.message).join('; ');
  return m.action === 'reload'
    ? new BoxfestError(
        'RELOAD_REQUIRED',
        // No changed setting: something else needs the reboot (a network's switch died).
        changes.length === 0 ? m.reason : `${list}: the machine must be rebooted to apply this`,
        {
          machine: m.machine,
          step: 'plan',
          hint: `run \`boxfest up --reload ${m.machine}\` (or \`boxfest reload ${m.machine}\`); nothing was changed on ${m.machine}`,
        },
      )
    : new BoxfestError('RECREATE_REQUIRED', `${list}: the machine needs a new disk to apply this`, {
        machine: m.machine,
        step: 'plan',
        hint: `run \`boxfest up --recreate ${m.machine}\` (its disk is deleted and made anew from the box); nothing was changed on ${m.machine}`,
      });
}

function shrinkRefusal(m: MachinePlan, why: string): BoxfestError {
  return new BoxfestError(
    'DISK_SHRINK',
    `${why}: a disk never shrinks (its filesystem would lose what lies beyond the new end)`,
    {
      machine: m.machine,
      step: 'plan',
      hint: `set it back to its size or more; for a smaller disk, \`boxfest destroy ${m.machine}\` and \`up\` again. Nothing was changed on ${m.machine}`,
    },
  );
}
