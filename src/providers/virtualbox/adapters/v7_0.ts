// VirtualBox 7.0: createMachine gained cipher, passwordId, password at the end (full-VM
// encryption; empty strings mean none). launchVMProcess is unchanged.
import { v6_1 } from './v6_1.js';
import type { VboxAdapter } from './types.js';

export const v7_0: VboxAdapter = {
  ...v6_1,
  api: '7_0',
  createMachine: (vbox, m) => ({
    ...v6_1.createMachine(vbox, m),
    cipher: '',
    passwordId: '',
    password: '',
  }),
};
