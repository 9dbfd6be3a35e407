import { requireBox } from '../../boxes/store.js';
import type { MachineRun } from '../machine-run.js';
import type { Step } from '../step.js';

export const resolveBox: Step<MachineRun> = {
  name: 'resolve-box',
  title: 'resolve box',
  run: (ctx, out) => {
    ctx.box = requireBox(ctx.home, ctx.spec.box, ctx.provider.boxFormat);
    out.title(`box ${ctx.box.name}`);
    return Promise.resolve();
  },
};
