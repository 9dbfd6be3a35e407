// File provisioners: upload a file or a directory tree over SFTP, as the SSH user (like Vagrant's
// file provisioner). A directory `src` becomes `dest` with the same contents.
import { readdirSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';
import type { FileProvisioner } from '../config/types.js';
import { BoxfestError, errorMessage } from '../errors.js';
import { execChecked } from '../ssh/client.js';
import type { Client } from '../ssh/ssh2.js';
import { shellQuote } from '../util/quote.js';

type Sftp = Parameters<Parameters<Client['sftp']>[0]>[1];

const SFTP_CLOSE_TIMEOUT_MS = 10_000;

export async function runFileProvisioner(
  ssh: Client,
  machine: string,
  p: FileProvisioner,
  onLine: (line: string) => void,
): Promise<void> {
  const isDir = statSync(p.src).isDirectory();
  const dirs = isDir
    ? [p.dest, ...walk(p.src, '').dirs.map((d) => posix.join(p.dest, d))]
    : [posix.dirname(p.dest)];
  await execChecked(ssh, `mkdir -p ${dirs.map(shellQuote).join(' ')}`, `creating ${p.dest}`, machine);
  const files = isDir
    ? walk(p.src, '').files.map((f) => [join(p.src, f), posix.join(p.dest, f)] as const)
    : [[p.src, p.dest] as const];
  const sftp = await new Promise<Sftp>((resolve, reject) =>
    ssh.sftp((err, s) => (err ? reject(err) : resolve(s))),
  );
  try {
    for (const [local, remote] of files) {
      await new Promise<void>((resolve, reject) =>
        sftp.fastPut(local, remote, (err) =>
          err
            ? reject(
                new BoxfestError(
                  'PROVISION_FILE_FAILED',
                  `provisioner \`${p.name}\`: uploading ${local} to ${remote} failed`,
                  {
                    details: errorMessage(err),
                    hint: `the SSH user must be able to write ${remote}; upload to a writable place and move it with a shell provisioner`,
                  },
                ),
              )
            : resolve(),
        ),
      );
    }
  } finally {
    // Closed before the next command on this connection: an exec sent while dropbear was still
    // ending the SFTP session was refused once ("Unable to exec", CI, the flush right after an
    // upload). Bounded: a server that never confirms the close does not hold the step.
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, SFTP_CLOSE_TIMEOUT_MS);
      sftp.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      sftp.end();
    });
  }
  onLine(`${p.src} -> ${p.dest}: ${files.length} file(s) uploaded`);
}

/** Relative paths of the directories and files under root, parents before children. */
function walk(root: string, rel: string): { dirs: string[]; files: string[] } {
  const out = { dirs: [] as string[], files: [] as string[] };
  for (const entry of readdirSync(join(root, rel), { withFileTypes: true })) {
    const r = rel === '' ? entry.name : posix.join(rel, entry.name);
    if (entry.isDirectory()) {
      out.dirs.push(r);
      const sub = walk(root, r);
      out.dirs.push(...sub.dirs);
      out.files.push(...sub.files);
    } else if (entry.isFile() || entry.isSymbolicLink()) out.files.push(r);
  }
  return out;
}
