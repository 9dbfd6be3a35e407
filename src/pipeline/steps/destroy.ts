import { forgetMachine, withStoreLock } from '../../boxes/store.js';
import { releaseAddresses } from '../../network/leases.js';
import type { MachineContext, Provider } from '../../providers/provider.js';
import { removeMachineDir } from '../../state/machine-state.js';
import type { Step } from '../step.js';

export interface DestroyCtx extends MachineContext {
  provider: Provider;
  home: string;
}

/** Ends the VM and deletes what the provider made for it, and its state; never the box. */
export const destroyMachine: Step<DestroyCtx> = {
  name: 'destroy',
  title: 'destroy',
  run: async (c) => {
    await c.provider.destroy(c);
    await withStoreLock(c.home, `forget machine ${c.spec.name}`, () =>
      Promise.resolve(forgetMachine(c.home, c.env.root, c.spec.name)),
    );
    releaseAddresses(c.env.root, c.spec.name);
    removeMachineDir(c.env.root, c.spec.name);
  },
};
