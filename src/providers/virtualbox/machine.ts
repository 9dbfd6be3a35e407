// Finding boxfest's machine on the server by its name and ownership tags, and changing it under a
// write lock.
import { BoxfestError } from '../../errors.js';
import type { Environment } from '../../config/types.js';
import type { Ref, Websession } from './invoke.js';
import { TAG, vmName } from './tags.js';

export interface OwnedMachine {
  ref: Ref;
  name: string;
  tag: (key: string) => Promise<string>;
}

/** The machine boxfest created for `machine` of this project, or undefined. Another owner's VM is an error. */
export async function findOwned(
  s: Websession,
  env: Environment,
  machine: string,
): Promise<OwnedMachine | undefined> {
  const name = vmName(env, machine);
  let ref: Ref;
  try {
    ref = await s.call('IVirtualBox_findMachine', { _this: s.vbox, nameOrId: name });
  } catch (e) {
    if (e instanceof BoxfestError && e.code === 'VBOX_E_OBJECT_NOT_FOUND') return undefined;
    throw e;
  }
  const tag = (key: string) => s.call<string>('IMachine_getExtraData', { _this: ref, key });
  const owner = await tag(TAG.project);
  if (owner !== env.root || (await tag(TAG.machine)) !== machine)
    throw new BoxfestError(
      'VBOX_NOT_OURS',
      `the server has a VM named ${name} that boxfest did not create for ${env.root} (owner: ${owner || 'none'})`,
      { machine, hint: 'rename or remove that VM in VirtualBox; boxfest never changes a VM it does not own' },
    );
  return { ref, name, tag };
}

/** Runs `body` on the mutable machine under a write lock, saves and unlocks (also on failure). */
export async function withWriteLock<T>(
  s: Websession,
  machine: Ref,
  body: (mutable: Ref) => Promise<T>,
): Promise<T> {
  const session = await s.call('IWebsessionManager_getSessionObject', { refIVirtualBox: s.vbox });
  await s.call<void>('IMachine_lockMachine', { _this: machine, session, lockType: 'Write' });
  try {
    const mutable = await s.call('ISession_getMachine', { _this: session });
    const r = await body(mutable);
    await s.call<void>('IMachine_saveSettings', { _this: mutable });
    return r;
  } finally {
    await s.call<void>('ISession_unlockMachine', { _this: session }).catch(() => undefined);
  }
}

/** Runs `body` with the machine's console under a shared lock (the VM must be running). */
export async function withConsole<T>(
  s: Websession,
  machine: Ref,
  body: (console: Ref) => Promise<T>,
): Promise<T> {
  const session = await s.call('IWebsessionManager_getSessionObject', { refIVirtualBox: s.vbox });
  await s.call<void>('IMachine_lockMachine', { _this: machine, session, lockType: 'Shared' });
  try {
    return await body(await s.call('ISession_getConsole', { _this: session }));
  } finally {
    await s.call<void>('ISession_unlockMachine', { _this: session }).catch(() => undefined);
  }
}
