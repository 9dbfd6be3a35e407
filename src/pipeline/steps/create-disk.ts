import { existsSync, rmSync } from 'node:fs';
import { forgetBoxUser, recordBoxUser } from '../../boxes/store.js';
import { need, type MachineRun } from '../machine-run.js';
import type { Step } from '../step.js';

export const createDisk: Step<MachineRun> = {
  name: 'create-disk',
  title: 'create copy-on-write disk',
  skip: (ctx) => (existsSync(ctx.paths.disk) ? 'disk exists' : false),
  run: (ctx) => {
    const box = need(ctx.box, 'box');
    recordBoxUser(ctx.home, box.name, ctx.paths.disk);
    return ctx.provider.createDisk(ctx, box);
  },
  rollback: (ctx) => {
    rmSync(ctx.paths.disk, { force: true });
    if (ctx.box) forgetBoxUser(ctx.home, ctx.box.name, ctx.paths.disk);
    return Promise.resolve();
  },
};
