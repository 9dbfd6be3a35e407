import { existsSync } from 'node:fs';
import {
  appliedSpecOf,
  readMachineState,
  removeMachineDir,
  writeMachineState,
} from '../../state/machine-state.js';
import { ensureMachineKey } from '../../ssh/machine.js';
import { need, type MachineRun } from '../machine-run.js';
import type { Step } from '../step.js';

/** Records the machine (state.json) and gives it its own SSH key, before any disk or process exists. */
export const configure: Step<MachineRun> = {
  name: 'configure',
  title: 'configure machine',
  skip: (ctx) => (readMachineState(ctx.env.root, ctx.spec.name) !== undefined ? 'already configured' : false),
  run: (ctx) => {
    const box = need(ctx.box, 'box');
    ensureMachineKey(ctx.paths, `boxfest ${ctx.env.name}/${ctx.spec.name}`);
    writeMachineState(ctx.env.root, ctx.spec.name, {
      provider: ctx.spec.provider,
      project: ctx.env.root,
      createdAt: new Date().toISOString(),
      box: { name: box.name, version: box.version, image: box.image },
      applied: appliedSpecOf(ctx.spec, box.diskInterface, ctx.env.networks),
      sshUser: ctx.spec.ssh.user ?? box.sshUser,
      keyReplaced: false,
      converged: false,
      provisioned: [],
    });
    return Promise.resolve();
  },
  rollback: (ctx) => {
    if (existsSync(ctx.paths.dir)) removeMachineDir(ctx.env.root, ctx.spec.name);
    return Promise.resolve();
  },
};
