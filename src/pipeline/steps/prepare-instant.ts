import { instantStarterOf } from '../../providers/optional.js';
import { readMachineState } from '../../state/machine-state.js';
import { need, type MachineRun } from '../machine-run.js';
import type { Step } from '../step.js';

/** `instant: true`: a new machine's disk is made for a saved ready state (saved now if need be). */
export const prepareInstant: Step<MachineRun> = {
  name: 'prepare-instant',
  title: 'saved ready state',
  skip: (ctx) => {
    if (!ctx.spec.instant) return 'instant is off';
    if (ctx.actual.state !== 'not_created') return 'machine exists';
    return readMachineState(ctx.env.root, ctx.spec.name)?.instant !== undefined ? 'prepared' : false;
  },
  run: async (ctx, out) => {
    const starter = instantStarterOf(ctx.provider);
    if (starter === undefined) return out.title(`provider ${ctx.provider.name} boots normally`);
    const why = await starter.prepareInstant(ctx, need(ctx.box, 'box'), (l) => out.line(l));
    if (why === undefined) out.title('saved ready state found: restoring instead of booting');
    else {
      out.line(`instant: ${why}; booting normally`);
      out.title('no saved state: booting normally');
    }
  },
};
