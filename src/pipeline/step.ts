// A pipeline is a flat, named list of steps (Vagrant's action middleware, without the onion).
// Each step lives in its own file under steps/.

export interface Step<C> {
  /** Stable id, used in errors and in --json output. */
  name: string;
  title: string;
  /** A reason to skip (shown to the user), or false to run. */
  skip?: (ctx: C) => string | false;
  run: (ctx: C, out: StepOutput) => Promise<void>;
  /** Undoes `run` when a later step fails, so a failed run leaves no debris. */
  rollback?: (ctx: C) => Promise<void>;
  /**
   * Once this step succeeds the machine is usable, and a later failure (a provisioner, a sync)
   * no longer rolls back what came before: the user fixes the cause and runs the step again.
   */
  commits?: boolean;
}

export interface StepOutput {
  /** One line of progress or of a tool's output, shown under the step. */
  line(text: string): void;
  /** Replaces the step's title (e.g. to show what was chosen). */
  title(text: string): void;
}
