import { forgetMachine, withStoreLock } from '../../boxes/store.js';
import { BoxfestError } from '../../errors.js';
import { releaseAddresses } from '../../network/leases.js';
import type { MachineContext, Provider } from '../../providers/provider.js';
import { readMachineState, removeMachineDir } from '../../state/machine-state.js';
import type { Step } from '../step.js';

export interface DestroyCtx extends MachineContext {
  provider: Provider;
  home: string;
}

/** Ends the VM and deletes its disk and state; never the box. */
export const destroyMachine: Step<DestroyCtx> = {
  name: 'destroy',
  title: 'destroy',
  run: async (c, out) => {
    try {
      readMachineState(c.env.root, c.spec.name);
    } catch (e) {
      if (!(e instanceof BoxfestError) || e.code !== 'STATE_CORRUPT') throw e;
      // What boxfest recorded is unreadable; the provider still finds what is provably this
      // machine's (QEMU: the process whose command line names its disk, and the disk itself).
      out.line(`${e.message}; removing what boxfest can prove it made`);
    }
    await c.provider.destroy(c);
    await withStoreLock(c.home, `forget machine ${c.spec.name}`, () =>
      Promise.resolve(forgetMachine(c.home, c.env.root, c.spec.name)),
    );
    for (const problem of releaseAddresses(c.env.root, c.spec.name)) out.line(problem);
    removeMachineDir(c.env.root, c.spec.name);
  },
};
