// A follow-up: a script run as root at the end of another command (its own work done), whose
// success that command's output reports on a line of its own. It saves the follow-up a command
// of its own (a sudo and a PAM session, about 0.3 s under TCG); when it fails, the step that
// would have run it alone still does (its caller only records that it succeeded).

const DONE_LINE = 'then-done';

/** The lines to append to a script so that it runs `then` last and reports its success. */
export function followUpLines(then: string | undefined): string[] {
  return then === undefined ? [] : [`if (\n${then}\n) >/dev/null 2>&1; then echo ${DONE_LINE}; fi`];
}

/** Whether the command's output says its follow-up succeeded. */
export const followUpDone = (stdout: string): boolean => stdout.split('\n').includes(DONE_LINE);

/** Whether one line of output is the follow-up's report (not the command's own output). */
export const isFollowUpLine = (line: string): boolean => line === DONE_LINE;
