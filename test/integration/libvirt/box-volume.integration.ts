// A box's volume in a shared pool, against the private libvirtd: clients that share a pool but
// no boxfest home (other users, other machines of a remote host) upload one box once between
// them. An upload in progress (a growing volume) is waited for, never deleted; one cut short is
// replaced. Each client
// is its own connection, as separate processes would be; the volumes are checked with virsh.
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Box } from '../../../src/boxes/store.js';
import { LibvirtClient } from '../../../src/providers/libvirt/client.js';
import { BOX_VOLUME_PREFIX, boxVolumeName } from '../../../src/providers/libvirt/names.js';
import { usableUri } from '../../../src/providers/libvirt/uri.js';
import { waitUntil } from '../../../src/state/process.js';
import { ensureBoxVolume, openPool } from '../../../src/providers/libvirt/volumes.js';
import { virsh } from '../targets.js';

const SIZE = 48 << 20;
const POOL = 'default';

const volumes = () =>
  virsh('vol-list', POOL)
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((v) => v !== '');

async function connect(): Promise<LibvirtClient> {
  const u = usableUri('qemu:///system');
  if (!u.ok) throw new Error(u.problem);
  return LibvirtClient.open(u.uri);
}

describe('libvirt: one box volume per pool, whoever uploads it', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'boxfest-it-volume-'));
  const image = join(tmp, 'box.qcow2');
  const bytes = randomBytes(SIZE);
  let box: Box;
  let a: LibvirtClient;
  let b: LibvirtClient;
  let others: string[];

  beforeAll(async () => {
    writeFileSync(image, bytes);
    box = {
      name: `voltest-${randomBytes(3).toString('hex')}`,
      version: '0',
      provider: 'qemu',
      format: 'qcow2',
      sshUser: 'box',
      hasInsecureKey: false,
      diskInterface: 'virtio',
      sha256: createHash('sha256').update(bytes).digest('hex'),
      size: SIZE,
      addedAt: new Date(0).toISOString(),
      source: image,
      image,
      insecureKey: undefined,
    };
    [a, b] = await Promise.all([connect(), connect()]);
    others = volumes().filter((v) => v.startsWith(BOX_VOLUME_PREFIX));
  });
  afterEach(() => {
    if (volumes().includes(boxVolumeName(box))) virsh('vol-delete', '--pool', POOL, boxVolumeName(box));
    // Every other box's volume is still there (other files' machine overlays come and go meanwhile).
    expect(volumes().filter((v) => others.includes(v))).toEqual(others);
  });
  afterAll(() => {
    a.close();
    b.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  /** ensureBoxVolume from its own boxfest home, with the progress lines it printed. */
  const ensure = async (c: LibvirtClient) => {
    const said: string[] = [];
    const vol = await ensureBoxVolume(c, mkdtempSync(join(tmp, 'home-')), POOL, box, (l) => said.push(l));
    return { vol, said };
  };
  const volPath = () => virsh('vol-path', '--pool', POOL, boxVolumeName(box)).trim();
  const theCopy = () => createHash('sha256').update(readFileSync(volPath())).digest('hex');
  /** A FIFO the test writes the box into, slice by slice, when it chooses. */
  const feeder = (name: string) => {
    const fifo = join(tmp, name);
    execFileSync('mkfifo', [fifo]);
    let f: FileHandle | undefined;
    return {
      fifo,
      feed: async (from: number, to: number) => {
        f ??= await open(fifo, 'w');
        await f.write(bytes.subarray((from * SIZE) / 4, (to * SIZE) / 4));
        if (to === 4) await f.close();
      },
    };
  };

  it('two clients at once: one uploads, the other waits for it; one volume, the box byte for byte', async () => {
    const [x, y] = await Promise.all([ensure(a), ensure(b)]);
    expect(x.vol.name).toBe(boxVolumeName(box));
    expect(y.vol.name).toBe(x.vol.name);
    const uploaded = [x, y].filter((r) => r.said.some((l) => /^uploading .*100%$/.test(l)));
    expect(uploaded).toHaveLength(1);
    // The other one uploaded nothing (it waited, or found the upload already done).
    expect([x, y].find((r) => r !== uploaded[0])!.said.filter((l) => l.startsWith('uploading'))).toEqual([]);
    expect(volumes().filter((v) => v === boxVolumeName(box))).toHaveLength(1);
    expect(theCopy()).toBe(box.sha256);
  });

  it('an upload in progress (pausing 1.5 s between slices) is waited for, not deleted', async () => {
    // Client a streams the box from a FIFO the test feeds in four slices, 1.5 s apart.
    const fifo = join(tmp, 'slow');
    execFileSync('mkfifo', [fifo]);
    const pool = await openPool(a, POOL);
    const vol = await a.api.createVolume(
      pool,
      `<volume><name>${boxVolumeName(box)}</name><capacity unit='bytes'>${SIZE}</capacity><target><format type='qcow2'/></target></volume>`,
    );
    const inode = statSync(volPath()).ino;
    const streaming = a.upload(vol, fifo, SIZE);
    const feeding = (async () => {
      const f = await open(fifo, 'w');
      for (let i = 0; i < 4; i++) {
        await f.write(bytes.subarray((i * SIZE) / 4, ((i + 1) * SIZE) / 4));
        await new Promise((r) => setTimeout(r, 1_500));
      }
      await f.close();
    })();
    const started = Date.now();
    const waiter = await ensure(b);
    expect(await streaming).toBe(SIZE);
    await feeding;
    // The file a streamed into is the pool's volume: never deleted and made anew.
    expect(statSync(volPath()).ino).toBe(inode);
    expect(Date.now() - started).toBeGreaterThan(4_000); // b returned only once a was done
    expect(waiter.said).toEqual([`waiting for another client's upload of box ${box.name} to pool ${POOL}`]);
    expect(theCopy()).toBe(box.sha256);
  });

  it('a stalled upload replaced by another client leaves the new upload alone and returns it', async () => {
    // a's upload stalls after a quarter, long enough (> 10 s) for b to take it for one cut short,
    // delete it and upload again; b's upload is still going when a's stream ends.
    const slowA = feeder('a');
    const slowB = feeder('b');
    const saidA: string[] = [];
    const saidB: string[] = [];
    const homeA = mkdtempSync(join(tmp, 'home-'));
    const homeB = mkdtempSync(join(tmp, 'home-'));
    const upA = ensureBoxVolume(a, homeA, POOL, { ...box, image: slowA.fifo }, (l) => saidA.push(l));
    await slowA.feed(0, 1);
    expect(await waitUntil(() => volumes().includes(boxVolumeName(box)), 10_000, 100)).toBe(true);
    const first = statSync(volPath()).ino;
    const upB = ensureBoxVolume(b, homeB, POOL, { ...box, image: slowB.fifo }, (l) => saidB.push(l));
    // b's own volume: a new file under the same name, once b has deleted a's.
    expect(
      await waitUntil(
        () => volumes().includes(boxVolumeName(box)) && statSync(volPath()).ino !== first,
        30_000,
        100,
      ),
    ).toBe(true);
    const second = statSync(volPath()).ino;
    await slowB.feed(0, 1);
    await slowA.feed(1, 4); // a's stream ends, into a file no longer in the pool
    await new Promise((r) => setTimeout(r, 1_500));
    await slowB.feed(1, 2);
    await new Promise((r) => setTimeout(r, 1_000));
    await slowB.feed(2, 4);
    const [volA, volB] = await Promise.all([upA, upB]);
    expect(volA.name).toBe(boxVolumeName(box));
    expect(volB.name).toBe(volA.name);
    // b's upload was never deleted, and it is the box.
    expect(statSync(volPath()).ino).toBe(second);
    expect(theCopy()).toBe(box.sha256);
    expect(saidB.at(-1)).toBe(`uploading box ${box.name} to pool ${POOL}: 100%`);
    // a's stream had run to its end (into the file b deleted) before a took b's volume.
    expect(saidA).toContain(`uploading box ${box.name} to pool ${POOL}: 100%`);
  }, 90_000);

  it('an upload cut short (too small, not growing for 10 s) is deleted and uploaded again', async () => {
    virsh('vol-create-as', POOL, boxVolumeName(box), '1M', '--format', 'qcow2');
    const r = await ensure(a);
    expect(r.said.at(-1)).toBe(`uploading box ${box.name} to pool ${POOL}: 100%`);
    expect(theCopy()).toBe(box.sha256);
  });
});
