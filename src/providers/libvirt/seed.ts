// A cloud-init machine's NoCloud seed on the libvirt host: the seed ISO the `write-seed` step
// writes on this host before each boot (machinePaths().seed) becomes a raw volume in the pool of
// the machine's overlay, uploaded over libvirt's own stream (STORAGE_VOL_UPLOAD), as a box is: the
// same path for a local daemon and a remote one (qemu+ssh://, over the one SSH connection). The
// domain attaches it read-only (domain-xml.ts); its owner tag lists it, and `destroy` deletes it.
import { statSync } from 'node:fs';
import { BoxfestError } from '../../errors.js';
import type { LibvirtClient } from './client.js';
import { BOX_VOLUME_PREFIX, SEED_VOLUME_SUFFIX } from './names.js';
import type { VolumeRef } from './rpc/wire.js';
import { findVolume, openPool } from './volumes.js';
import { child, esc, parseXml, text } from './xml.js';

/**
 * Larger than any seed boxfest writes (a few KiB of user-data and network-config in an ISO of
 * some 50 KiB, plus whatever the Boxfile's `cloud_init` carries): a volume known by its name
 * alone is deleted as a seed only when it is no larger.
 */
export const SEED_MAX_BYTES = 64 << 20;

/** The volume the seed goes into: raw, exactly the image's size. */
export function seedVolumeXml(name: string, size: number): string {
  return `<volume><name>${esc(name)}</name><capacity unit='bytes'>${size}</capacity><target><format type='raw'/></target></volume>`;
}

/**
 * What to do with the pool's volume of the seed's name before an upload: `create` it (none
 * there), `overwrite` it (boxfest's, the image's size: the new image replaces its bytes),
 * `recreate` it (boxfest's, another size: a changed network-config can change the image's), or
 * `refuse` (one that no tag of this machine's domain lists: never boxfest's to write).
 */
export function seedVolumePlan(
  existing: { capacity: bigint } | undefined,
  size: number,
  ours: boolean,
): 'create' | 'overwrite' | 'recreate' | 'refuse' {
  if (existing === undefined) return 'create';
  if (!ours) return 'refuse';
  return existing.capacity === BigInt(size) ? 'overwrite' : 'recreate';
}

/**
 * Whether a volume known by its name alone (no owner tag lists it: the domain was removed outside
 * boxfest) is what boxfest makes of a seed: a raw file volume without a backing file, no larger
 * than SEED_MAX_BYTES. Anything else of that name is left.
 */
export function isSeedVolume(volXml: string): boolean {
  const v = parseXml(volXml);
  const name = text(child(v, 'name')) ?? '';
  const target = child(v, 'target');
  const format = target === undefined ? undefined : child(target, 'format')?.getAttribute('type');
  const store = child(v, 'backingStore');
  const backing = store === undefined ? undefined : text(child(store, 'path'));
  const capacity = child(v, 'capacity');
  const bytes =
    capacity === undefined ? NaN : Number(text(capacity)) * unitBytes(capacity.getAttribute('unit'));
  return (
    name.endsWith(SEED_VOLUME_SUFFIX) && format === 'raw' && (backing ?? '') === '' && bytes <= SEED_MAX_BYTES
  );
}

/** libvirt writes capacity in bytes; other units are read as libvirt documents them. */
function unitBytes(unit: string | null): number {
  const u = (unit ?? 'bytes').toLowerCase();
  const k: Record<string, number> = { b: 1, bytes: 1, k: 1024, kib: 1024, m: 1 << 20, mib: 1 << 20 };
  return k[u] ?? NaN;
}

/**
 * Puts the seed image `file` into the volume `name` of `poolName`, on the host the domain runs
 * on. `ours`: the machine's domain (its owner tag) lists the volume, so boxfest made it at an
 * earlier boot and may write it again; one it does not list is never written. Returns the volume.
 */
export async function putSeedVolume(
  c: LibvirtClient,
  poolName: string,
  name: string,
  file: string,
  ours: boolean,
): Promise<VolumeRef> {
  if (name.startsWith(BOX_VOLUME_PREFIX) || !name.endsWith(SEED_VOLUME_SUFFIX))
    throw new Error(`internal: ${name} is not a seed volume's name`);
  const size = statSync(file).size;
  const pool = await openPool(c, poolName);
  let vol = await findVolume(c, pool, name);
  const plan = seedVolumePlan(vol === undefined ? undefined : await c.api.volumeInfo(vol), size, ours);
  if (plan === 'refuse')
    throw new BoxfestError(
      'LIBVIRT_NOT_OURS',
      `pool ${poolName} of ${c.uri.text} has a volume ${name} that boxfest did not make for this machine`,
      {
        hint: 'rename or remove that volume (virsh vol-delete); boxfest never writes a volume it does not own',
      },
    );
  if (plan === 'recreate') {
    await c.api.deleteVolume(vol!);
    vol = undefined;
  }
  vol ??= await c.api.createVolume(pool, seedVolumeXml(name, size));
  const sent = await c.upload(vol, file, size);
  if (sent !== size)
    throw new BoxfestError(
      'LIBVIRT_SEED_VOLUME',
      `the seed upload to ${name} sent ${sent} of ${size} bytes`,
      {
        hint: 'is the pool full? check its free space and run `boxfest up` again',
      },
    );
  return vol;
}
