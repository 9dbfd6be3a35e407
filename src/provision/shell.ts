// Shell provisioners over SSH: the script (inline, or read from the host) is uploaded to a
// private temp file, then run with its args and env, so it keeps its own stdin; output streams
// line by line; the exit code decides.
import { readFileSync } from 'node:fs';
import type { ShellProvisioner } from '../config/types.js';
import { BoxfestError } from '../errors.js';
import { asRoot } from '../ssh/as-root.js';
import { exec } from '../ssh/client.js';
import type { Client } from '../ssh/ssh2.js';
import { shellQuote } from '../util/quote.js';

const TAIL_LINES = 20;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The guest command line that runs the uploaded script: env exported, args quoted. */
export function shellCommand(p: ShellProvisioner, scriptPath: string): string {
  for (const k of Object.keys(p.env))
    if (!ENV_NAME.test(k))
      throw new BoxfestError(
        'PROVISION_ENV_NAME',
        `provisioner \`${p.name}\`: \`${k}\` is not a valid variable name`,
        {
          hint: 'use letters, digits and underscores, not starting with a digit',
        },
      );
  const exports = Object.entries(p.env).map(([k, v]) => `export ${k}=${shellQuote(v)}; `);
  const q = shellQuote(scriptPath);
  return `${exports.join('')}sh ${q}${p.args.map((a) => ' ' + shellQuote(a)).join('')}; rc=$?; rm -f ${q}; exit $rc`;
}

export async function runShellProvisioner(
  ssh: Client,
  machine: string,
  user: string,
  p: ShellProvisioner,
  onLine: (line: string) => void,
): Promise<void> {
  const script = 'inline' in p.source ? p.source.inline : readScript(p.source.path, p.name);
  const upload = await exec(
    ssh,
    'umask 077 && f=$(mktemp /tmp/boxfest-provision.XXXXXX) && cat > "$f" && echo "$f"',
    {
      stdin: script,
    },
  );
  if (upload.code !== 0)
    throw new BoxfestError(
      'PROVISION_UPLOAD_FAILED',
      `could not upload provisioner \`${p.name}\` to the guest`,
      {
        details: upload.stderr.trim(),
        hint: 'the guest needs a writable /tmp and mktemp',
      },
    );
  const path = upload.stdout.trim();
  const lines = new LineSplitter(onLine, redactor(p.secrets));
  const command = shellCommand(p, path);
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

/** Replaces every secret value by `***`, longest first so one secret inside another is covered. */
export function redactor(secrets: readonly string[]): (line: string) => string {
  const sorted = [...new Set(secrets)].filter((x) => x !== '').sort((a, b) => b.length - a.length);
  return (line) => sorted.reduce((acc, secret) => acc.replaceAll(secret, '***'), line);
}

/** Streams whole lines (a partial line waits for its end) and keeps the last few for errors. */
class LineSplitter {
  readonly tail: string[] = [];
  private pending = '';
  constructor(
    private readonly onLine: (line: string) => void,
    private readonly redact: (line: string) => string,
  ) {}
  feed(chunk: string): void {
    this.pending += chunk;
    let nl: number;
    while ((nl = this.pending.indexOf('\n')) >= 0) {
      this.emit(this.pending.slice(0, nl));
      this.pending = this.pending.slice(nl + 1);
    }
  }
  flush(): void {
    if (this.pending !== '') this.emit(this.pending);
    this.pending = '';
  }
  private emit(raw: string): void {
    const line = this.redact(raw);
    this.tail.push(line);
    if (this.tail.length > TAIL_LINES) this.tail.shift();
    this.onLine(line);
  }
}
