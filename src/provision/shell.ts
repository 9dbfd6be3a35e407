// Shell provisioners over SSH: the script (inline, or read from the host) is uploaded to a
// private temp file, then run with its args, so it keeps its own stdin; output streams line by
// line; the exit code decides. The env goes up as a file of its own (mode 0600, read by the shell
// and removed before the script starts), never on a command line, where `ps` and sudo's log
// would show every value to every user of the guest.
import { readFileSync } from 'node:fs';
import type { ShellProvisioner } from '../config/types.js';
import { BoxfestError } from '../errors.js';
import { asRoot } from '../ssh/as-root.js';
import { exec } from '../ssh/client.js';
import type { Client } from '../ssh/ssh2.js';
import { shellQuote } from '../util/quote.js';

const TAIL_LINES = 20;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The env file's text: one `export NAME='value'` line per variable (values may span lines). */
export function envFileText(p: ShellProvisioner): string {
  for (const k of Object.keys(p.env))
    if (!ENV_NAME.test(k))
      throw new BoxfestError(
        'PROVISION_ENV_NAME',
        `provisioner \`${p.name}\`: \`${k}\` is not a valid variable name`,
        {
          hint: 'use letters, digits and underscores, not starting with a digit',
        },
      );
  return Object.entries(p.env)
    .map(([k, v]) => `export ${k}=${shellQuote(v)}\n`)
    .join('');
}

/**
 * The guest command line that runs the uploaded script with its args quoted; with `envPath`,
 * the env file is read into the shell and removed first. No value of the env is on it.
 */
export function shellCommand(p: ShellProvisioner, scriptPath: string, envPath?: string): string {
  const q = shellQuote(scriptPath);
  const env = envPath === undefined ? '' : `. ${shellQuote(envPath)}; rm -f ${shellQuote(envPath)}; `;
  return `${env}sh ${q}${p.args.map((a) => ' ' + shellQuote(a)).join('')}; rc=$?; rm -f ${q}; exit $rc`;
}

/** Uploads `text` to a new private (0600) temp file in the guest; its path. */
async function upload(ssh: Client, p: ShellProvisioner, text: string, kind: string): Promise<string> {
  const r = await exec(
    ssh,
    `umask 077 && f=$(mktemp /tmp/boxfest-${kind}.XXXXXX) && cat > "$f" && echo "$f"`,
    {
      stdin: text,
    },
  );
  if (r.code !== 0)
    throw new BoxfestError(
      'PROVISION_UPLOAD_FAILED',
      `could not upload provisioner \`${p.name}\` to the guest`,
      {
        details: r.stderr.trim(),
        hint: 'the guest needs a writable /tmp and mktemp',
      },
    );
  return r.stdout.trim();
}

export async function runShellProvisioner(
  ssh: Client,
  machine: string,
  user: string,
  p: ShellProvisioner,
  onLine: (line: string) => void,
): Promise<void> {
  const script = 'inline' in p.source ? p.source.inline : readScript(p.source.path, p.name);
  const env = envFileText(p);
  const envPath = env === '' ? undefined : await upload(ssh, p, env, 'env');
  const path = await upload(ssh, p, script, 'provision');
  const lines = new RedactedLines(onLine, p.secrets);
  const command = shellCommand(p, path, envPath);
  const r = await exec(ssh, p.privileged ? asRoot(user, command) : command, {
    onStdout: (d) => lines.feed(d),
    onStderr: (d) => lines.feed(d),
  });
  lines.flush();
  if (r.code !== 0)
    throw new BoxfestError('PROVISION_FAILED', `provisioner \`${p.name}\` exited with code ${r.code}`, {
      details:
        lines.tail.length > 0
          ? `last lines of its output:\n${lines.tail.join('\n')}`
          : '(it printed nothing)',
      hint: `fix the provisioner, then run \`boxfest provision ${machine}\``,
    });
}

function readScript(path: string, name: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new BoxfestError('PROVISION_SCRIPT_UNREADABLE', `provisioner \`${name}\`: cannot read ${path}`, {
      cause: e,
      hint: 'check `shell_path` in the Boxfile',
    });
  }
}

/**
 * Replaces every secret value by `***`, longest first so one secret inside another is covered.
 * A secret that spans lines is also hidden line by line (its lines of 8 or more characters), so
 * part of it printed alone is hidden too.
 */
export function redactor(secrets: readonly string[]): (text: string) => string {
  const whole = replacing(wholeSecrets(secrets));
  const lines = replacing(secretLines(secrets));
  return (text) => lines(whole(text));
}

const wholeSecrets = (secrets: readonly string[]) => secrets.filter((x) => x !== '');
const secretLines = (secrets: readonly string[]) =>
  wholeSecrets(secrets).flatMap((s) =>
    s.includes('\n') ? s.split('\n').filter((l) => l.trim().length >= 8) : [],
  );

function replacing(patterns: readonly string[]): (text: string) => string {
  const sorted = [...new Set(patterns)].sort((a, b) => b.length - a.length);
  return (text) => sorted.reduce((acc, secret) => acc.replaceAll(secret, '***'), text);
}

/**
 * Streams whole lines of a command's output with every secret replaced, also one that spans
 * lines or chunks: text that could be the start of a secret is held back until it is known not
 * to be one (or is replaced). Keeps the last lines for error messages.
 */
export class RedactedLines {
  readonly tail: string[] = [];
  private pending = '';
  private readonly whole: (text: string) => string;
  private readonly all: (text: string) => string;
  private readonly patterns: string[];
  constructor(
    private readonly onLine: (line: string) => void,
    secrets: readonly string[],
  ) {
    this.patterns = [...wholeSecrets(secrets), ...secretLines(secrets)];
    this.whole = replacing(wholeSecrets(secrets));
    this.all = redactor(secrets);
  }
  feed(chunk: string): void {
    // Whole values first: a multi-line secret printed whole becomes one `***`, not one per line.
    const text = this.whole(this.pending + chunk);
    const end = text.lastIndexOf('\n', this.heldFrom(text) - 1);
    if (end < 0) {
      this.pending = text;
      return;
    }
    for (const line of this.all(text.slice(0, end)).split('\n')) this.emit(line);
    this.pending = text.slice(end + 1);
  }
  flush(): void {
    const rest = this.all(this.pending);
    this.pending = '';
    if (rest !== '') for (const line of rest.replace(/\n$/, '').split('\n')) this.emit(line);
  }
  /** Where the text's end could be the start of a secret still arriving (its length if nowhere). */
  private heldFrom(text: string): number {
    let from = text.length;
    for (const s of this.patterns)
      for (let k = Math.min(s.length - 1, text.length); k > 0 && text.length - k < from; k--)
        if (text.endsWith(s.slice(0, k))) {
          from = text.length - k;
          break;
        }
    return from;
  }
  private emit(line: string): void {
    this.tail.push(line);
    if (this.tail.length > TAIL_LINES) this.tail.shift();
    this.onLine(line);
  }
}
