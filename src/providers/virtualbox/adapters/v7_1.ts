// VirtualBox 7.1 and 7.2: createMachine takes the platform architecture right after `name`
// (7.1 added ARM hosts); chipset/firmware settings moved to IPlatform (boxfest keeps the defaults).
import { v7_0 } from './v7_0.js';
import type { VboxAdapter } from './types.js';

export const v7_1: VboxAdapter = {
  ...v7_0,
  api: '7_1',
  createMachine: (vbox, m) => ({
    _this: vbox,
    settingsFile: '',
    name: m.name,
    platform: 'x86',
    groups: m.groups,
    osTypeId: m.osTypeId,
    flags: m.flags,
    cipher: '',
    passwordId: '',
    password: '',
  }),
};

/** 7.2 changed nothing boxfest calls (checked against the real 7.2.22 WSDL). */
export const v7_2: VboxAdapter = { ...v7_1, api: '7_2' };
