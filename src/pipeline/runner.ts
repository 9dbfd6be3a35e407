// Runs one pipeline per machine on listr2: machines in parallel (or one at a time), steps in
// order as subtasks. A failing machine rolls back its own half-done work and does not stop the
// others.
import { outputMode } from '../util/output-mode.js';
import type { ListrTask } from 'listr2';
import { BoxfestError, errorMessage } from '../errors.js';
import { killIfAsked } from '../util/fault.js';
import type { Step, StepOutput } from './step.js';

export interface MachineJob<C> {
  machine: string;
  steps: Step<C>[];
  ctx: C;
  /** Runs once the machine's pipeline ended, whichever way (e.g. gives back its boot slot). */
  onEnd?: () => void;
}

export interface JobResult {
  machine: string;
  ok: boolean;
  /** Steps that ran (not skipped), in order. */
  ran: string[];
  /** Wall-clock seconds of each step that ran (the failed one too): where an `up` spends its time. */
  seconds?: Record<string, number>;
  /** When each step that ran started and ended (ms since the epoch): the timeline of an `up`. */
  times?: Record<string, { start: number; end: number }>;
  failedStep?: string;
  error?: BoxfestError;
  /** After a failure: the steps whose rollback ran, newest first. */
  rolledBack?: string[];
  /** Rollbacks that failed (each names its step): what they could not undo is left behind. */
  rollbackErrors?: BoxfestError[];
}

/** `lines`: boxfest's own plain output (logs, pipes): one line per completed step, a summary. */
export type Renderer = 'default' | 'simple' | 'silent' | 'lines';

export interface RunOptions {
  parallel: boolean;
  renderer: Renderer;
  /** Where `lines` output goes; stdout by default. */
  write?: (line: string) => void;
  /**
   * One line per machine (its current step and time) instead of a tree of every step. Default:
   * on a terminal from COMPACT_FROM machines on, unless `verbose`.
   */
  compact?: boolean;
  /**
   * `--verbose` (or the global flag, read from outputMode): every step of every
   * machine however many machines (the full tree, never compact), every output line kept, and in
   * plain lines the skipped steps with their reasons too.
   */
  verbose?: boolean;
  /** Aborted = stop: each machine ends its current step and rolls back. Default: Ctrl-C (SIGINT). */
  signal?: AbortSignal;
}

/** Ctrl-C while machines run: every job stops after (or, if interruptible, during) its current step. */
function sigintSignal(): { signal: AbortSignal; dispose: () => void } {
  const ac = new AbortController();
  const onSigint = () => {
    if (ac.signal.aborted) process.exit(130); // a second Ctrl-C: leave now
    process.stderr.write(
      '\ninterrupted: stopping after the current step and rolling back (Ctrl-C again to quit now)\n',
    );
    ac.abort();
  };
  process.on('SIGINT', onSigint);
  return { signal: ac.signal, dispose: () => process.off('SIGINT', onSigint) };
}

function interrupted(step: string, committed: boolean): BoxfestError {
  return new BoxfestError('INTERRUPTED', `interrupted during step ${step}`, {
    hint: committed
      ? 'the machine is usable; run `boxfest up` again to finish'
      : 'what this run had done to the machine was rolled back; run `boxfest up` again to start over',
  });
}

/** The step's promise, or — for an interruptible step — an earlier rejection when `signal` aborts. */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal, interruptible: boolean): Promise<T> {
  if (!interruptible) return p;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new AbortedStep());
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

class AbortedStep extends Error {}

/**
 * listr2's live tree on a terminal, boxfest's plain lines in logs and pipes, nothing for --json or
 * --quiet. `--verbose` is not a renderer of its own: it keeps the whole tree (see RunOptions).
 */
export function rendererFor(json: boolean): Renderer {
  if (json || outputMode().quiet) return 'silent';
  return process.stdout.isTTY ? 'default' : 'lines';
}

/** From this many machines on, a terminal shows one line per machine (unless --verbose). */
export const COMPACT_FROM = 4;

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/**
 * A finished step as a line: its title (what it did) and how long it took. The runner adds the
 * time, so step titles never carry their own ("SSH ready in 0.4 s (0.4 s)").
 */
export function stepLine(
  machine: string,
  title: string,
  ms: number,
  failure?: { step: string; message: string },
): string {
  return failure === undefined
    ? `✔ ${machine}: ${title} (${seconds(ms)})`
    : `✖ ${machine}: ${failure.step} failed after ${seconds(ms)}: ${failure.message}`;
}

/** The end of plain output: one row per machine, how it ended and how long it took. */
export function summaryTable(
  results: readonly JobResult[],
  elapsedMs: ReadonlyMap<string, number>,
): string[] {
  const rows = results.map((r) => [
    r.machine,
    r.ok ? 'ok' : 'FAILED',
    elapsedMs.has(r.machine) ? seconds(elapsedMs.get(r.machine)!) : '-',
    r.ok ? `${r.ran.length} step(s)` : `failed at ${r.failedStep ?? '?'}: ${r.error?.message ?? ''}`,
  ]);
  const head = ['machine', 'result', 'time', ''];
  const width = (i: number) => Math.max(...[head, ...rows].map((r) => r[i]!.length));
  return [head, ...rows].map((r) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(width(i))))
      .join('  ')
      .trimEnd(),
  );
}

export async function runJobs<C>(jobs: MachineJob<C>[], opts: RunOptions): Promise<JobResult[]> {
  const own = opts.signal === undefined ? sigintSignal() : undefined;
  try {
    return await runAll(jobs, opts, (opts.signal ?? own?.signal)!);
  } finally {
    own?.dispose();
  }
}

async function runAll<C>(jobs: MachineJob<C>[], opts: RunOptions, signal: AbortSignal): Promise<JobResult[]> {
  if (jobs.length === 0) return [];
  // In plain-line output the steps of parallel machines interleave, so each line names its machine.
  const label = (machine: string, title: string) =>
    opts.renderer === 'default' ? title : `${machine}: ${title}`;
  // Plain lines: a step is one line when it ends (skipped steps none), its output as it comes.
  const write =
    opts.renderer !== 'lines'
      ? undefined
      : (opts.write ?? ((l: string) => void process.stdout.write(`${l}\n`)));
  const verbose = opts.verbose === true || outputMode().verbose;
  const compact = opts.compact ?? (opts.renderer === 'default' && !verbose && jobs.length >= COMPACT_FROM);
  // Many machines on a terminal: boxfest's own lines, not listr2's tree (see live-lines.ts).
  const live =
    compact && opts.renderer === 'default'
      ? new (await import('./live-lines.js')).LiveLines(jobs.map((j) => j.machine))
      : undefined;
  // listr2 only where it draws (a terminal's tree, its simple fallback): for --json, plain lines
  // and one line per machine the runner drives the steps itself, and never loads listr2 (~20 ms
  // before the first step, more on a loaded host).
  const direct = opts.renderer === 'silent' || write !== undefined || live !== undefined;
  const results = new Map<string, JobResult>();
  const elapsed = new Map<string, number>();
  const tasks: ListrTask[] = jobs.map((job) => {
    const result: JobResult = { machine: job.machine, ok: false, ran: [] };
    results.set(job.machine, result);
    const done: Step<C>[] = [];
    let committed = false;
    let jobStart: number | undefined;
    const ended = () => {
      if (jobStart !== undefined) elapsed.set(job.machine, Date.now() - jobStart);
    };
    /** Runs one step; `view` shows its title and output (a listr2 subtask, or the machine's line). */
    const runStep = async (
      step: Step<C>,
      view: { title(t: string): void; output(t: string): void; done?(t: string): void },
    ) => {
      const stepStart = Date.now();
      jobStart ??= stepStart;
      let title = step.title;
      const out: StepOutput = {
        line: (text) => {
          view.output(`${job.machine} | ${text}`);
          write?.(`› ${job.machine} | ${text}`);
        },
        title: (text) => {
          title = text;
          view.title(text);
        },
      };
      const fail = async (e: BoxfestError, undo: Step<C>[]) => {
        write?.(
          stepLine(job.machine, title, Date.now() - stepStart, { step: step.name, message: e.message }),
        );
        ended();
        result.failedStep = step.name;
        result.error = e.withContext({ machine: job.machine, step: step.name });
        job.onEnd?.();
        await rollback(undo, job, result);
        throw result.error;
      };
      if (signal.aborted) return fail(interrupted(step.name, committed), done);
      result.ran.push(step.name);
      const took = () => {
        const end = Date.now();
        (result.seconds ??= {})[step.name] = Math.round(end - stepStart) / 1000;
        (result.times ??= {})[step.name] = { start: stepStart, end };
      };
      try {
        await untilAborted(step.run(job.ctx, out), signal, step.interruptible === true);
        took();
      } catch (e) {
        took();
        // An abandoned step is half done: its own rollback runs too, newest first.
        if (e instanceof AbortedStep) return fail(interrupted(step.name, committed), [...done, step]);
        return fail(asBoxfestError(e), done);
      }
      if (typeof step.commits === 'function' ? step.commits(job.ctx) : step.commits === true) {
        done.length = 0;
        committed = true;
      } else done.push(step);
      write?.(stepLine(job.machine, title, Date.now() - stepStart));
      view.done?.(`${title} (${seconds(Date.now() - stepStart)})`);
      killIfAsked(step.name);
      // Ctrl-C during a step that had to finish: it is undone with the rest.
      if (signal.aborted) return fail(interrupted(step.name, committed), done);
    };
    const succeeded = () => {
      result.ok = true;
      ended();
      job.onEnd?.();
    };
    if (compact || direct)
      return {
        title: job.machine,
        task: async (_ctx, task) => {
          let current = 'queued';
          let since = Date.now();
          let last = '';
          const show = () => {
            const total = jobStart === undefined ? '' : `, ${seconds(Date.now() - jobStart)} in all`;
            task.title = `${job.machine}: ${current} (${seconds(Date.now() - since)}${total})`;
            live?.set(job.machine, `${task.title}${last === '' ? '' : `  › ${last}`}`);
          };
          const timer = setInterval(show, 1000);
          try {
            for (const step of job.steps) {
              const why = step.skip?.(job.ctx) ?? false;
              if (why !== false) {
                // Plain lines name a skipped step only when asked (--verbose).
                if (verbose) write?.(`- ${job.machine}: ${step.title} skipped (${why})`);
                continue;
              }
              current = step.title;
              since = Date.now();
              show();
              await runStep(step, {
                title: (t) => {
                  current = t;
                  show();
                },
                output: (t) => {
                  task.output = t;
                  last = t.slice(job.machine.length + 3);
                  show();
                },
              });
            }
            succeeded();
            task.title = `${job.machine}: done in ${seconds(elapsed.get(job.machine) ?? 0)} (${current})`;
            live?.set(job.machine, `✔ ${task.title}`);
          } catch (e) {
            task.title = `${job.machine}: failed at ${current} after ${seconds(elapsed.get(job.machine) ?? 0)}`;
            live?.set(job.machine, `✖ ${task.title}`);
            throw e;
          } finally {
            clearInterval(timer);
          }
        },
      };
    const subtasks: ListrTask[] = job.steps.map((step) => ({
      title: label(job.machine, step.title),
      // The tree shows a skipped step itself (plain lines never come here: see `direct`).
      skip: () => step.skip?.(job.ctx) ?? false,
      task: (_ctx, task) =>
        runStep(step, {
          title: (t) => {
            task.title = label(job.machine, t);
          },
          output: (t) => {
            task.output = t;
          },
          // The tree keeps each finished step with its time, as plain lines do.
          done: (t) => {
            task.title = label(job.machine, t);
          },
        }),
    }));
    return {
      title: job.machine,
      task: (_ctx, task) =>
        task.newListr(
          [
            ...subtasks,
            // Untitled, so never shown: reached only when every step succeeded.
            { task: succeeded },
          ],
          { concurrent: false, exitOnError: true },
        ),
    };
  });
  try {
    if (direct) await runDirect(tasks, opts.parallel);
    else await runListr(tasks, opts, compact);
  } finally {
    live?.stop();
  }
  const all = jobs.map((j) => results.get(j.machine) ?? { machine: j.machine, ok: false, ran: [] });
  if (write !== undefined && all.some((r) => r.ran.length > 0))
    for (const l of summaryTable(all, elapsed)) write(l);
  return all;
}

/** Each machine's task without listr2: all at once or one after another; a failure stops only its own. */
async function runDirect(tasks: ListrTask[], parallel: boolean): Promise<void> {
  // What the tasks set on listr2's task object (title, output) goes nowhere: the runner's lines show it.
  const run = async (t: ListrTask) => {
    try {
      await (t.task as (ctx: unknown, task: { title: string; output: string }) => Promise<void>)(
        {},
        { title: '', output: '' },
      );
    } catch {
      // Recorded in the job's result.
    }
  };
  if (parallel) await Promise.all(tasks.map(run));
  else for (const t of tasks) await run(t);
}

async function runListr(tasks: ListrTask[], opts: RunOptions, compact: boolean): Promise<void> {
  const { Listr } = await import('listr2');
  const list = new Listr(tasks, {
    concurrent: opts.parallel,
    exitOnError: false,
    // Ctrl-C is ours (sigintSignal): listr2's own handler would exit(127) without any rollback.
    registerSignalListeners: false,
    renderer: opts.renderer,
    fallbackRenderer: 'simple',
    rendererOptions: {
      // One line per machine: of a step's output, only its newest line, while it runs.
      outputBar: compact ? 1 : Infinity,
      persistentOutput: !compact,
      // A failed machine keeps its line (name, step, time); cli.ts prints its error in full.
      ...(compact ? { showErrorMessage: false } : {}),
      collapseSubtasks: false,
      collapseSkips: false,
    },
  });
  try {
    await list.run();
  } catch {
    // Per-machine failures are recorded in `results`; listr2 only re-raises them.
  }
}

/** Undoes `done`, newest first; a rollback that fails does not stop the others, and is reported. */
async function rollback<C>(done: Step<C>[], job: MachineJob<C>, result: JobResult): Promise<void> {
  result.rolledBack = [];
  result.rollbackErrors = [];
  for (const step of [...done].reverse()) {
    if (step.rollback === undefined) continue;
    result.rolledBack.push(step.name);
    try {
      await step.rollback(job.ctx);
    } catch (e) {
      result.rollbackErrors.push(asBoxfestError(e).withContext({ machine: job.machine, step: step.name }));
    }
  }
}

export function asBoxfestError(e: unknown): BoxfestError {
  if (e instanceof BoxfestError) return e;
  return new BoxfestError('INTERNAL', errorMessage(e), {
    cause: e,
    hint: 'this looks like a bug in boxfest; please report it with the output of the command',
  });
}
