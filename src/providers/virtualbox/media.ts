// The box's image opened once on the server (read-only, Immutable so VirtualBox never writes to it)
// and per-machine differencing disks on it.
import { BoxfestError } from '../../errors.js';
import type { Ref, Websession } from './invoke.js';

export interface Medium {
  ref: Ref;
  id: string;
}

/** The registered hard disk at `location`, if the server already has it open. */
async function findHardDisk(s: Websession, location: string): Promise<Medium | undefined> {
  for (const ref of await s.call<Ref[]>('IVirtualBox_getHardDisks', { _this: s.vbox })) {
    if ((await s.call<string>('IMedium_getLocation', { _this: ref })) === location)
      return { ref, id: await s.call<string>('IMedium_getId', { _this: ref }) };
  }
  return undefined;
}

/**
 * Opens the box image on the server, or finds it when it is already open. Opened ReadOnly so the
 * box file is never written; typed Immutable (only possible while it has no children) so nothing
 * can attach it writable. MultiAttach is refused for media outside a machine's registry.
 */
export function openBoxMedium(s: Websession, location: string): Promise<Medium> {
  // Machines of one `up` sharing a box open it one after the other (the server would hand both the
  // same medium, but both would race to set its type).
  const key = `${s.url}\0${location}`;
  const previous = opening.get(key) ?? Promise.resolve();
  const next = previous.catch(() => undefined).then(() => openOrFind(s, location));
  opening.set(key, next);
  return next;
}

const opening = new Map<string, Promise<Medium>>();

async function openOrFind(s: Websession, location: string): Promise<Medium> {
  const known = await findHardDisk(s, location);
  if (known !== undefined) return known;
  const ref = await s.call('IVirtualBox_openMedium', {
    _this: s.vbox,
    location,
    deviceType: 'HardDisk',
    accessMode: 'ReadOnly',
    forceNewUuid: false,
  });
  const children = await s.call<Ref[]>('IMedium_getChildren', { _this: ref });
  if (children.length === 0 && (await s.call<string>('IMedium_getType', { _this: ref })) === 'Normal')
    await s.call<void>('IMedium_setType', { _this: ref, type: 'Immutable' }).catch(async (e: unknown) => {
      // Another client typed it (or made a diff on it) meanwhile: fine as long as it is shared now.
      if ((await s.call<Ref[]>('IMedium_getChildren', { _this: ref })).length === 0) throw e;
    });
  return { ref, id: await s.call<string>('IMedium_getId', { _this: ref }) };
}

/** A VDI at `location` whose storage is not created yet (its UUID is all zeros until then). */
export async function newMedium(s: Websession, location: string): Promise<Medium> {
  const ref = await s.call('IVirtualBox_createMedium', {
    _this: s.vbox,
    format: 'VDI',
    location,
    accessMode: 'ReadWrite',
    aDeviceTypeType: 'HardDisk',
  });
  return { ref, id: await s.call<string>('IMedium_getId', { _this: ref }) };
}

/** Makes `target` a differencing disk on `base`. */
export async function createDiff(s: Websession, base: Medium, target: Medium): Promise<void> {
  const progress = await s.call('IMedium_createDiffStorage', {
    _this: base.ref,
    target: target.ref,
    variant: ['Diff'],
  });
  await s.wait(progress, 'IMedium_createDiffStorage');
  // Diffs of an Immutable parent are auto-reset by default: the guest would lose its disk at every start.
  await s.call<void>('IMedium_setAutoReset', { _this: target.ref, autoReset: false });
}

/** Deletes the storage of media boxfest created, by server path; others are never touched. */
export async function deleteMediaAt(s: Websession, locations: readonly string[]): Promise<void> {
  if (locations.length === 0) return;
  for (const ref of await s.call<Ref[]>('IVirtualBox_getHardDisks', { _this: s.vbox })) {
    await deleteIfOurs(s, ref, locations);
  }
}

async function deleteIfOurs(s: Websession, ref: Ref, locations: readonly string[]): Promise<void> {
  // A diff sits below the registered base: walk the children too.
  for (const child of await s.call<Ref[]>('IMedium_getChildren', { _this: ref }))
    await deleteIfOurs(s, child, locations);
  if (!locations.includes(await s.call<string>('IMedium_getLocation', { _this: ref }))) return;
  const progress = await s.call('IMedium_deleteStorage', { _this: ref }).catch((e: unknown) => {
    if (e instanceof BoxfestError && e.code === 'VBOX_E_OBJECT_NOT_FOUND') return undefined;
    throw e;
  });
  if (progress !== undefined) await s.wait(progress, 'IMedium_deleteStorage');
}

/**
 * A cloud-init seed (ISO) as a read-only DVD image; the server hands back the medium it already has
 * open at that location. The file is rewritten before each boot; VirtualBox reads it at VM start.
 */
export async function openSeed(s: Websession, location: string): Promise<Medium> {
  const ref = await s.call('IVirtualBox_openMedium', {
    _this: s.vbox,
    location,
    deviceType: 'DVD',
    accessMode: 'ReadOnly',
    forceNewUuid: false,
  });
  return { ref, id: await s.call<string>('IMedium_getId', { _this: ref }) };
}

/** Forgets the seed DVD image on the server (after its machine is gone); the file is the project's. */
export async function closeSeed(s: Websession, location: string): Promise<void> {
  const seed = await openSeed(s, location).catch(() => undefined);
  if (seed !== undefined) await s.call<void>('IMedium_close', { _this: seed.ref });
}
