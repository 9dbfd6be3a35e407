// `box_version` on libvirt: the store picks the version (as on QEMU), and each version the
// machines use becomes its own box volume in the pool (named by version and image digest). A
// Boxfile asking for "< 2" from a catalog on a fresh home adds and boots 1.1.0; asking for ">= 2"
// is recreate drift, applied by `up --recreate` onto a 2.0.0 volume, while the 1.1.0 volume stays
// byte for byte; destroy leaves both box volumes. Checked with virsh, apart from boxfest's client.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MachinePlan } from '../../../src/plan/reconcile.js';
import { projectName } from '../../../src/config/defaults.js';
import { boxVolumeName, overlayVolumeName } from '../../../src/providers/libvirt/names.js';
import { catalog, libvirtBox, sha256Of, variant } from '../box-fixtures.js';
import { TestProject } from '../harness.js';
import { serveDir, type FileServer } from '../http-server.js';
import { LIBVIRT, virsh } from '../targets.js';

const VERSIONS = [
  ['1.0.0', 64],
  ['1.1.0', 128],
  ['2.0.0', 32],
] as const;

// The tiny guest's user for Vagrant's insecure key (as in ../box-versions.integration.ts).
const VAGRANTFILE = 'Vagrant.configure("2") do |config|\n  config.ssh.username = "box"\nend\n';

interface ListedBox {
  name: string;
  version: string;
  sha256: string;
}

describe('box_version on libvirt', () => {
  const files = new TestProject({});
  let server: FileServer;
  let catalogUrl: string;
  const boxfile = (constraint: string) =>
    LIBVIRT.boxfile(
      `version: 1\nmachines:\n  web:\n    box: test/tiny\n    box_version: "${constraint}"\n    box_url: ${catalogUrl}\n    memory: 256\n`,
    );
  let p: TestProject;

  const volumeOf = async (version: string) => {
    const boxes = JSON.parse((await p.ok(['box', 'list', '--json'])).stdout) as ListedBox[];
    const b = boxes.find((x) => x.version === version);
    expect(b, `box ${version} stored`).toBeDefined();
    return boxVolumeName(b!);
  };
  const volPath = (vol: string) => virsh('vol-path', '--pool', 'default', vol).trim();
  /** The file the machine's overlay volume is backed by. */
  const backing = () => {
    const xml = virsh(
      'vol-dumpxml',
      '--pool',
      'default',
      overlayVolumeName({ name: projectName(p.root), root: p.root }, 'web'),
    );
    return /<backingStore>\s*<path>([^<]+)<\/path>/.exec(xml)?.[1];
  };
  const version = async () =>
    (JSON.parse((await p.ok(['status', '--json'])).stdout) as { box: { version: string } }[])[0]!.box.version;

  beforeAll(async () => {
    const dir = join(files.base, 'served');
    mkdirSync(dir, { recursive: true });
    const sums: Record<string, string> = {};
    for (const [ver, kib] of VERSIONS) {
      const img = variant(files.boxImage, join(files.base, `v${ver}.qcow2`), kib);
      sums[ver] = sha256Of(libvirtBox(img, join(dir, `tiny-${ver}.box`), { vagrantfile: VAGRANTFILE }));
    }
    server = await serveDir(dir);
    catalogUrl = `${server.url}/catalog.json`;
    writeFileSync(
      join(dir, 'catalog.json'),
      catalog(
        'test/tiny',
        VERSIONS.map(([v]) => ({
          version: v,
          providers: [{ name: 'libvirt', url: `tiny-${v}.box`, sha256: sums[v]! }],
        })),
      ),
    );
    p = new TestProject({ 'Boxfile.yaml': boxfile('< 2') }, { target: LIBVIRT });
  });

  afterAll(async () => {
    await p?.cleanup();
    await server?.close();
    await files.cleanup();
  });

  it("up on a fresh home adds the newest version that fits and boots it from that version's volume", async () => {
    const up = await p.ok(['up']);
    // The upload to the pool (a new daemon: its pool has no copy yet) says how far it got.
    expect(up.stdout).toMatch(/web \| uploading box test\/tiny to pool default: 100%/);
    expect(await version()).toBe('1.1.0');
    const v1 = await volumeOf('1.1.0');
    expect(backing()).toBe(volPath(v1));
    // Only the version asked for was added, so only its volume is in the pool.
    expect(virsh('vol-list', 'default')).not.toContain('-2.0.0-');
    expect((await p.ok(['ssh', 'web', '-c', 'id -un'])).stdout.trim()).toBe('box');
    await p.ok(['up']);
    expect(
      (JSON.parse((await p.ok(['plan', '--json'])).stdout) as { machines: MachinePlan[] }).machines[0],
    ).toMatchObject({ action: 'none' });
  });

  it('another box_version is recreate drift; up --recreate moves to a new volume, the old one unchanged', async () => {
    const v1 = await volumeOf('1.1.0');
    const v1Sha = sha256Of(volPath(v1));
    writeFileSync(join(p.root, 'Boxfile.yaml'), boxfile('>= 2'));
    const [m] = (JSON.parse((await p.ok(['plan', '--json'])).stdout) as { machines: MachinePlan[] }).machines;
    expect(m).toMatchObject({ action: 'recreate' });
    expect(m!.changes).toEqual([expect.objectContaining({ field: 'box_version', class: 'recreate' })]);
    const refused = await p.run(['up']);
    expect([refused.code, refused.stderr]).toEqual([
      1,
      expect.stringContaining('[RECREATE_REQUIRED]') as string,
    ]);
    expect(await version()).toBe('1.1.0');

    await p.ok(['up', '--recreate']);
    expect(await version()).toBe('2.0.0');
    const v2 = await volumeOf('2.0.0');
    expect(backing()).toBe(volPath(v2));
    expect(sha256Of(volPath(v1))).toBe(v1Sha);
    expect((await p.ok(['ssh', 'web', '-c', 'id -un'])).stdout.trim()).toBe('box');

    // destroy removes the machine's domain and overlay, never a box volume.
    await p.ok(['destroy', '--force']);
    expect(LIBVIRT.leftovers(p)).toEqual([]);
    expect(sha256Of(volPath(v1))).toBe(v1Sha);
    expect(volPath(v2)).not.toBe('');
  });
});
