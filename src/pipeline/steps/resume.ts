import { suspenderOf } from '../../providers/optional.js';
import type { MachineRun } from '../machine-run.js';
import type { Step } from '../step.js';

/** A suspended machine continues where it was paused; the steps after it then finish the `up`. */
export const resume: Step<MachineRun> = {
  name: 'resume',
  title: 'resume',
  skip: (ctx) => (ctx.actual.state === 'suspended' ? false : 'not suspended'),
  run: async (ctx) => {
    await suspenderOf(ctx.provider).resume(ctx);
    ctx.actual = { ...ctx.actual, state: 'running' };
  },
};
