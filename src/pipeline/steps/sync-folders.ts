import { BoxfestError } from '../../errors.js';
import { asRoot } from '../../ssh/as-root.js';
import { exec, execChecked } from '../../ssh/client.js';
import { hostAlias } from '../../ssh/machine.js';
import { readMachineState } from '../../state/machine-state.js';
import { mountShares } from '../../sync/mount.js';
import { excludesFor, folderOwner, rsync } from '../../sync/rsync.js';
import { liveShares, rsyncFolders } from '../../sync/shares.js';
import { shellQuote } from '../../util/quote.js';
import { need, type MachineRun } from '../machine-run.js';
import type { Step } from '../step.js';

export const syncFolders: Step<MachineRun> = {
  name: 'sync-folders',
  title: 'sync folders',
  interruptible: true,
  skip: (ctx) => (enabledFolders(ctx).length === 0 ? 'no synced folders' : false),
  run: async (ctx, out) => {
    const ssh = need(ctx.ssh, 'ssh').client;
    const user = need(readMachineState(ctx.env.root, ctx.spec.name), 'machine state').sshUser;
    // Live shares first: mounted at every `up` (the guest's fstab mounts them at its own reboots).
    const shares = liveShares(ctx.spec);
    await mountShares(ssh, user, shares, ctx.spec.name, (l) => out.line(l));
    await syncAll(ctx, (l) => out.line(l));
    const copied = rsyncFolders(ctx.spec).length;
    out.title(
      [
        copied > 0 ? `synced ${copied} folder(s)` : '',
        shares.length > 0 ? `mounted ${shares.length} shared folder(s)` : '',
      ]
        .filter((s) => s !== '')
        .join(', '),
    );
  },
};

const enabledFolders = (ctx: MachineRun) => ctx.spec.syncedFolders.filter((f) => !f.disabled);

/** Copies the `type: rsync` folders into the guest (live shares need no copy). */
export async function syncAll(ctx: MachineRun, onLine: (l: string) => void): Promise<void> {
  const folders = rsyncFolders(ctx.spec);
  if (folders.length === 0) return;
  const ssh = need(ctx.ssh, 'ssh').client;
  const user = need(readMachineState(ctx.env.root, ctx.spec.name), 'machine state').sshUser;
  const probe = await exec(ssh, 'command -v rsync');
  if (probe.code !== 0)
    throw new BoxfestError('GUEST_RSYNC_MISSING', 'rsync is not installed in the guest', {
      hint: 'install rsync in the box (or in a provisioner that runs before syncing), or remove `synced_folders`',
    });
  for (const f of folders) {
    // The destination must exist and belong to the SSH user before rsync writes into it.
    await execChecked(
      ssh,
      asRoot(user, `mkdir -p ${shellQuote(f.dest)} && chown ${shellQuote(user)} ${shellQuote(f.dest)}`),
      `creating ${f.dest}`,
      ctx.spec.name,
    );
    const r = await rsync(
      {
        machine: ctx.spec.name,
        alias: hostAlias(ctx.env, ctx.spec.name),
        sshConfig: ctx.paths.sshConfig,
        src: f.src,
        dest: f.dest,
        excludes: excludesFor(f.exclude),
        delete: f.delete,
        extraArgs: f.args,
        sudo: user !== 'root',
      },
      onLine,
    );
    const owner = folderOwner(f.chown, user);
    if (owner !== undefined)
      await execChecked(
        ssh,
        asRoot(user, `chown -R ${shellQuote(owner)} ${shellQuote(f.dest)}`),
        `chown ${owner} ${f.dest}`,
        ctx.spec.name,
      );
    onLine(`${f.src} -> ${f.dest}: ${r.filesTransferred} file(s) transferred`);
  }
}
