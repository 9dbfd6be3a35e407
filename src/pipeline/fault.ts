// Fault injection for the crash-safety tests: with BOXFEST_FAULT_KILL_AFTER_STEP=NAME, the process
// SIGKILLs itself right after step NAME succeeded: the harshest crash there is (no handler, no
// finally, no rollback), at an exact point. Unset (always, outside those tests) it does nothing.
export function killIfAsked(step: string, env: NodeJS.ProcessEnv = process.env): void {
  if (env['BOXFEST_FAULT_KILL_AFTER_STEP'] === step) process.kill(process.pid, 'SIGKILL');
}
