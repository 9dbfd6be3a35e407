import { inPlacePart } from '../../state/applied.js';
import { updateMachineState } from '../../state/machine-state.js';
import type { MachineRun } from '../machine-run.js';
import type { Step } from '../step.js';

/** Marks the machine converged: a later `up` on it has nothing to do. */
export const finish: Step<MachineRun> = {
  name: 'finish',
  title: 'ready',
  run: (ctx) => {
    // The in-place part (hostname, folders, provisioners) is applied once the whole pipeline ran.
    updateMachineState(ctx.env.root, ctx.spec.name, (s) => ({
      ...s,
      converged: true,
      applied: { ...s.applied, ...inPlacePart(ctx.spec) },
    }));
    return Promise.resolve();
  },
};
