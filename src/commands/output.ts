// Results that commands hand back to cli.ts. Commands print their data; cli.ts renders errors.
import type { JobResult } from '../pipeline/runner.js';
import type { EnvironmentRunResult } from '../pipeline/environment-provision.js';
import { BoxfestError, ExitError } from '../errors.js';

export interface CommandOptions {
  json: boolean;
  /** Where data goes (stdout); progress and notes go to stderr. */
  print: (text: string) => void;
  note: (text: string) => void;
}

/** Some machines failed: each with its own error; cli.ts renders them and exits 1. */
export class MachinesFailed extends BoxfestError {
  constructor(readonly results: JobResult[]) {
    const failed = results.filter((r) => !r.ok);
    super(
      'MACHINES_FAILED',
      `${failed.length} of ${results.length} machine(s) failed: ${failed.map((r) => r.machine).join(', ')}`,
    );
    this.name = 'MachinesFailed';
  }
}

const errorJson = (e: BoxfestError) => ({
  code: e.code,
  message: e.message,
  hint: e.hint,
  details: e.details,
});

export function jobsSummary(results: JobResult[]): object[] {
  return results.map((r) => ({
    name: r.machine,
    ok: r.ok,
    steps: r.ran,
    ...(r.seconds === undefined ? {} : { step_seconds: r.seconds }),
    ...(r.times === undefined ? {} : { step_times: r.times }),
    ...(r.failedStep === undefined ? {} : { failed_step: r.failedStep }),
    ...(r.error === undefined ? {} : { error: errorJson(r.error) }),
    ...(r.rolledBack === undefined ? {} : { rolled_back: r.rolledBack }),
    ...(r.rollbackErrors === undefined
      ? {}
      : { rollback_errors: r.rollbackErrors.map((e) => ({ step: e.step, ...errorJson(e) })) }),
  }));
}

/**
 * Ends a multi-machine command: fails when any machine failed. With --json the result document
 * (already printed, with each machine's error) is the whole output, so only the exit code is left.
 */
export function failIfAnyFailed(results: JobResult[], o: CommandOptions): void {
  if (!results.some((r) => !r.ok)) return;
  if (o.json) throw new ExitError(results.some((r) => r.error?.code === 'INTERRUPTED') ? 130 : 1);
  throw new MachinesFailed(results);
}

/** Prints the --json result of machine jobs that collect output (`log`), then fails if any failed. */
export function finishJobs(
  jobs: readonly { machine: string; ctx: { log: string[] } }[],
  results: JobResult[],
  o: CommandOptions,
  envRuns: readonly EnvironmentRunResult[] = [],
): void {
  if (o.json)
    o.print(
      JSON.stringify(
        jobsSummary(results).map((r, i) => ({
          ...r,
          output: jobs[i]?.ctx.log ?? [],
          ...environmentJson(envRuns, jobs[i]?.machine ?? ''),
        })),
        null,
        2,
      ),
    );
  failIfAnyFailed(results, o);
}

/** Output of environment-wide provisioners (ansible): on stderr as it comes, not with --json. */
export function environmentOutput(o: CommandOptions): (provisioner: string, line: string) => void {
  return (provisioner, line) => {
    if (!o.json) o.note(`${provisioner}: ${line}`);
  };
}

/** A machine's part of the --json result: the environment-wide provisioners that ran for it. */
export function environmentJson(
  runs: readonly EnvironmentRunResult[],
  machine: string,
): { environment_provisioners?: object[] } {
  const mine = runs.filter((r) => r.machines.includes(machine));
  if (mine.length === 0) return {};
  return {
    environment_provisioners: mine.map((r) => ({
      name: r.provisioner.name,
      kind: r.provisioner.where === 'host' ? 'ansible' : 'ansible_local',
      machines: r.machines,
      ok: r.ok,
      output: r.output,
      ...(r.error === undefined ? {} : { error: errorJson(r.error) }),
    })),
  };
}
