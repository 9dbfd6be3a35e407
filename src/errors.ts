// Typed errors. Everything a user can cause or fix is a BoxfestError with a code and a hint;
// only src/cli.ts renders them (no stack traces for user errors).

export interface ErrorContext {
  /** Machine the failure belongs to, when there is one. */
  machine?: string | undefined;
  /** Pipeline step or command that failed. */
  step?: string | undefined;
  /** What the user can do next. */
  hint?: string | undefined;
  /** Extra lines shown under the message (a log tail, a tool's own output). */
  details?: string | undefined;
  cause?: unknown;
}

export class BoxfestError extends Error {
  readonly code: string;
  readonly machine: string | undefined;
  readonly step: string | undefined;
  readonly hint: string | undefined;
  readonly details: string | undefined;

  constructor(code: string, message: string, ctx: ErrorContext = {}) {
    super(message, ctx.cause === undefined ? undefined : { cause: ctx.cause });
    this.name = 'BoxfestError';
    this.code = code;
    this.machine = ctx.machine;
    this.step = ctx.step;
    this.hint = ctx.hint;
    this.details = ctx.details;
  }

  /** The same error, attributed to a machine and step (keeps the original code and hint). */
  withContext(ctx: { machine?: string; step?: string }): BoxfestError {
    const e = new BoxfestError(this.code, this.message, {
      machine: this.machine ?? ctx.machine,
      step: this.step ?? ctx.step,
      ...(this.hint === undefined ? {} : { hint: this.hint }),
      ...(this.details === undefined ? {} : { details: this.details }),
      cause: this.cause,
    });
    return e;
  }
}

/** One problem in a Boxfile, with its position. Lines and columns are 1-based. */
export interface ConfigIssue {
  file: string;
  line: number;
  column: number;
  /** Key path such as `machines.web.memory` or `machines.web.provision[0].run`. */
  path: string;
  message: string;
  hint?: string | undefined;
}

export class ConfigError extends BoxfestError {
  readonly issues: ConfigIssue[];
  constructor(issues: ConfigIssue[], message = `the Boxfile has ${issues.length} problem(s)`) {
    super('CONFIG_INVALID', message, {
      hint: 'fix the Boxfile and run the command again; no machine was touched',
    });
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

/** Thrown to end the process with a given exit code after output was already shown. */
export class ExitError extends Error {
  constructor(readonly exitCode: number) {
    super(`exit ${exitCode}`);
    this.name = 'ExitError';
  }
}

export function isBoxfestError(e: unknown): e is BoxfestError {
  return e instanceof BoxfestError;
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
