// Live shared folders (`synced_folders[].type: virtiofs | 9p`): the list every provider maps to its
// own devices, and the one mount tag each share has. Provider-neutral on purpose: QEMU maps a
// share to a virtiofsd + vhost-user-fs-pci or to -virtfs, libvirt would map the same list to
// `<filesystem type='mount'><driver type='virtiofs|path'/><source dir=SRC/><target dir=TAG/>`.
import type { MachineSpec, SyncedFolderType } from '../config/types.js';

export type LiveShareType = Exclude<SyncedFolderType, 'rsync'>;

export interface LiveShare {
  type: LiveShareType;
  /** Position among the machine's live shares. */
  index: number;
  /** The guest's name for the device (`boxfest0`, `boxfest1`, ...; its position among the shares). */
  tag: string;
  /** Absolute host directory. */
  src: string;
  /** Absolute guest mount point. */
  dest: string;
  chown?: string;
}

/** The machine's live shares, in order; disabled folders and rsync folders are not among them. */
export function liveShares(spec: Pick<MachineSpec, 'syncedFolders'>): LiveShare[] {
  return spec.syncedFolders
    .filter((f) => !f.disabled && f.type !== 'rsync')
    .map((f, i) => ({
      type: f.type as LiveShareType,
      index: i,
      tag: `boxfest${i}`,
      src: f.src,
      dest: f.dest,
      ...(f.chown === undefined ? {} : { chown: f.chown }),
    }));
}

/** The folders rsync copies (`type: rsync`, not disabled). */
export const rsyncFolders = (spec: Pick<MachineSpec, 'syncedFolders'>) =>
  spec.syncedFolders.filter((f) => !f.disabled && f.type === 'rsync');
