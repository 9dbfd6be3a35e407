// Volumes in a storage pool: a box's image uploaded once per pool (named by its content, never
// written after the upload: only ever a backing file), and each machine's qcow2 overlay on it.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Box } from '../../boxes/store.js';
import { BoxfestError } from '../../errors.js';
import { homePaths } from '../../state/paths.js';
import { sleep } from '../../state/process.js';
import { withWaitingLock } from '../../state/wait-lock.js';
import type { LibvirtClient } from './client.js';
import { isCode, VIR_ERR, virErrorNumber } from './errors.js';
import { BOX_VOLUME_PREFIX, boxVolumeName } from './names.js';
import { Flags } from './rpc/procedures.js';
import type { PoolRef, VolumeRef } from './rpc/wire.js';
import { child, esc, parseXml, text } from './xml.js';

/** The pool, started if it is defined but inactive. */
export async function openPool(c: LibvirtClient, name: string): Promise<PoolRef> {
  const pool = await c.api.lookupPool(name);
  if (!(await c.api.poolIsActive(pool)))
    throw new BoxfestError(
      'LIBVIRT_NO_POOL',
      `the storage pool \`${name}\` of ${c.uri.text} is not running`,
      {
        hint: `start it: virsh -c ${c.uri.text} pool-start ${name} (and pool-autostart ${name})`,
      },
    );
  return pool;
}

export async function findVolume(
  c: LibvirtClient,
  pool: PoolRef,
  name: string,
): Promise<VolumeRef | undefined> {
  try {
    return await c.api.lookupVolume(pool, name);
  } catch (e) {
    if (isCode(e, 'LIBVIRT_NO_VOLUME')) return undefined;
    throw e;
  }
}

/** The volume's size in bytes on disk (a file's length), which a finished upload of the box has. */
async function physicalSize(c: LibvirtClient, vol: VolumeRef): Promise<bigint> {
  return (await c.api.volumeInfo(vol, Flags.VOL_GET_PHYSICAL)).allocation;
}

async function sha256Of(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** How long to wait for another client's upload of the same box before giving up. */
const UPLOAD_WAIT_MS = 30 * 60_000;
const POLL_MS = 1_000;
/** How long an incomplete box volume must stay the same size to be taken for an upload cut short. */
const STALL_MS = 10_000;
/** Our own uploads that may end up not being the box (replaced meanwhile) before we give up. */
const OWN_ATTEMPTS = 3;

/** A box volume as seen now: its size on disk, which a finished upload has in full. */
interface Seen {
  vol: VolumeRef;
  size: bigint;
}

/** The volume of that name and its size; undefined when there is none, or it went meanwhile. */
async function look(c: LibvirtClient, pool: PoolRef, name: string): Promise<Seen | undefined> {
  const vol = await findVolume(c, pool, name);
  if (vol === undefined) return undefined;
  try {
    return { vol, size: await physicalSize(c, vol) };
  } catch (e) {
    // Deleted by another client, or still being created (listed before its file exists).
    if (isCode(e, 'LIBVIRT_NO_VOLUME')) return undefined;
    throw e;
  }
}

/**
 * The box's volume in the pool, uploaded when missing. A volume of the box's name whose size is
 * not the image's is either an upload in progress or one cut short (a crash, a full disk). Other
 * clients may share the pool (another user's boxfest home, another machine for a remote host), so
 * no lock of ours can cover them: a volume that grows is an upload in progress and is waited for;
 * one that stays the same size (dropStale) is deleted and uploaded again. Whatever a step finds
 * changed under it, it looks again rather than acting on what it saw: only a volume of the full
 * size is returned. After our own upload the volume is checked against the box's sha256 when its
 * file is readable here (a local pool). Within one boxfest home, one process uploads at a time.
 */
export async function ensureBoxVolume(
  c: LibvirtClient,
  home: string,
  poolName: string,
  box: Box,
  onProgress: (line: string) => void,
): Promise<VolumeRef> {
  const deadline = Date.now() + UPLOAD_WAIT_MS;
  const pool = await openPool(c, poolName);
  const name = boxVolumeName(box);
  const full = BigInt(box.size);
  const found = await look(c, pool, name);
  if (found?.size === full) return found.vol;
  const lock = join(
    homePaths(home).locks,
    `libvirt-box-${createHash('sha256').update(`${c.uri.text}\0${poolName}\0${name}`).digest('hex').slice(0, 16)}.lock`,
  );
  return withWaitingLock(lock, `upload box ${box.name} to pool ${poolName}`, UPLOAD_WAIT_MS, async () => {
    let told = false;
    let attempts = 0;
    for (;;) {
      const seen = await look(c, pool, name);
      if (seen?.size === full) return seen.vol;
      const next =
        seen === undefined
          ? await createBoxVolume(c, pool, name, box.size)
          : await dropStale(c, pool, name, seen.size, full);
      if (next === 'again') continue;
      if (next === 'busy') {
        if (Date.now() > deadline)
          throw new BoxfestError(
            'LIBVIRT_BOX_VOLUME',
            `another client has been uploading box ${box.name} to pool ${poolName} for ${UPLOAD_WAIT_MS / 60_000} min`,
            { details: `volume ${name}`, hint: 'wait for that upload to end, then run `boxfest up` again' },
          );
        if (!told) onProgress(`waiting for another client's upload of box ${box.name} to pool ${poolName}`);
        told = true;
        await sleep(POLL_MS);
        continue;
      }
      if ((await upload(c, pool, next, box, onProgress)) === 'done') return next;
      // Our copy is not what the pool holds now (another client took our stalled upload for one
      // cut short and replaced it): look again, a bounded number of times.
      if (++attempts >= OWN_ATTEMPTS)
        throw new BoxfestError(
          'LIBVIRT_BOX_VOLUME',
          `the upload of box ${box.name} to pool ${poolName} is incomplete`,
          {
            details: `volume ${name}, ${attempts} attempts`,
            hint: 'is the pool full? check its free space and run `boxfest up` again',
          },
        );
    }
  });
}

/** A new, empty volume for the box; 'busy' when another client created it first. */
async function createBoxVolume(
  c: LibvirtClient,
  pool: PoolRef,
  name: string,
  size: number,
): Promise<VolumeRef | 'busy'> {
  try {
    return await c.api.createVolume(
      pool,
      `<volume><name>${esc(name)}</name><capacity unit='bytes'>${size}</capacity><target><format type='qcow2'/></target></volume>`,
    );
  } catch (e) {
    if (virErrorNumber(e) === VIR_ERR.STORAGE_VOL_EXIST) return 'busy';
    throw e;
  }
}

/**
 * Deletes an incomplete box volume left by an upload cut short, then 'again'; 'busy' while it
 * grows (an upload in progress), 'again' as soon as it is gone or complete. libvirt marks a volume
 * in use only while an upload's stream is being set up, not while it is written, so growth is the
 * sign: a volume that has not grown for STALL_MS, looked at once more right before, is taken for
 * abandoned. (A stalled upload whose volume this replaced finds out after its stream ends: upload.)
 */
async function dropStale(
  c: LibvirtClient,
  pool: PoolRef,
  name: string,
  before: bigint,
  full: bigint,
): Promise<'again' | 'busy'> {
  let last: Seen | undefined;
  for (const until = Date.now() + STALL_MS; Date.now() < until;) {
    await sleep(POLL_MS);
    last = await look(c, pool, name);
    if (last === undefined || last.size === full) return 'again';
    if (last.size !== before) return 'busy';
  }
  try {
    await c.api.deleteVolume(last!.vol);
    return 'again';
  } catch (e) {
    if (virErrorNumber(e) === VIR_ERR.OPERATION_INVALID) return 'busy'; // "still in use": a stream opening
    if (isCode(e, 'LIBVIRT_NO_VOLUME')) return 'again';
    throw e;
  }
}

/**
 * Streams the box image into the volume we created, then proves the copy: 'done', or 'replaced'
 * when the pool's volume of that name is no longer ours in full (deleted or replaced while our
 * stream ran: its bytes went to a file no longer in the pool). A full-size copy that does not
 * match the box is deleted and reported: nothing writes a volume that has reached its full size.
 */
async function upload(
  c: LibvirtClient,
  pool: PoolRef,
  vol: VolumeRef,
  box: Box,
  onProgress: (line: string) => void,
): Promise<'done' | 'replaced'> {
  const poolName = vol.pool;
  let shown = 0;
  try {
    await c.upload(vol, box.image, box.size, (sent) => {
      const pct = Math.floor((sent / box.size) * 100);
      if (pct >= shown + 25 || sent === box.size) {
        shown = pct;
        onProgress(`uploading box ${box.name} to pool ${poolName}: ${pct}%`);
      }
    });
    await c.api.refreshPool(pool);
    const seen = await look(c, pool, vol.name);
    if (seen === undefined || seen.size !== BigInt(box.size)) return 'replaced';
    const path = await c.api.volumePath(seen.vol);
    if (existsSync(path) && (await sha256Of(path)) !== box.sha256) {
      await c.api.deleteVolume(seen.vol);
      throw new BoxfestError(
        'LIBVIRT_BOX_VOLUME',
        `the uploaded copy of box ${box.name} does not match the box`,
        {
          details: `volume ${vol.name} in pool ${poolName}`,
          hint: 'is the pool full? check its free space and run `boxfest up` again',
        },
      );
    }
    return 'done';
  } catch (e) {
    if (isCode(e, 'LIBVIRT_NO_VOLUME')) return 'replaced';
    throw e;
  }
}

/** A qcow2 overlay on the box volume: the machine's own disk; the box volume is only read. */
export async function createOverlay(
  c: LibvirtClient,
  poolName: string,
  name: string,
  base: VolumeRef,
): Promise<VolumeRef> {
  if (name.startsWith(BOX_VOLUME_PREFIX)) throw new Error(`internal: ${name} is a box volume's name`);
  const pool = await openPool(c, poolName);
  const basePath = await c.api.volumePath(base);
  const { capacity } = await c.api.volumeInfo(base);
  return c.api.createVolume(
    pool,
    [
      `<volume>`,
      `  <name>${esc(name)}</name>`,
      `  <capacity unit='bytes'>${capacity}</capacity>`,
      `  <target><format type='qcow2'/></target>`,
      `  <backingStore><path>${esc(basePath)}</path><format type='qcow2'/></backingStore>`,
      `</volume>`,
    ].join('\n'),
  );
}

/**
 * Deletes a volume boxfest made, if it is there; never a box volume. `onlyIf`: the volume is
 * known by its name alone (no owner tag lists it: a create cut short before the domain was
 * defined, or a domain removed outside boxfest), so it is deleted only when its XML shows it is
 * what boxfest makes under that name: isBoxOverlay for an overlay, isSeedVolume (seed.ts) for a
 * seed; anything else by that name is left, and false returned.
 */
export async function deleteVolume(
  c: LibvirtClient,
  poolName: string,
  name: string,
  onlyIf?: (volXml: string) => boolean,
): Promise<boolean> {
  if (name.startsWith(BOX_VOLUME_PREFIX)) throw new Error(`internal: refusing to delete box volume ${name}`);
  let pool: PoolRef;
  try {
    pool = await c.api.lookupPool(poolName);
  } catch (e) {
    if (isCode(e, 'LIBVIRT_NO_POOL')) return false;
    throw e;
  }
  const vol = await findVolume(c, pool, name);
  if (vol === undefined) return false;
  if (onlyIf !== undefined && !onlyIf(await c.api.volumeXml(vol))) return false;
  await c.api.deleteVolume(vol);
  return true;
}

/** Whether a volume's XML is a qcow2 overlay whose backing file is a boxfest box volume. */
export function isBoxOverlay(volXml: string): boolean {
  const store = child(parseXml(volXml), 'backingStore');
  const backing = store === undefined ? undefined : text(child(store, 'path'));
  return backing !== undefined && basename(backing).startsWith(BOX_VOLUME_PREFIX);
}
