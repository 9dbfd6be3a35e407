// rsync of synced folders over SSH. rsync needs a remote shell, so it runs OpenSSH with the
// machine's own ssh_config: the per-machine key and the pinned host key, never anything looser.
import { spawn } from 'node:child_process';
import { BoxfestError } from '../errors.js';

export interface RsyncJob {
  machine: string;
  /** Host alias defined in sshConfig. */
  alias: string;
  sshConfig: string;
  /** Absolute host directory (or file). */
  src: string;
  /** Absolute guest path. */
  dest: string;
  excludes: string[];
  /** rsync --delete (default true). */
  delete?: boolean;
  /** The Boxfile's `args`, after boxfest's own. */
  extraArgs?: string[];
  /** The SSH user is not root: the guest's rsync runs through sudo to write anywhere. */
  sudo?: boolean;
  /** Extra OpenSSH options for the remote shell, e.g. `-o ControlPath=...` for a shared connection. */
  sshOptions?: string[];
  /** Written to rsync's stdin, e.g. the list for `--files-from=-`. */
  input?: string;
}

/** Always excluded: boxfest's own state and VCS metadata. */
export const DEFAULT_EXCLUDES = ['.boxfest/', '.git/'];

/** boxfest's default excludes, then the folder's own; `!.git/` in the folder's list lifts a default. */
export function excludesFor(own: readonly string[]): string[] {
  const kept = DEFAULT_EXCLUDES.filter((d) => !own.includes(`!${d}`));
  return [...kept, ...own.filter((e) => !e.startsWith('!'))];
}

/** rsync parses -e itself: it splits on spaces and honours single or double quotes (no escapes). */
function rsyncQuote(s: string): string {
  if (!s.includes("'")) return `'${s}'`;
  if (!s.includes('"')) return `"${s}"`;
  throw new BoxfestError('PATH_UNSUPPORTED', `rsync cannot be given a path with both kinds of quote: ${s}`, {
    hint: 'move the project to a directory whose path has no quote characters',
  });
}

export function rsyncArgs(job: RsyncJob): string[] {
  return [
    '--archive',
    ...(job.delete === false ? [] : ['--delete']),
    '--copy-links',
    '--no-owner',
    '--no-group',
    // The remote path reaches rsync on the guest as data, not through the guest's shell.
    '--protect-args',
    '--stats',
    ...job.excludes.map((e) => `--exclude=${e}`),
    ...(job.sudo === true ? ['--rsync-path=sudo -n rsync'] : []),
    ...(job.extraArgs ?? []),
    '-e',
    ['ssh', '-F', rsyncQuote(job.sshConfig), ...(job.sshOptions ?? []).map(rsyncQuote)].join(' '),
    `${job.src.endsWith('/') ? job.src : job.src + '/'}`,
    `${job.alias}:${job.dest}`,
  ];
}

export interface RsyncResult {
  filesTransferred: number;
  output: string;
}

export function rsync(job: RsyncJob, onLine?: (line: string) => void): Promise<RsyncResult> {
  return new Promise((resolve, reject) => {
    const child =
      job.input === undefined
        ? spawn('rsync', rsyncArgs(job), { stdio: ['ignore', 'pipe', 'pipe'] })
        : spawn('rsync', rsyncArgs(job), { stdio: ['pipe', 'pipe', 'pipe'] });
    if (child.stdin !== null) {
      // The job's input, e.g. the list for --files-from=-.
      child.stdin.on('error', () => undefined); // rsync failed early: its exit code tells why
      child.stdin.end(job.input);
    }
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      for (const l of d.split('\n')) if (l.trim() !== '') onLine?.(l);
    });
    child.on('error', (e: NodeJS.ErrnoException) =>
      reject(
        e.code === 'ENOENT'
          ? new BoxfestError('RSYNC_NOT_INSTALLED', 'rsync is not installed on this host', {
              machine: job.machine,
              hint: 'install it: `apt-get install rsync openssh-client`',
            })
          : e,
      ),
    );
    child.on('close', (code) => {
      if (code === 0) {
        const m = /Number of regular files transferred: ([\d,]+)/.exec(stdout);
        return resolve({ filesTransferred: m ? Number(m[1]!.replaceAll(',', '')) : 0, output: stdout });
      }
      reject(
        new BoxfestError('RSYNC_FAILED', `rsync of ${job.src} to ${job.dest} failed (exit code ${code})`, {
          machine: job.machine,
          details: stderr.trim(),
          hint:
            code === 12 || /command not found|rsync: not found/i.test(stderr)
              ? 'the guest needs rsync installed for synced folders'
              : "see rsync's message above; check the folder's `src` and `dest` in the Boxfile",
        }),
      );
    });
  });
}

/**
 * Who owns a synced folder's files in the guest: the folder's `chown`, else the SSH user (with
 * its login group), so a non-root user can work on them; undefined for root (rsync as root keeps
 * the host's owners).
 */
export function folderOwner(chown: string | undefined, sshUser: string): string | undefined {
  return chown ?? (sshUser === 'root' ? undefined : `${sshUser}:`);
}
