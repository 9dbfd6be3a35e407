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
   * Asked once the step has run, when it depends on the machine (its provider).
   */
  commits?: boolean | ((ctx: C) => boolean);
  /**
   * On Ctrl-C the runner stops waiting for this step at once (it only waits or runs guest
   * commands; abandoning it leaves nothing on the host). Other steps are waited for, so their
   * rollback sees everything they made (e.g. a QEMU process that was just daemonizing).
   */
  interruptible?: boolean;
}

export interface StepOutput {
  /** One line of progress or of a tool's output, shown under the step. */
  line(text: string): void;
  /** Replaces the step's title (e.g. to show what was chosen). */
  title(text: string): void;
}
