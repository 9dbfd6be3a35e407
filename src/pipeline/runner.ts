// Runs one pipeline per machine on listr2: machines in parallel (or one at a time), steps in
// order as subtasks. A failing machine rolls back its own half-done work and does not stop the
// others.
import { Listr, type ListrTask } from 'listr2';
import { BoxfestError, errorMessage } from '../errors.js';
import type { Step, StepOutput } from './step.js';

export interface MachineJob<C> {
  machine: string;
  steps: Step<C>[];
  ctx: C;
}

export interface JobResult {
  machine: string;
  ok: boolean;
  /** Steps that ran (not skipped), in order. */
  ran: string[];
  failedStep?: string;
  error?: BoxfestError;
}

export type Renderer = 'default' | 'simple' | 'silent';

export interface RunOptions {
  parallel: boolean;
  renderer: Renderer;
}

/** listr2 renderer: live tree on a terminal, plain lines in logs and pipes, nothing for --json. */
export function rendererFor(json: boolean): Renderer {
  if (json) return 'silent';
  return process.stdout.isTTY ? 'default' : 'simple';
}

export async function runJobs<C>(jobs: MachineJob<C>[], opts: RunOptions): Promise<JobResult[]> {
  // In plain-line output the steps of parallel machines interleave, so each line names its machine.
  const label = (machine: string, title: string) =>
    opts.renderer === 'default' ? title : `${machine}: ${title}`;
  const results = new Map<string, JobResult>();
  const tasks: ListrTask[] = jobs.map((job) => {
    const result: JobResult = { machine: job.machine, ok: false, ran: [] };
    results.set(job.machine, result);
    const done: Step<C>[] = [];
    const subtasks: ListrTask[] = job.steps.map((step) => ({
      title: label(job.machine, step.title),
      skip: () => step.skip?.(job.ctx) ?? false,
      task: async (_ctx, task) => {
        const out: StepOutput = {
          line: (text) => {
            task.output = `${job.machine} | ${text}`;
          },
          title: (text) => {
            task.title = label(job.machine, text);
          },
        };
        result.ran.push(step.name);
        try {
          await step.run(job.ctx, out);
        } catch (e) {
          result.failedStep = step.name;
          result.error = asBoxfestError(e).withContext({ machine: job.machine, step: step.name });
          await rollback(done, job.ctx);
          throw result.error;
        }
        if (step.commits === true) done.length = 0;
        else done.push(step);
      },
    }));
    return {
      title: job.machine,
      task: (_ctx, task) =>
        task.newListr(
          [
            ...subtasks,
            // Untitled, so never shown: reached only when every step succeeded.
            {
              task: () => {
                result.ok = true;
              },
            },
          ],
          { concurrent: false, exitOnError: true },
        ),
    };
  });
  const list = new Listr(tasks, {
    concurrent: opts.parallel,
    exitOnError: false,
    renderer: opts.renderer,
    fallbackRenderer: 'simple',
    rendererOptions: {
      outputBar: Infinity,
      persistentOutput: true,
      collapseSubtasks: false,
      collapseSkips: false,
    },
  });
  try {
    await list.run();
  } catch {
    // Per-machine failures are recorded in `results`; listr2 only re-raises them.
  }
  return jobs.map((j) => results.get(j.machine) ?? { machine: j.machine, ok: false, ran: [] });
}

async function rollback<C>(done: Step<C>[], ctx: C): Promise<void> {
  for (const step of [...done].reverse()) {
    try {
      await step.rollback?.(ctx);
    } catch {
      // Best effort: the original failure is what the user must see.
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
