// A version adapter knows how one VirtualBox API version spells the calls whose signatures changed.
// Everything else is the same from 6.1 to 7.2 and is called directly.
import type { Ref } from '../invoke.js';

export interface NewMachine {
  name: string;
  osTypeId: string;
  /** `createMachine` flags, e.g. `UUID=...`; '' for none. */
  flags: string;
  groups: string[];
}

export interface VboxAdapter {
  /** `6_1`, `7_0`, `7_1`, `7_2`. */
  readonly api: string;
  /** Arguments of IVirtualBox_createMachine, in this version's order. */
  createMachine(vbox: Ref, m: NewMachine): Record<string, unknown>;
  /** Arguments of IMachine_launchVMProcess (`environmentChanges[]` since 6.1). */
  launchVMProcess(
    machine: Ref,
    session: Ref,
    frontend: 'headless' | 'gui',
    env: string[],
  ): Record<string, unknown>;
}
