// Commands boxfest runs on a libvirt host itself, beside libvirt's API: the VXLAN links of
// networks that span hosts (span.ts) and a remote guest's serial console log. Over the host's
// one SSH connection (ssh/host-link.ts) for a remote URI, here for a local daemon; as the login
// user, each command that needs root through `sudo -n` when that user is not root (rootPrefix).
// Every word is quoted for the remote shell.
import { execFile } from 'node:child_process';
import { exec } from '../../ssh/client.js';
import { shellQuote } from '../../util/quote.js';
import type { LibvirtClient } from './client.js';
import type { LibvirtUri } from './uri.js';
import { hostSpecOf, remoteHost } from './remote-host.js';

/** A command on a host must answer in this long. */
const HOST_EXEC_TIMEOUT_MS = 30_000;

/**
 * What runs a command as root on the host of `u`: nothing when boxfest is root there (the ssh
 * URI's user, or this process for a local daemon), else `sudo -n` (never a password prompt). Only
 * the commands that need root get it, so a sudo rule naming just those (`ip`, `bridge`, `tail`)
 * is enough.
 */
export function rootPrefix(u: LibvirtUri, localUid = process.getuid?.()): string[] {
  const root = u.transport === 'ssh' ? hostSpecOf(u).user === 'root' : localUid === 0;
  return root ? [] : ['sudo', '-n'];
}

/** Runs `argv` as the login user on the libvirt host of `c`; resolves with its stdout, rejects with its stderr. */
export async function runOnHost(c: LibvirtClient, argv: string[]): Promise<string> {
  if (c.uri.transport !== 'ssh') {
    return new Promise((resolve, reject) => {
      execFile(argv[0]!, argv.slice(1), { timeout: HOST_EXEC_TIMEOUT_MS }, (e, out, err) =>
        e === null ? resolve(out) : reject(new Error(err.trim() || e.message)),
      );
    });
  }
  const host = await remoteHost(c.uri);
  const r = await exec(host.client, argv.map(shellQuote).join(' '), { timeoutMs: HOST_EXEC_TIMEOUT_MS });
  if (r.code === 0) return r.stdout;
  throw new Error(r.stderr.trim() || `exit status ${r.code < 0 ? `none (${r.signal ?? 'killed'})` : r.code}`);
}

/** Runs `argv` as root on the libvirt host of `c` (see rootPrefix). */
export const runAsRoot = (c: LibvirtClient, argv: string[]): Promise<string> =>
  runOnHost(c, [...rootPrefix(c.uri), ...argv]);
