// The pieces of `rsync-auto`: rsync exclude patterns as a watcher filter, a batch of changed
// paths, a targeted sync of just those paths, and one OpenSSH master connection that every rsync
// and ssh of the batch goes through (no new handshake per change).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { BoxfestError } from '../errors.js';
import { sleep, waitUntil } from '../state/process.js';
import { shellQuote } from '../util/quote.js';
import { rsync, type RsyncJob } from './rsync.js';

// ---------------------------------------------------------------------------------------------
// Excludes

/** One rsync exclude pattern (the subset rsync's man page calls "simple patterns") as a RegExp. */
function patternRegExp(pattern: string): { re: RegExp; dirOnly: boolean } {
  let p = pattern;
  let dirOnly = false;
  if (p.endsWith('/***')) p = p.slice(0, -4);
  else if (p.endsWith('/')) {
    dirOnly = true;
    p = p.slice(0, -1);
  }
  const anchored = p.startsWith('/');
  if (anchored) p = p.slice(1);
  // Without a leading slash a pattern matches the last name(s) of the path at any depth (with a
  // slash inside: a trailing part that starts at a directory boundary); a leading slash anchors
  // it to the folder root.
  let body = '';
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === '*' && p[i + 1] === '*') {
      body += '.*';
      i++;
    } else if (c === '*') body += '[^/]*';
    else if (c === '?') body += '[^/]';
    else if (c === '[') {
      const end = p.indexOf(']', i + 1);
      if (end === -1) body += '\\[';
      else {
        body +=
          '[' +
          p
            .slice(i + 1, end)
            .replace(/^!/, '^')
            .replaceAll('\\', '\\\\') +
          ']';
        i = end;
      }
    } else if (c === '\\' && i + 1 < p.length) body += p[++i]!.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    else body += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return { re: new RegExp(`${anchored ? '^' : '(?:^|/)'}${body}$`), dirOnly };
}

/**
 * A filter with rsync's exclude semantics for paths relative to the folder: a path is excluded
 * when it, or any directory above it, matches a pattern. `isDir` undefined means "not known yet"
 * (chokidar asks before it has stat'ed a path): directory-only patterns then match too, so an
 * excluded tree such as `node_modules/` is never walked.
 */
export function excludeMatcher(patterns: string[]): (rel: string, isDir: boolean | undefined) => boolean {
  const rules = patterns.filter((p) => p !== '').map(patternRegExp);
  return (rel, isDir) => {
    const parts = rel.split('/').filter((s) => s !== '' && s !== '.');
    for (let n = 1; n <= parts.length; n++) {
      const sub = parts.slice(0, n).join('/');
      const dir = n < parts.length ? true : isDir;
      for (const r of rules) if (r.re.test(sub) && (!r.dirOnly || dir !== false)) return true;
    }
    return false;
  };
}

// ---------------------------------------------------------------------------------------------
// Batches of changes

/** Paths (relative to the folder, `/`-separated) that changed since the last sync. */
export class ChangeBatch {
  private readonly paths = new Set<string>();

  add(rel: string): void {
    const clean = rel
      .split(/[\\/]+/)
      .filter((s) => s !== '' && s !== '.')
      .join('/');
    if (clean !== '') this.paths.add(clean);
  }

  get size(): number {
    return this.paths.size;
  }

  /** Empties the batch and sorts its paths by what is on the host now: what to send, what to delete. */
  take(root: string): { send: string[]; gone: string[] } {
    const all = [...this.paths].sort();
    this.paths.clear();
    const send: string[] = [];
    const gone: string[] = [];
    for (const p of all) {
      if (existsOnHost(join(root, p))) send.push(p);
      else gone.push(p);
    }
    // Deleting a directory deletes what is inside it: keep only the topmost gone paths.
    const top = gone.filter((p) => !gone.some((q) => q !== p && p.startsWith(q + '/')));
    return { send, gone: top };
  }
}

function existsOnHost(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// The shared SSH connection

/**
 * An OpenSSH master connection (ControlMaster) owned by this process: a foreground `ssh -N`
 * child, so its PID is known and it ends with `ssh -O exit` (or, failing that, a signal to that
 * PID). Its socket lives in a private (0700) temp directory with a short path, because a Unix
 * socket path must fit in 108 bytes.
 */
export class SshMaster {
  private readonly dir: string;
  readonly controlPath: string;
  private child: ChildProcess | undefined;
  private stderr = '';

  constructor(
    private readonly sshConfig: string,
    private readonly alias: string,
  ) {
    this.dir = mkdtempSync(join(tmpdir(), 'bfx-'));
    this.controlPath = join(this.dir, 'm');
  }

  /** Options for every ssh (and rsync -e ssh) that should ride on this connection. With `auto`, a
   * client whose master has gone (a rebooting guest) connects on its own instead of failing. */
  get options(): string[] {
    return ['-o', 'ControlMaster=auto', '-o', `ControlPath=${this.controlPath}`];
  }

  private baseArgs(): string[] {
    return ['-F', this.sshConfig, ...this.options];
  }

  get alive(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  async start(timeoutMs = 15_000): Promise<void> {
    await this.stop();
    this.stderr = '';
    const child = spawn(
      'ssh',
      [
        '-F',
        this.sshConfig,
        '-o',
        'ControlMaster=yes',
        '-o',
        `ControlPath=${this.controlPath}`,
        '-o',
        'ServerAliveInterval=5',
        '-o',
        'ServerAliveCountMax=3',
        '-N',
        this.alias,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    this.child = child;
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    child.on('error', () => undefined);
    const up = await waitUntil(() => existsSync(this.controlPath) || !this.alive, timeoutMs, 10);
    if (!up || !existsSync(this.controlPath))
      throw new BoxfestError('SSH_MASTER_FAILED', `could not open a shared SSH connection to ${this.alias}`, {
        details: this.stderr.trim(),
        hint: 'check that the machine is running and `boxfest ssh` works',
      });
  }

  /** Closes the master: politely with `ssh -O exit`, then by its PID if it is still there. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (existsSync(this.controlPath))
      await run('ssh', [...this.baseArgs(), '-O', 'exit', this.alias]).catch(() => undefined);
    if (
      child !== undefined &&
      child.pid !== undefined &&
      child.exitCode === null &&
      child.signalCode === null
    ) {
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(2_000)]);
    }
    rmSync(this.controlPath, { force: true });
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Runs a command in the guest over the shared connection. */
  exec(command: string): Promise<{ code: number; stderr: string }> {
    return run('ssh', [...this.baseArgs(), this.alias, '--', command]);
  }
}

function run(cmd: string, args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stderr }));
  });
}

// ---------------------------------------------------------------------------------------------
// Targeted sync

const CONNECTION_LOST =
  /connection (refused|reset|closed|timed out|unexpectedly closed)|closed by remote host|broken pipe|kex_exchange_identification|no route to host|mux_client|control socket|ssh_exchange_identification|connection to .* closed/i;

/** The guest could not be reached (SSH failed, or the connection dropped mid-transfer). */
export class ConnectionLost extends BoxfestError {
  constructor(machine: string, details: string) {
    super('SSH_CONNECTION_LOST', `lost the SSH connection to \`${machine}\``, { machine, details });
    this.name = 'ConnectionLost';
  }
}

/** rsync's or ssh's failure, when it means the connection rather than the files. */
export function isConnectionFailure(e: unknown): boolean {
  if (e instanceof ConnectionLost) return true;
  if (!(e instanceof BoxfestError) || e.code !== 'RSYNC_FAILED') return false;
  const code = /exit code (\d+)/.exec(e.message)?.[1];
  // 255: ssh itself failed; 10/12/30/35: socket I/O, protocol stream, timeouts.
  return (
    code === '255' || (['10', '12', '30', '35'].includes(code ?? '') && CONNECTION_LOST.test(e.details ?? ''))
  );
}

export interface TargetedSync {
  /** The folder's full-sync job; its options (excludes, args, sudo) carry over. */
  job: RsyncJob;
  /** Delete guest copies of paths gone from the host (the folder's `delete`). */
  delete: boolean;
  chown: string | undefined;
  master: SshMaster;
}

/**
 * Syncs just `send` (rsync --files-from, relative to the folder) and removes `gone` in the guest
 * when the folder deletes. Returns the number of paths handled.
 */
export async function syncPaths(t: TargetedSync, send: string[], gone: string[]): Promise<number> {
  const root = (cmd: string) => (t.job.sudo === true ? `sudo -n sh -c ${shellQuote(cmd)}` : cmd);
  const guestPath = (rel: string) => shellQuote(posix.join(t.job.dest, rel));
  let n = 0;
  if (send.length > 0) {
    await rsync({
      ...t.job,
      delete: false,
      sshOptions: [...(t.job.sshOptions ?? []), ...t.master.options],
      // --files-from: only these paths, relative to the folder; no recursion (chokidar reports
      // every file of a new directory itself); NUL-separated so any file name works.
      // --ignore-times: these paths did change, even when a same-size edit kept the mtime's second.
      extraArgs: [
        '--files-from=-',
        '--from0',
        '--no-recursive',
        '--dirs',
        '--ignore-times',
        ...(t.job.extraArgs ?? []),
      ],
      input: send.join('\0') + '\0',
    });
    n += send.length;
  }
  if (gone.length > 0 && t.delete) {
    // A plain `rm` of exactly these paths, over the shared connection: a directory-level
    // `rsync --delete` would have to list (and could delete) far more than what changed.
    await guestExec(t, root(`rm -rf -- ${gone.map(guestPath).join(' ')}`), 'deleting');
    n += gone.length;
  }
  if (t.chown !== undefined && send.length > 0)
    await guestExec(t, root(`chown ${shellQuote(t.chown)} -- ${send.map(guestPath).join(' ')}`), 'chown');
  return n;
}

async function guestExec(t: TargetedSync, command: string, what: string): Promise<void> {
  const r = await t.master.exec(command);
  if (r.code === 255) throw new ConnectionLost(t.job.machine, r.stderr.trim());
  if (r.code !== 0)
    throw new BoxfestError('GUEST_COMMAND_FAILED', `${what} in ${t.job.dest} failed (exit code ${r.code})`, {
      machine: t.job.machine,
      details: r.stderr.trim(),
    });
}
