import { removeMachineDir } from '../../state/machine-state.js';
import type { MachineRun } from '../machine-run.js';
import type { Step } from '../step.js';

/** A broken machine (its disk is gone) cannot be started: clear what is left, then create it anew. */
export const discardBroken: Step<MachineRun> = {
  name: 'discard-broken',
  title: 'discard broken machine',
  skip: (ctx) => (ctx.actual.state === 'broken' ? false : 'not broken'),
  run: async (ctx) => {
    await ctx.provider.destroy(ctx);
    removeMachineDir(ctx.env.root, ctx.spec.name);
  },
};
