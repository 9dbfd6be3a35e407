import { forgetBoxUser, recordBoxUser } from '../../boxes/store.js';
import { need, type MachineRun } from '../machine-run.js';
import type { Step } from '../step.js';

/**
 * Makes the machine from its box, when the provider says it does not exist (discard, before it,
 * cleared one that cannot be used). The box records the machine as its user first.
 */
export const create: Step<MachineRun> = {
  name: 'create',
  title: 'create machine',
  skip: (ctx) => (ctx.actual.state === 'not_created' ? false : 'machine exists'),
  // A provider that keeps what it made (VirtualBox) keeps it when a later step fails.
  commits: (ctx) => ctx.provider.keepsCreated,
  run: async (ctx) => {
    const box = need(ctx.box, 'box');
    recordBoxUser(ctx.home, box.name, ctx.provider.name, ctx.paths.state);
    await ctx.provider.create(ctx, box);
    ctx.actual = { name: ctx.spec.name, state: 'halted' };
  },
  rollback: async (ctx) => {
    await ctx.provider.destroy(ctx);
    if (ctx.box) forgetBoxUser(ctx.home, ctx.box.name, ctx.provider.name, ctx.paths.state);
  },
};
