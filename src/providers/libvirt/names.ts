// Names boxfest gives its libvirt objects, decided once. Domain, overlay and private network
// names carry the project name (for people reading `virsh list`) and a hash of the project root
// (unique per checkout): together with the <metadata> tag they tell boxfest's objects apart.
import { createHash } from 'node:crypto';
import type { Box } from '../../boxes/store.js';
import type { Environment } from '../../config/types.js';

const rootHash = (root: string) => createHash('sha256').update(root).digest('hex').slice(0, 8);

/** The libvirt domain of a machine: `boxfest-<project>-<machine>-<hash of the root>`. */
export function domainName(env: Pick<Environment, 'name' | 'root'>, machine: string): string {
  return `boxfest-${env.name}-${machine}-${rootHash(env.root)}`;
}

/** The machine's copy-on-write overlay volume, in the pool. */
export function overlayVolumeName(env: Pick<Environment, 'name' | 'root'>, machine: string): string {
  return `${domainName(env, machine)}.qcow2`;
}

/**
 * A cloud-init machine's NoCloud seed (its cidata.iso, uploaded before each boot), in the pool of
 * its overlay: on the host the domain runs on, local or remote alike.
 */
export function seedVolumeName(env: Pick<Environment, 'name' | 'root'>, machine: string): string {
  return `${domainName(env, machine)}${SEED_VOLUME_SUFFIX}`;
}

/** How every seed volume's name ends. */
export const SEED_VOLUME_SUFFIX = '.cidata.iso';

/** Prefix of every volume boxfest uploads a box into. */
export const BOX_VOLUME_PREFIX = 'boxfest-box-';

/**
 * A box's volume, one per pool, named by its content: a changed image is another volume. A
 * Vagrant name's `/` (`generic/debian12`) becomes `+`, as in the store: a volume name is a file name.
 */
export function boxVolumeName(box: Pick<Box, 'name' | 'version' | 'sha256'>): string {
  return `${BOX_VOLUME_PREFIX}${box.name.replace('/', '+')}-${box.version}-${box.sha256.slice(0, 16)}.qcow2`;
}

/** A private network of the project: `boxfest-<project>-<network>-<hash of the root>`. */
export function privateNetworkName(env: Pick<Environment, 'name' | 'root'>, network: string): string {
  return `boxfest-${env.name}-${network}-${rootHash(env.root)}`;
}

/** Whether a libvirt network name is one boxfest gives a project's private network. */
export function isPrivateNetworkOf(env: Pick<Environment, 'name' | 'root'>, name: string): boolean {
  return name.startsWith(`boxfest-${env.name}-`) && name.endsWith(`-${rootHash(env.root)}`);
}

/** The management network boxfest creates when the Boxfile names none (vagrant-libvirt's is `vagrant-libvirt`). */
export const DEFAULT_MANAGEMENT_NETWORK = 'boxfest';
