import { forgetBoxUser } from '../../boxes/store.js';
import { releaseAddresses } from '../../network/leases.js';
import type { MachineContext, Provider } from '../../providers/provider.js';
import { readMachineState, removeMachineDir } from '../../state/machine-state.js';
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
    const boxName = readMachineState(c.env.root, c.spec.name)?.box.name;
    await c.provider.destroy(c);
    if (boxName !== undefined) forgetBoxUser(c.home, boxName, c.provider.name, c.paths.state);
    releaseAddresses(c.env.root, c.spec.name);
    removeMachineDir(c.env.root, c.spec.name);
  },
};
