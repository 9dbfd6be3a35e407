import {
  CLOUD_INIT_LOG,
  consoleDisagrees,
  parseStatus,
  tailScript,
  waitScript,
} from '../../guest/cloud-init.js';
import { BoxfestError } from '../../errors.js';
import { followUpDone, isFollowUpLine } from '../../guest/follow-up.js';
import { setHostnameScript } from '../../guest/hostname.js';
import { asRoot } from '../../ssh/as-root.js';
import { exec } from '../../ssh/client.js';
import { readMachineState } from '../../state/machine-state.js';
import { need, type MachineRun } from '../machine-run.js';
import type { Step } from '../step.js';

const LOG_TAIL = 30;

/**
 * cloud-init boxes: waits until cloud-init has finished every stage (packages, write_files,
 * runcmd of the Boxfile's user-data) before anything is synced or provisioned, showing its
 * output as it goes. A failed cloud-init fails the machine with the end of its output log; the
 * machine stays up (the step runs after the machine is usable) so it can be looked at.
 */
export const waitCloudInit: Step<MachineRun> = {
  name: 'wait-cloud-init',
  title: 'wait for cloud-init',
  interruptible: true,
  skip: (ctx) =>
    readMachineState(ctx.env.root, ctx.spec.name)?.firstBoot === 'cloud-init'
      ? false
      : 'not a cloud-init box',
  run: async (ctx, out) => {
    const ssh = need(ctx.ssh, 'ssh').client;
    const user = need(readMachineState(ctx.env.root, ctx.spec.name), 'machine state').sshUser;
    let partial = '';
    // The hostname with it, once cloud-init is done (set-hostname skips then): a command fewer,
    // each a sudo and a PAM session, about 0.6 s, on the Debian box under TCG.
    const r = await exec(ssh, asRoot(user, waitScript(setHostnameScript(ctx.spec.hostname))), {
      onStdout: (chunk) => {
        const lines = (partial + chunk).split('\n');
        partial = lines.pop() ?? '';
        for (const l of lines)
          if (l.trim() !== '' && !l.startsWith('boxfest-cloud-init') && !isFollowUpLine(l)) out.line(l);
      },
    });
    if (followUpDone(r.stdout)) ctx.hostnameSet = ctx.spec.hostname;
    const status = parseStatus(r.stdout);
    if (status === undefined)
      throw new BoxfestError(
        'CLOUD_INIT_WAIT_FAILED',
        `could not wait for cloud-init (exit code ${r.code})`,
        {
          machine: ctx.spec.name,
          details: (r.stderr || r.stdout).trim(),
          hint: 'is cloud-init installed in the box? `box add --cloud-init` is for cloud images',
        },
      );
    if (status.status !== 'done') {
      const tail = await exec(ssh, asRoot(user, tailScript(LOG_TAIL)));
      throw new BoxfestError(
        'CLOUD_INIT_FAILED',
        `cloud-init finished with status \`${status.status}\` in machine ${ctx.spec.name}`,
        {
          machine: ctx.spec.name,
          details: `${status.report}\n--- last ${LOG_TAIL} lines of ${CLOUD_INIT_LOG}:\n${tail.stdout.trimEnd()}`,
          hint: `fix \`cloud_init\` in the Boxfile (changing it recreates the machine: \`boxfest up --recreate ${ctx.spec.name}\`); \`boxfest ssh ${ctx.spec.name}\` to look around`,
        },
      );
    }
    // The host key was pinned before the boot (the seed's) or at first contact (older machines);
    // cloud-init has now printed the guest's keys on its console (a channel no network peer can
    // write to): they must agree.
    const pinned = readMachineState(ctx.env.root, ctx.spec.name)?.hostKey;
    const other =
      pinned === undefined ? undefined : consoleDisagrees(pinned, await ctx.provider.consoleTail(ctx, 2000));
    if (pinned !== undefined && other !== undefined)
      throw new BoxfestError(
        'SSH_HOSTKEY_MISMATCH',
        `the SSH host key pinned for ${ctx.spec.name} is not the one its console shows`,
        {
          machine: ctx.spec.name,
          details: `pinned:  ${pinned}\nconsole: ${other}`,
          hint: 'something else answered on its SSH port at first contact; `boxfest destroy` it and `up` again',
        },
      );
    out.title('cloud-init done');
  },
};
