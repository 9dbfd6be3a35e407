// VirtualBox 6.1: createMachine(settingsFile, name, groups[], osTypeId, flags);
// launchVMProcess(session, name, environmentChanges[]) (an array since 6.1, a string before).
import type { NewMachine, VboxAdapter } from './types.js';

export const v6_1: VboxAdapter = {
  api: '6_1',
  createMachine: (vbox, m: NewMachine) => ({
    _this: vbox,
    settingsFile: '',
    name: m.name,
    groups: m.groups,
    osTypeId: m.osTypeId,
    flags: m.flags,
  }),
  launchVMProcess: (machine, session, frontend, env) => ({
    _this: machine,
    session,
    name: frontend,
    environmentChanges: env,
  }),
};
