import { forgetMachine, withStoreLock } from '../../boxes/store.js';
import { removeMachineDir } from '../../state/machine-state.js';
import type { MachineRun } from '../machine-run.js';
import type { Step } from '../step.js';

/**
 * Clears a machine that cannot be started (its disk is gone, its VM half made) or that `up
 * --recreate` replaces (a new box): what the provider made and its state go, then the steps after
 * it create it anew.
 */
export const discard: Step<MachineRun> = {
  name: 'discard',
  title: 'discard the old machine',
  skip: (ctx) => {
    if (ctx.recreate === true && ctx.actual.state !== 'not_created') return false;
    if (ctx.actual.state === 'broken' && ctx.actual.broken !== 'process-gone') return false;
    return 'nothing to discard';
  },
  run: async (ctx, out) => {
    await ctx.provider.destroy(ctx);
    await withStoreLock(ctx.home, `forget machine ${ctx.spec.name}`, () =>
      Promise.resolve(forgetMachine(ctx.home, ctx.env.root, ctx.spec.name)),
    );
    removeMachineDir(ctx.env.root, ctx.spec.name);
    ctx.actual = { name: ctx.spec.name, state: 'not_created' };
    out.title(ctx.recreate === true ? 'old machine destroyed' : 'broken machine discarded');
  },
};
