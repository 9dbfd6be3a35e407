// Shell provisioners over SSH: the script is uploaded to a private temp file, then run, so it
// keeps its own stdin; output streams line by line; the exit code decides.
import type { Client } from '../ssh/ssh2.js';
import type { Provisioner } from '../config/types.js';
import { BoxfestError } from '../errors.js';
import { asRoot } from '../ssh/as-root.js';
import { exec } from '../ssh/client.js';
import { shellQuote } from '../util/quote.js';

const TAIL_LINES = 20;

export async function runShellProvisioner(
  ssh: Client,
  machine: string,
  user: string,
  p: Provisioner,
  onLine: (line: string) => void,
): Promise<void> {
  const upload = await exec(
    ssh,
    'umask 077 && f=$(mktemp /tmp/boxfest-provision.XXXXXX) && cat > "$f" && echo "$f"',
    {
      stdin: p.shell,
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
  // Stream whole lines; a partial line waits for its end.
  let pending = '';
  const tail: string[] = [];
  const feed = (chunk: string) => {
    pending += chunk;
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      emit(pending.slice(0, nl));
      pending = pending.slice(nl + 1);
    }
  };
  const emit = (line: string) => {
    tail.push(line);
    if (tail.length > TAIL_LINES) tail.shift();
    onLine(line);
  };
  const r = await exec(
    ssh,
    asRoot(user, `sh ${shellQuote(path)}; rc=$?; rm -f ${shellQuote(path)}; exit $rc`),
    {
      onStdout: feed,
      onStderr: feed,
    },
  );
  if (pending !== '') emit(pending);
  if (r.code !== 0)
    throw new BoxfestError('PROVISION_FAILED', `provisioner \`${p.name}\` exited with code ${r.code}`, {
      details: tail.length > 0 ? `last lines of its output:\n${tail.join('\n')}` : '(it printed nothing)',
      hint: `fix the provisioner, then run \`boxfest provision ${machine}\``,
    });
}
