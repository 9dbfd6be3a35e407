import { existsSync, rmSync } from 'node:fs';
import { need, type MachineRun } from '../machine-run.js';
import type { Step } from '../step.js';

export const createDisk: Step<MachineRun> = {
  name: 'create-disk',
  title: 'create copy-on-write disk',
  skip: (ctx) => (existsSync(ctx.paths.disk) ? 'disk exists' : false),
  run: (ctx) => ctx.provider.createDisk(ctx, need(ctx.box, 'box')),
  rollback: (ctx) => {
    rmSync(ctx.paths.disk, { force: true });
    return Promise.resolve();
  },
};
