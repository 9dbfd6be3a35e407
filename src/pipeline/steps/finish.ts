import { updateMachineState } from '../../state/machine-state.js';
import type { MachineRun } from '../machine-run.js';
import type { Step } from '../step.js';

/** Marks the machine converged: a later `up` on it has nothing to do. */
export const finish: Step<MachineRun> = {
  name: 'finish',
  title: 'ready',
  run: (ctx) => {
    updateMachineState(ctx.env.root, ctx.spec.name, (s) => ({ ...s, converged: true }));
    return Promise.resolve();
  },
};
