import { forgetMachine, recordBoxUser, withStoreLock } from '../../boxes/store.js';
import { need, type MachineRun } from '../machine-run.js';
import type { Step } from '../step.js';

/**
 * Makes the machine from its box, when the provider says it does not exist (discard, before it,
 * cleared one that cannot be used). The box records the machine as its user first, under the
 * store's lock, which also proves the image is still there: from then on `box remove` and `box
 * prune` keep it.
 */
export const create: Step<MachineRun> = {
  name: 'create',
  title: 'create machine',
  skip: (ctx) => (ctx.actual.state === 'not_created' ? false : 'machine exists'),
  // A provider that keeps what it made (VirtualBox) keeps it when a later step fails.
  commits: (ctx) => ctx.provider.keepsCreated,
  run: async (ctx) => {
    const box = need(ctx.box, 'box');
    await withStoreLock(ctx.home, `record machine ${ctx.spec.name} on box ${box.name}`, () =>
      Promise.resolve(
        recordBoxUser(ctx.home, box, {
          project: ctx.env.root,
          machine: ctx.spec.name,
          provider: ctx.provider.name,
          // A path that exists while the machine does.
          disk: ctx.paths.state,
        }),
      ),
    );
    await ctx.provider.create(ctx, box);
    ctx.actual = { name: ctx.spec.name, state: 'halted' };
  },
  rollback: async (ctx) => {
    await ctx.provider.destroy(ctx);
    await withStoreLock(ctx.home, `forget machine ${ctx.spec.name}`, () =>
      Promise.resolve(forgetMachine(ctx.home, ctx.env.root, ctx.spec.name)),
    );
  },
};
