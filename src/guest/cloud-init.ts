// The guest half of waiting for cloud-init: a script that streams cloud-init's output log until
// cloud-init has finished, then prints the final status between markers; and the parsing of
// that status. Pure: run over SSH by pipeline/steps/wait-cloud-init.ts.

import { followUpLines } from './follow-up.js';

/** cloud-init's console output, as every cloud image writes it (also readable by `adm`). */
export const CLOUD_INIT_LOG = '/var/log/cloud-init-output.log';

const MARK = 'boxfest-cloud-init-status';

const RUN_DIR = '/run/cloud-init';
/** Written by cloud-init (atomically) when its last stage has ended: `{"v1": {"errors": [...]}}`. */
const RESULT_JSON = `${RUN_DIR}/result.json`;
/** Written by cloud-init as its first stage of this boot starts (/run is new at each boot). */
const STATUS_JSON = `${RUN_DIR}/status.json`;

/**
 * Run as root: streams cloud-init's output log until cloud-init has finished, then prints its
 * status between markers (parseStatus). When cloud-init has started this boot (status.json), a
 * shell test every 0.2 s for result.json, which it writes as its last stage ends, is the whole
 * wait: `cloud-init status --wait` beside it was a Python process that took the guest's one CPU
 * from cloud-init itself for seconds under TCG, and returned 1.8 s after that file appeared on
 * the Debian box. Only when cloud-init has not started does `cloud-init status --wait --long`
 * decide (disabled, never run, or starting after all: then whichever ends first). `then` is a
 * follow-up (guest/follow-up.ts) run once cloud-init has finished.
 */
export function waitScript(then?: string): string {
  const poll = (alsoWhile: string) => `while [ ! -e ${RESULT_JSON} ]${alsoWhile}; do sleep 0.2; done`;
  return [
    'command -v cloud-init >/dev/null 2>&1 || { echo "the guest has no cloud-init command" >&2; exit 4; }',
    `tail -n 0 -F ${CLOUD_INIT_LOG} 2>/dev/null & t=$!`,
    `if [ -e ${STATUS_JSON} ]; then`,
    `  ${poll('')}`,
    `  s=$(cat ${RESULT_JSON})`,
    'else',
    '  f=$(mktemp) || exit 5',
    '  cloud-init status --wait --long >"$f" 2>&1 & w=$!',
    `  ${poll(' && kill -0 "$w" 2>/dev/null')}`,
    `  if [ -e ${RESULT_JSON} ]; then kill "$w" 2>/dev/null; s=$(cat ${RESULT_JSON}); else wait "$w"; s=$(cat "$f"); fi`,
    '  rm -f "$f"',
    'fi',
    'kill "$t" 2>/dev/null; wait "$t" 2>/dev/null',
    ...followUpLines(then),
    `echo ${MARK}-begin`,
    'printf "%s\\n" "$s"',
    `echo ${MARK}-end`,
  ].join('\n');
}

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
  if (report.startsWith('{')) return fromResultJson(report);
  const status = /^status:\s*(.+)$/m.exec(report)?.[1]?.trim() ?? 'unknown';
  return { status, report };
}

/** cloud-init's result.json, as `status` would say it: done without errors, else error and which. */
function fromResultJson(text: string): CloudInitStatus {
  let errors: unknown;
  try {
    errors = (JSON.parse(text) as { v1?: { errors?: unknown } }).v1?.errors;
  } catch {
    return { status: 'unknown', report: `${RESULT_JSON} is not JSON:\n${text}` };
  }
  if (!Array.isArray(errors))
    return { status: 'unknown', report: `${RESULT_JSON} lists no errors:\n${text}` };
  if (errors.length === 0) return { status: 'done', report: `status: done (${RESULT_JSON})` };
  return {
    status: 'error',
    report: `status: error (${RESULT_JSON})\nerrors:\n${errors.map((e) => `  - ${String(e)}`).join('\n')}`,
  };
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
