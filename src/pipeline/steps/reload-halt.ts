import { updateMachineState } from '../../state/machine-state.js';
import type { MachineRun } from '../machine-run.js';
import type { Step } from '../step.js';

/** Seconds the guest gets to power off after the ACPI button before it is ended. */
export const HALT_TIMEOUT_S = 30;

/** `up --reload` / `boxfest reload`: shuts the VM down, so `boot` starts it with the new settings. */
export const reloadHalt: Step<MachineRun> = {
  name: 'reload-halt',
  title: 'halt for reload',
  skip: (ctx) =>
    ctx.reload === true && (ctx.actual.state === 'running' || ctx.actual.state === 'suspended')
      ? false
      : 'no reload',
  run: async (ctx, out) => {
    // Not converged from here on: a crash before the boot leaves a halted machine `up` starts.
    updateMachineState(ctx.env.root, ctx.spec.name, (s) => ({ ...s, converged: false }));
    await ctx.provider.stop(ctx, { force: false, timeoutMs: HALT_TIMEOUT_S * 1000 });
    ctx.actual = { name: ctx.spec.name, state: 'halted' };
    out.title('halted for reload');
  },
};
