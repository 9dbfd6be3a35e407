import { need, type MachineRun } from '../machine-run.js';
import type { Step } from '../step.js';

/** The box, made usable where this machine runs (its provider does it once per place). */
export const importBox: Step<MachineRun> = {
  name: 'import-box',
  title: 'import box',
  run: (ctx, out) => ctx.provider.importBox(ctx, need(ctx.box, 'box'), (line) => out.line(line)),
};
