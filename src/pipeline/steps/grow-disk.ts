import { GROW_SCRIPT, parseGrow } from '../../guest/grow-disk.js';
import { BoxfestError } from '../../errors.js';
import { asRoot } from '../../ssh/as-root.js';
import { exec } from '../../ssh/client.js';
import { readMachineState } from '../../state/machine-state.js';
import { need, type MachineRun } from '../machine-run.js';
import type { Step } from '../step.js';

/**
 * `disk_size` on an ssh-key box: the disk was grown before the boot; this grows the root
 * partition and filesystem with the guest's own growpart + resize2fs / xfs_growfs, or says
 * clearly why it could not. (cloud-init boxes grow it themselves at every boot: growpart and
 * resize_rootfs.)
 */
export const growDisk: Step<MachineRun> = {
  name: 'grow-disk',
  title: 'grow root filesystem',
  skip: (ctx) => {
    if (ctx.spec.diskSize === undefined) return 'no disk_size';
    return readMachineState(ctx.env.root, ctx.spec.name)?.firstBoot === 'cloud-init'
      ? 'cloud-init grows it'
      : false;
  },
  run: async (ctx, out) => {
    const user = need(readMachineState(ctx.env.root, ctx.spec.name), 'machine state').sshUser;
    const r = await exec(need(ctx.ssh, 'ssh').client, asRoot(user, GROW_SCRIPT));
    const result = parseGrow(r.stdout);
    if (r.code !== 0 || result === undefined)
      throw new BoxfestError('GROW_DISK_FAILED', 'growing the root filesystem failed in the guest', {
        machine: ctx.spec.name,
        details: (r.stderr || r.stdout).trim(),
        hint: 'the disk itself is grown; grow the partition and filesystem by hand (growpart, resize2fs)',
      });
    if (result.kind === 'no-tools' || result.kind === 'unsupported') {
      const why = `root filesystem not grown: ${result.detail}`;
      ctx.log.push(why); // also in `up --json`'s output
      out.line(why);
      out.title('disk grown; root filesystem not (see above)');
    } else {
      ctx.log.push(result.detail); // `up --json` says what was grown
      out.title(result.detail);
    }
  },
};
