// Ownership tags in the machine's extra data, so `status`, `halt` and `destroy` find boxfest's
// machines on the server even when the project's `.boxfest/` is gone.
import { createHash } from 'node:crypto';
import type { Environment } from '../../config/types.js';

export const TAG = {
  /** Absolute project root on the host that ran `up`: the owner. */
  project: 'boxfest/project',
  /** Project name (DNS label of the root's base name), for people reading VBoxManage output. */
  projectName: 'boxfest/project-name',
  machine: 'boxfest/machine',
  /** JSON array of the server paths of media boxfest created for this machine: the only media destroy deletes. */
  media: 'boxfest/media',
  /** UUID of the box's medium the machine's disk is a differencing disk on (never deleted). */
  boxMedium: 'boxfest/box-medium',
  /** Server path of the cloud-init seed ISO attached as a DVD (closed, never deleted, by destroy). */
  seed: 'boxfest/seed',
  /** 127.0.0.1 port forwarded to the guest's SSH. */
  sshPort: 'boxfest/ssh-port',
  createdAt: 'boxfest/created-at',
} as const;

/** Unique per project root and machine; readable in VBoxManage list vms. */
export function vmName(env: Environment, machine: string): string {
  const root = createHash('sha256').update(env.root).digest('hex').slice(0, 8);
  return `boxfest-${env.name}-${machine}-${root}`;
}

export function parseMedia(value: string): string[] {
  if (value === '') return [];
  try {
    const v: unknown = JSON.parse(value);
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}
