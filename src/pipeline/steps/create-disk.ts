import { existsSync, rmSync } from 'node:fs';
import { forgetBoxUser, recordBoxUser, withStoreLock } from '../../boxes/store.js';
import { need, type MachineRun } from '../machine-run.js';
import type { Step } from '../step.js';

export const createDisk: Step<MachineRun> = {
  name: 'create-disk',
  title: 'create copy-on-write disk',
  skip: (ctx) => (existsSync(ctx.paths.disk) ? 'disk exists' : false),
  run: async (ctx) => {
    const box = need(ctx.box, 'box');
    // Recorded, under the store's lock, before the disk exists: from here on `box remove` and
    // `box prune` see the machine and keep the image.
    await withStoreLock(ctx.home, `record machine ${ctx.spec.name} on box ${box.name}`, () =>
      Promise.resolve(
        recordBoxUser(ctx.home, box, {
          project: ctx.env.root,
          machine: ctx.spec.name,
          provider: ctx.provider.name,
          disk: ctx.paths.disk,
        }),
      ),
    );
    return ctx.provider.createDisk(ctx, box);
  },
  rollback: async (ctx) => {
    rmSync(ctx.paths.disk, { force: true });
    const box = ctx.box;
    // A hypervisor that keeps the machine after a failed start (VirtualBox) still uses the box.
    if (ctx.provider.name !== 'qemu') {
      const actual = await ctx.provider.inspect(ctx).catch(() => undefined);
      if (actual?.state !== 'not_created') return;
    }
    if (box !== undefined)
      await withStoreLock(ctx.home, `forget machine ${ctx.spec.name}`, () =>
        Promise.resolve(
          forgetBoxUser(ctx.home, box, {
            project: ctx.env.root,
            machine: ctx.spec.name,
            disk: ctx.paths.disk,
          }),
        ),
      );
  },
};
