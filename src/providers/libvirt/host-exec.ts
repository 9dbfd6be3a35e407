// Commands boxfest runs on a libvirt host itself, beside libvirt's API: the VXLAN links of
// networks that span hosts (span.ts) and a remote guest's serial console log. Over the host's
// one SSH connection (ssh/host-link.ts) for a remote URI, here for a local daemon; as root
// (through `sudo -n` when the login is not root). Every word is quoted for the remote shell.
import { execFile } from 'node:child_process';
import { exec } from '../../ssh/client.js';
import { shellQuote } from '../../util/quote.js';
import type { LibvirtClient } from './client.js';
import { hostSpecOf, remoteHost } from './remote-host.js';

/** A command on a host must answer in this long. */
const HOST_EXEC_TIMEOUT_MS = 30_000;

/** Runs `argv` as root on the libvirt host of `c`; resolves with its stdout, rejects with its stderr. */
export async function runAsRoot(c: LibvirtClient, argv: string[]): Promise<string> {
  if (c.uri.transport !== 'ssh') {
    const words = process.getuid?.() === 0 ? argv : ['sudo', '-n', ...argv];
    return new Promise((resolve, reject) => {
      execFile(words[0]!, words.slice(1), { timeout: HOST_EXEC_TIMEOUT_MS }, (e, out, err) =>
        e === null ? resolve(out) : reject(new Error(err.trim() || e.message)),
      );
    });
  }
  const host = await remoteHost(c.uri);
  const root = hostSpecOf(c.uri).user === 'root';
  const command = (root ? argv : ['sudo', '-n', ...argv]).map(shellQuote).join(' ');
  const r = await exec(host.client, command, { timeoutMs: HOST_EXEC_TIMEOUT_MS });
  if (r.code === 0) return r.stdout;
  throw new Error(r.stderr.trim() || `exit status ${r.code < 0 ? `none (${r.signal ?? 'killed'})` : r.code}`);
}
