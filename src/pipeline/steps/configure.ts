import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { firstBootOf } from '../../boxes/store.js';
import { newInstanceId } from '../../cloud-init/seed.js';
import { BoxfestError } from '../../errors.js';
import {
  appliedSpecOf,
  readMachineState,
  removeMachineDir,
  writeMachineState,
} from '../../state/machine-state.js';
import { ensureMachineKey, machineKeyComment, makeSeedHostKey } from '../../ssh/machine.js';
import { need, type MachineRun } from '../machine-run.js';
import type { Step } from '../step.js';

/** Records the machine (state.json), before any disk or process exists. */
export const configure: Step<MachineRun> = {
  name: 'configure',
  title: 'configure machine',
  skip: (ctx) => (readMachineState(ctx.env.root, ctx.spec.name) !== undefined ? 'already configured' : false),
  run: (ctx) => {
    const box = need(ctx.box, 'box');
    const firstBoot = firstBootOf(box);
    const sshUser = ctx.spec.ssh.user ?? box.sshUser;
    if (firstBoot === 'cloud-init' && sshUser === 'root')
      throw new BoxfestError(
        'CLOUD_INIT_ROOT',
        `machine ${ctx.spec.name} would log in as root to a cloud-init box`,
        {
          machine: ctx.spec.name,
          hint: 'cloud-init creates a user with passwordless sudo for boxfest: set `ssh.user` to another name (or leave it unset)',
        },
      );
    // A cloud-init box's seed carries the public key, so the key exists before the machine does.
    // Other boxes get it in wait-ssh, while the guest boots: loading ssh2 and generating the key
    // are then off the path from `up` to a running guest.
    if (firstBoot === 'cloud-init') ensureMachineKey(ctx.paths, machineKeyComment(ctx.env, ctx.spec.name));
    // A cloud-init box gets its host key in the seed too: pinned now, before the guest ever answers.
    const hostKey = firstBoot === 'cloud-init' ? makeSeedHostKey(ctx.paths, ctx.spec.name) : undefined;
    writeMachineState(ctx.env.root, ctx.spec.name, {
      provider: ctx.spec.provider,
      project: ctx.env.root,
      createdAt: new Date().toISOString(),
      box: { name: box.name, version: box.version, image: box.image },
      applied: appliedSpecOf(ctx.spec, box.diskInterface, ctx.env.networks),
      sshUser,
      // A cloud-init box never has an insecure key: its seed installs the machine's own key.
      keyReplaced: firstBoot === 'cloud-init',
      converged: false,
      provisioned: [],
      firstBoot,
      // New with every creation: cloud-init runs its once-per-instance work for this machine.
      ...(firstBoot === 'cloud-init'
        ? { instanceId: newInstanceId(ctx.spec.name, randomBytes(6).toString('hex')) }
        : {}),
      ...(hostKey === undefined ? {} : { hostKey, hostKeySource: 'boxfest' as const }),
    });
    return Promise.resolve();
  },
  rollback: (ctx) => {
    if (existsSync(ctx.paths.dir)) removeMachineDir(ctx.env.root, ctx.spec.name);
    return Promise.resolve();
  },
};
