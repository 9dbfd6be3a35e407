import { forgetBoxUser, withStoreLock } from '../../boxes/store.js';
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
  run: async (c) => {
    const box = readMachineState(c.env.root, c.spec.name)?.box;
    await c.provider.destroy(c);
    if (box !== undefined)
      await withStoreLock(c.home, `forget machine ${c.spec.name}`, () =>
        Promise.resolve(
          forgetBoxUser(c.home, box, { project: c.env.root, machine: c.spec.name, disk: c.paths.disk }),
        ),
      );
    releaseAddresses(c.env.root, c.spec.name);
    removeMachineDir(c.env.root, c.spec.name);
  },
};
