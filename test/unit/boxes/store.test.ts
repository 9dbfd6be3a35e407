// The store's rules without a VM: images by content, --force never changes an image a machine
// uses, remove and prune only take what no machine uses, old stored boxes stay readable.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  applyRemoval,
  boxOfImage,
  commitBox,
  entryImages,
  listBoxes,
  pickBox,
  planPrune,
  recordBoxUser,
  removeBox,
  requireBox,
  type Box,
  type BoxMetadata,
} from '../../../src/boxes/store.js';
import { writeMachineState, type MachineState } from '../../../src/state/machine-state.js';
import { boxPaths } from '../../../src/state/paths.js';
import type { BoxfestError } from '../../../src/errors.js';

let home: string;
let work: string;
beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'boxfest-store-'));
  home = join(work, 'home');
});
afterEach(() => rmSync(work, { recursive: true, force: true }));

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

/** Stages and commits an entry whose "image" holds `content`. */
async function add(name: string, version: string, content: string, force = false): Promise<Box> {
  const dir = mkdtempSync(join(work, 'stage-'));
  const s = sha(content);
  const imageFile = `box-${s.slice(0, 16)}.qcow2`;
  writeFileSync(join(dir, imageFile), content, { mode: 0o444 });
  const meta: BoxMetadata = {
    name,
    version,
    provider: 'qemu',
    format: 'qcow2',
    imageFile,
    sshUser: 'root',
    hasInsecureKey: false,
    diskInterface: 'virtio',
    sha256: s,
    size: content.length,
    addedAt: new Date().toISOString(),
    source: 'test',
  };
  return commitBox(home, { dir, meta }, force);
}

/** A machine of a project whose state names `box`'s image, recorded as a user of it. */
function useBy(box: Box, machine: string): { project: string; disk: string } {
  const project = join(work, `project-${machine}`);
  const state = {
    provider: 'qemu',
    project,
    createdAt: '',
    box: { name: box.name, version: box.version, image: box.image },
    applied: { box: box.name, cpus: 1, memory: 256, hostname: machine },
    sshUser: 'root',
    keyReplaced: true,
    converged: true,
    provisioned: [],
  } as MachineState;
  writeMachineState(project, machine, state);
  const disk = join(project, '.boxfest', 'machines', machine, 'disk.qcow2');
  writeFileSync(disk, 'overlay');
  recordBoxUser(home, box, { project, machine, provider: 'qemu', disk });
  return { project, disk };
}

describe('box add --force over a box that machines use', () => {
  it('stores the new image beside the old one; the machine keeps its image, byte for byte', async () => {
    const old = await add('tiny', '0', 'old image');
    useBy(old, 'web');
    const before = readFileSync(old.image, 'utf8');
    await expect(add('tiny', '0', 'new image')).rejects.toMatchObject({ code: 'BOX_EXISTS' });
    const replaced = await add('tiny', '0', 'new image', true);
    expect(replaced.image).not.toBe(old.image);
    expect(readFileSync(old.image, 'utf8')).toBe(before);
    expect(requireBox(home, { name: 'tiny', provider: 'qemu' }).sha256).toBe(sha('new image'));
    // The machine's box (by the image its state records) is still the old one, with its metadata.
    expect(boxOfImage(home, { name: 'tiny', version: '0', image: old.image })?.sha256).toBe(sha('old image'));
    expect(entryImages(home, 'tiny', '0', 'qemu').map((b) => b.sha256)).toEqual([
      sha('new image'),
      sha('old image'),
    ]);
  });

  it('drops the old image at once when no machine uses it', async () => {
    const old = await add('tiny', '0', 'old image');
    await add('tiny', '0', 'new image', true);
    expect(existsSync(old.image)).toBe(false);
    expect(entryImages(home, 'tiny', '0', 'qemu')).toHaveLength(1);
  });
});

describe('box remove', () => {
  it('refuses while a machine uses the box, and removes nothing', async () => {
    const b = await add('tiny', '1.0', 'one');
    const { project } = useBy(b, 'web');
    const e = (await removeBox(home, 'tiny', { force: false }).catch((x: unknown) => x)) as BoxfestError;
    expect(e.code).toBe('BOX_IN_USE');
    expect(e.details).toContain(`${project} machine web`);
    expect(existsSync(b.image)).toBe(true);
  });

  it('with --force removes only what no machine uses', async () => {
    const used = await add('tiny', '1.0', 'one');
    const unused = await add('tiny', '2.0', 'two');
    useBy(used, 'web');
    const done = await removeBox(home, 'tiny', { force: true });
    expect(done.remove.map((b) => b.version)).toEqual(['2.0']);
    expect(done.keep.map((k) => k.box.version)).toEqual(['1.0']);
    expect(existsSync(used.image)).toBe(true);
    expect(existsSync(boxPaths(home, 'tiny', '2.0', 'qemu').dir)).toBe(false);
    expect(existsSync(unused.image)).toBe(false);
  });

  it('a machine that was destroyed (state gone, disk gone) no longer holds the image', async () => {
    const b = await add('tiny', '1.0', 'one');
    const { project } = useBy(b, 'web');
    rmSync(project, { recursive: true });
    await removeBox(home, 'tiny', { force: false });
    expect(listBoxes(home)).toEqual([]);
    expect(existsSync(join(home, 'boxes', 'tiny'))).toBe(false);
  });

  it.each(['../../x', '..', '/tmp', 'a/b/c'])(
    'refuses the name %j before touching anything',
    async (name) => {
      const victim = join(work, 'x');
      mkdirSync(join(victim, 'data'), { recursive: true });
      mkdirSync(join(home, 'boxes'), { recursive: true });
      await expect(removeBox(home, name, { force: true })).rejects.toMatchObject({ code: 'BOX_NAME' });
      expect(existsSync(join(victim, 'data'))).toBe(true);
    },
  );
});

describe('versions', () => {
  it('new machines take the newest fitting version; prune keeps the newest and what machines use', async () => {
    const v1 = await add('org/box', '1.0.0', 'v1');
    await add('org/box', '1.1.0', 'v11');
    const v2 = await add('org/box', '2.0.0', 'v2');
    expect(pickBox(home, { name: 'org/box', provider: 'qemu' })?.version).toBe('2.0.0');
    expect(pickBox(home, { name: 'org/box', constraint: '< 2', provider: 'qemu' })?.version).toBe('1.1.0');
    expect(() => requireBox(home, { name: 'org/box', constraint: '> 5', provider: 'qemu' })).toThrow(
      /it has 1.0.0, 1.1.0, 2.0.0/,
    );
    expect(existsSync(join(home, 'boxes', 'org+box', '1.0.0', 'qemu', 'metadata.json'))).toBe(true);
    useBy(v1, 'old');
    const plan = planPrune(home);
    expect(plan.remove.map((b) => b.version)).toEqual(['1.1.0']);
    expect(plan.keep.map((k) => k.box.version)).toEqual(['1.0.0']);
    await applyRemoval(home, plan, 'prune');
    expect(listBoxes(home).map((b) => b.version)).toEqual(['1.0.0', '2.0.0']);
    expect(existsSync(v1.image) && existsSync(v2.image)).toBe(true);
  });
});

describe('boxes stored before versions', () => {
  it('are read as version 0 with box.qcow2 and their users (overlay paths) still count', async () => {
    const p = boxPaths(home, 'legacy', '0', 'qemu');
    mkdirSync(join(p.users), { recursive: true });
    writeFileSync(p.image, 'legacy image');
    writeFileSync(p.insecureKey, 'KEY');
    writeFileSync(
      p.metadata,
      JSON.stringify({
        name: 'legacy',
        version: '0',
        provider: 'qemu',
        format: 'qcow2',
        sshUser: 'root',
        hasInsecureKey: true,
        diskInterface: 'nvme',
        sha256: sha('legacy image'),
        size: 12,
        addedAt: '',
        source: '/x',
      }),
    );
    const disk = join(work, 'old-project', '.boxfest', 'machines', 'web', 'disk.qcow2');
    mkdirSync(join(disk, '..'), { recursive: true });
    writeFileSync(disk, 'overlay');
    writeFileSync(join(p.users, sha(disk).slice(0, 32)), disk + '\n');
    const b = requireBox(home, 'legacy');
    expect([b.image, b.insecureKey, b.diskInterface]).toEqual([p.image, p.insecureKey, 'nvme']);
    await expect(removeBox(home, 'legacy', { force: false })).rejects.toMatchObject({ code: 'BOX_IN_USE' });
    rmSync(disk);
    await removeBox(home, 'legacy', { force: false });
    expect(existsSync(p.image)).toBe(false);
  });
});
