// The guest half of waiting for cloud-init: a script that streams cloud-init's output log while
// `cloud-init status --wait` blocks, then prints the final status between markers; and the
// parsing of that status. Pure: run over SSH by pipeline/steps/wait-cloud-init.ts.

/** cloud-init's console output, as every cloud image writes it (also readable by `adm`). */
export const CLOUD_INIT_LOG = '/var/log/cloud-init-output.log';

const MARK = 'boxfest-cloud-init-status';

export const WAIT_SCRIPT = [
  'command -v cloud-init >/dev/null 2>&1 || { echo "the guest has no cloud-init command" >&2; exit 4; }',
  `tail -n 0 -F ${CLOUD_INIT_LOG} 2>/dev/null & t=$!`,
  'cloud-init status --wait >/dev/null 2>&1',
  'kill "$t" 2>/dev/null; wait "$t" 2>/dev/null',
  `echo ${MARK}-begin`,
  'cloud-init status --long 2>&1',
  `echo ${MARK}-end`,
].join('\n');

/** The last lines of the output log, for a failure's details. */
export const tailScript = (lines: number): string => `tail -n ${lines} ${CLOUD_INIT_LOG} 2>&1`;

export interface CloudInitStatus {
  /** `done`, `error`, `disabled`, `running`, `not run`, ... as cloud-init says it. */
  status: string;
  /** The `--long` report (errors, detail) between the markers. */
  report: string;
}

export function parseStatus(out: string): CloudInitStatus | undefined {
  const begin = out.indexOf(`${MARK}-begin\n`);
  const end = out.indexOf(`${MARK}-end`);
  if (begin < 0 || end < begin) return undefined;
  const report = out.slice(begin + MARK.length + 7, end).trim();
  const status = /^status:\s*(.+)$/m.exec(report)?.[1]?.trim() ?? 'unknown';
  return { status, report };
}

/** Output lines of the script that are cloud-init's log (progress), not the final report. */
export function progressLines(out: string): string[] {
  const begin = out.indexOf(`${MARK}-begin`);
  return (begin < 0 ? out : out.slice(0, begin)).split('\n').filter((l) => l.trim() !== '');
}
