// The guest half of waiting for cloud-init: a script that streams cloud-init's output log while
// `cloud-init status --wait` blocks, then prints the final status between markers; and the
// parsing of that status. Pure: run over SSH by pipeline/steps/wait-cloud-init.ts.

/** cloud-init's console output, as every cloud image writes it (also readable by `adm`). */
export const CLOUD_INIT_LOG = '/var/log/cloud-init-output.log';

const MARK = 'boxfest-cloud-init-status';

export const WAIT_SCRIPT = [
  'command -v cloud-init >/dev/null 2>&1 || { echo "the guest has no cloud-init command" >&2; exit 4; }',
  `tail -n 0 -F ${CLOUD_INIT_LOG} 2>/dev/null & t=$!`,
  // One cloud-init (Python: seconds to start under TCG) waits and then reports: `--long` with
  // `--wait` prints a line of dots while it waits, then the report.
  's=$(cloud-init status --wait --long 2>&1)',
  'kill "$t" 2>/dev/null; wait "$t" 2>/dev/null',
  `echo ${MARK}-begin`,
  'printf "%s\\n" "$s"',
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
  // Without the dots `status --wait` printed while it waited.
  const report = out
    .slice(begin + MARK.length + 7, end)
    .replace(/^\s*\.+\s*$/m, '')
    .trim();
  const status = /^status:\s*(.+)$/m.exec(report)?.[1]?.trim() ?? 'unknown';
  return { status, report };
}

/** Output lines of the script that are cloud-init's log (progress), not the final report. */
export function progressLines(out: string): string[] {
  const begin = out.indexOf(`${MARK}-begin`);
  return (begin < 0 ? out : out.slice(0, begin)).split('\n').filter((l) => l.trim() !== '');
}

/**
 * The host keys cloud-init printed on the console (its `keys_to_console`, late in the first
 * boot), as "type base64" strings; [] when the console holds no such block.
 */
export function consoleHostKeys(console: string): string[] {
  const begin = console.lastIndexOf('-----BEGIN SSH HOST KEY KEYS-----');
  const end = console.indexOf('-----END SSH HOST KEY KEYS-----', begin);
  if (begin < 0 || end < 0) return [];
  return console
    .slice(begin, end)
    .split(/\r?\n/)
    .map((l) => /^((?:ssh|ecdsa)-[a-z0-9-]+) ([A-Za-z0-9+/]+=*)/.exec(l.trim()))
    .flatMap((m) => (m === null ? [] : [`${m[1]} ${m[2]}`]));
}

/**
 * A console key of the same type as `pinned` but with other bytes: the key boxfest pinned at
 * first contact is not the guest's own. Undefined when they agree or the console has none of that type.
 */
export function consoleDisagrees(pinned: string, console: string): string | undefined {
  const [type] = pinned.split(' ');
  const same = consoleHostKeys(console).filter((k) => k.startsWith(`${type} `));
  return same.length > 0 && !same.includes(pinned.split(' ').slice(0, 2).join(' ')) ? same[0] : undefined;
}
