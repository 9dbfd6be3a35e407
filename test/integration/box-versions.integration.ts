// Machines on box versions, booted from boxes a local HTTP server serves: `box_url` on a fresh
// home; outdated, update, prune and `box add --force` with a machine on an old version (its disk
// and image unchanged, by sha256); package, then box add of the result, then up; and a
// VirtualBox-layout box run by QEMU (its VMDK converted once).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalog, libvirtBox, sha256Of, variant, virtualboxBox } from './box-fixtures.js';
import { TestProject } from './harness.js';
import { serveDir, type FileServer } from './http-server.js';

const VAGRANTFILE = 'Vagrant.configure("2") do |config|\n  config.ssh.username = "box"\nend\n';

interface StatusRow {
  name: string;
  state: string;
  box: { name: string | null; version: string | null };
}
interface ListedBox {
  name: string;
  version: string;
  provider: string;
  sha256: string;
  image: string;
  origin: string;
  sshUser: string;
  current: boolean;
  users: { project: string; machine: string }[];
}

describe('machines on box versions', () => {
  const files = new TestProject({});
  let server: FileServer;
  const sums: Record<string, string> = {};
  let catalogUrl: string;

  beforeAll(async () => {
    const dir = join(files.base, 'served');
    mkdirSync(dir, { recursive: true });
    for (const [ver, kib] of [
      ['1.0.0', 64],
      ['1.1.0', 128],
      ['2.0.0', 32],
    ] as const) {
      const img = variant(files.boxImage, join(files.base, `v${ver}.qcow2`), kib);
      sums[ver] = sha256Of(libvirtBox(img, join(dir, `tiny-${ver}.box`), { vagrantfile: VAGRANTFILE }));
    }
    virtualboxBox(files.boxImage, join(dir, 'tiny-virtualbox.box'));
    server = await serveDir(dir);
    catalogUrl = `${server.url}/catalog.json`;
    writeFileSync(
      join(dir, 'catalog.json'),
      catalog(
        'test/tiny',
        ['1.0.0', '1.1.0', '2.0.0'].map((version) => ({
          version,
          providers: [{ name: 'libvirt', url: `tiny-${version}.box`, sha256: sums[version]! }],
        })),
      ),
    );
  });

  afterAll(async () => {
    await server?.close();
    await files.cleanup();
  });

  it('box_url in a Boxfile on a fresh home: up adds the newest fitting version, verified, and boots it', async () => {
    const p = new TestProject({
      'Boxfile.yaml': `version: 1\nmachines:\n  web:\n    box: test/tiny\n    box_version: "< 2"\n    box_url: ${catalogUrl}\n    memory: 256\n`,
    });
    try {
      const r = await p.ok(['up']);
      expect(r.stderr).not.toMatch(/^\s+at /m);
      const [row] = JSON.parse((await p.ok(['status', '--json'])).stdout) as StatusRow[];
      expect(row).toMatchObject({
        name: 'web',
        state: 'running',
        box: { name: 'test/tiny', version: '1.1.0' },
      });
      const boxes = JSON.parse((await p.ok(['box', 'list', '--json'])).stdout) as (ListedBox & {
        checksum: string;
        catalog: string;
      })[];
      expect(boxes.map((b) => [b.name, b.version, b.checksum, b.catalog])).toEqual([
        ['test/tiny', '1.1.0', `sha256:${sums['1.1.0']}`, catalogUrl],
      ]);
      expect(boxes[0]!.users).toEqual([{ project: p.root, machine: 'web' }]);
      // Logged in as the Vagrantfile's user with Vagrant's insecure key, then re-keyed.
      expect((await p.ok(['ssh', 'web', '-c', 'id -un'])).stdout.trim()).toBe('box');
      // A second up is a no-op: nothing is downloaded again.
      const again = server.requests.length;
      await p.ok(['up']);
      expect(server.requests.length).toBe(again);
    } finally {
      await p.cleanup();
    }
  });

  describe('a machine on an old version', () => {
    const p = new TestProject({
      'Boxfile.yaml': 'version: 1\nmachines:\n  web: { box: test/tiny, memory: 256 }\n',
      'notes.txt': 'packaged with the box\n',
      'extra.Vagrantfile': 'Vagrant.configure("2") do |config|\n  config.vm.hostname = "from-include"\nend\n',
    });
    let disk: string;
    let image: string;
    let diskSha: string;
    let imageSha: string;
    const status = async () => JSON.parse((await p.ok(['status', '--json'])).stdout) as StatusRow[];
    const list = async () => JSON.parse((await p.ok(['box', 'list', '--json'])).stdout) as ListedBox[];
    const backing = () =>
      (
        JSON.parse(execFileSync('qemu-img', ['info', '-U', '--output=json', disk], { encoding: 'utf8' })) as {
          'backing-filename': string;
        }
      )['backing-filename'];
    const unchanged = () => {
      expect(backing()).toBe(image);
      expect(sha256Of(disk)).toBe(diskSha);
      expect(sha256Of(image)).toBe(imageSha);
    };

    beforeAll(async () => {
      await p.ok(['box', 'add', catalogUrl, '--box-version', '1.0.0']);
      await p.ok(['up']);
      await p.ok(['halt']);
      disk = p.machine('web').disk;
      image = p.storedImage('test/tiny', '1.0.0');
      diskSha = sha256Of(disk);
      imageSha = sha256Of(image);
    });

    afterAll(() => p.cleanup());

    it('status and box list name the version it runs', async () => {
      expect((await status())[0]).toMatchObject({
        state: 'halted',
        box: { name: 'test/tiny', version: '1.0.0' },
      });
      expect((await list()).map((b) => [b.version, b.users.map((u) => u.machine)])).toEqual([
        ['1.0.0', ['web']],
      ]);
    });

    it('box outdated: its version against the newest in its catalog', async () => {
      const rows = JSON.parse((await p.ok(['box', 'outdated', '--json'])).stdout) as object[];
      expect(rows).toEqual([
        {
          box: 'test/tiny',
          machine: 'web',
          version: '1.0.0',
          newest_stored: '1.0.0',
          newest_available: '2.0.0',
          catalog: catalogUrl,
          outdated: true,
        },
      ]);
      expect((await p.ok(['box', 'outdated'])).stdout).toContain(
        'web (test/tiny): runs 1.0.0; outdated: 2.0.0 is available',
      );
    });

    it('box update adds the newest version; the machine keeps its own', async () => {
      const r = await p.ok(['box', 'update']);
      expect(r.stdout).toContain('test/tiny: added 2.0.0; machines made before keep their version');
      expect((await list()).map((b) => b.version)).toEqual(['1.0.0', '2.0.0']);
      expect((await status())[0]!.box.version).toBe('1.0.0');
      unchanged();
      expect((await p.ok(['box', 'update'])).stdout).toContain('2.0.0 is the newest and already stored');
    });

    it('box prune removes only versions no machine uses and keeps the newest; asks first', async () => {
      await p.ok(['box', 'add', catalogUrl, '--box-version', '1.1.0']);
      const dry = JSON.parse((await p.ok(['box', 'prune', '--dry-run', '--json'])).stdout) as {
        would_remove: { version: string }[];
        kept: { version: string; users: { machine: string }[] }[];
      };
      expect(dry.would_remove.map((b) => b.version)).toEqual(['1.1.0']);
      expect(dry.kept).toMatchObject([{ version: '1.0.0', users: [{ machine: 'web' }] }]);
      const unasked = await p.run(['box', 'prune']);
      expect([unasked.code, unasked.stderr]).toEqual([
        1,
        expect.stringContaining('[BOX_PRUNE_CONFIRM]') as string,
      ]);
      expect((await list()).map((b) => b.version)).toEqual(['1.0.0', '1.1.0', '2.0.0']);
      const done = await p.ok(['box', 'prune', '--force']);
      expect(done.stdout).toContain('removed test/tiny 1.1.0');
      expect(done.stdout).toContain('kept test/tiny 1.0.0 (qemu): in use by web');
      expect((await list()).map((b) => b.version)).toEqual(['1.0.0', '2.0.0']);
      unchanged();
    });

    it('box add --force over its version stores the new image beside; remove takes only the unused one', async () => {
      const other = join(files.base, 'served', 'tiny-2.0.0.box');
      const refused = await p.run(['box', 'add', other, '--name', 'test/tiny', '--box-version', '1.0.0']);
      expect([refused.code, refused.stderr]).toEqual([1, expect.stringContaining('[BOX_EXISTS]') as string]);
      await p.ok(['box', 'add', other, '--name', 'test/tiny', '--box-version', '1.0.0', '--force']);
      unchanged();
      const v1 = (await list()).filter((b) => b.version === '1.0.0');
      expect(v1.map((b) => [b.current, b.image === image, b.users.map((u) => u.machine)])).toEqual([
        [true, false, []],
        [false, true, ['web']],
      ]);
      const inUse = await p.run(['box', 'remove', 'test/tiny', '--version', '1.0.0']);
      expect([inUse.code, inUse.stderr]).toEqual([1, expect.stringContaining('[BOX_IN_USE]') as string]);
      expect(inUse.stderr).toContain(`${p.root} machine web`);
      const forced = await p.ok(['box', 'remove', 'test/tiny', '--box-version', '1.0.0', '--force']);
      expect(forced.stdout).toContain('kept test/tiny 1.0.0 (qemu): in use by web');
      expect(existsSync(v1[0]!.image)).toBe(false);
      unchanged();
      // It boots from its own disk on its own image.
      await p.ok(['up']);
      expect((await status())[0]).toMatchObject({ state: 'running', box: { version: '1.0.0' } });
      expect(backing()).toBe(image);
      await p.ok(['halt']);
      // Its disk changed by running, as disks do; from here on it must not change again.
      diskSha = sha256Of(disk);
    });

    it('package, then box add of the result, then up; a VirtualBox box runs on QEMU too', async () => {
      const out = join(p.base, 'web.box');
      const r = await p.ok([
        'package',
        'web',
        '--output',
        out,
        '--vagrantfile',
        'extra.Vagrantfile',
        '--include',
        'notes.txt',
        '--json',
      ]);
      expect(JSON.parse(r.stdout)).toMatchObject({ machine: 'web', output: out, provider: 'libvirt' });
      const members = execFileSync('tar', ['tzf', out], { encoding: 'utf8' })
        .split('\n')
        .filter(Boolean)
        .sort();
      expect(members).toEqual([
        './Vagrantfile',
        './box.img',
        './include/',
        './include/_Vagrantfile',
        './include/notes.txt',
        './metadata.json',
        './vagrant_private_key',
      ]);
      const x = join(p.base, 'unpacked');
      mkdirSync(x);
      execFileSync('tar', ['xzf', out, '-C', x]);
      expect(JSON.parse(execFileSync('cat', [join(x, 'metadata.json')], { encoding: 'utf8' }))).toEqual({
        provider: 'libvirt',
        format: 'qcow2',
        virtual_size: 2,
      });
      const info = JSON.parse(
        execFileSync('qemu-img', ['info', '--output=json', join(x, 'box.img')], { encoding: 'utf8' }),
      ) as Record<string, unknown>;
      expect(info['format']).toBe('qcow2');
      expect(info['backing-filename']).toBeUndefined();
      const vf = execFileSync('cat', [join(x, 'Vagrantfile')], { encoding: 'utf8' });
      expect(vf).toContain('config.ssh.username = "box"');
      expect(vf).toContain(
        'config.ssh.private_key_path = File.expand_path("../vagrant_private_key", __FILE__)',
      );
      expect(vf).toContain('load include_vagrantfile if File.exist?(include_vagrantfile)');
      expect((await p.run(['package', 'web', '--output', out])).stderr).toContain('[PACKAGE_EXISTS]');

      await p.ok(['box', 'add', out, '--name', 'packaged']);
      await p.ok(['box', 'add', join(files.base, 'served', 'tiny-virtualbox.box'), '--name', 'vbtiny']);
      writeFileSync(
        join(p.root, 'Boxfile.yaml'),
        'version: 1\nmachines:\n  web: { box: test/tiny, memory: 256 }\n  pk: { box: packaged, memory: 256 }\n  vb: { box: vbtiny, memory: 256 }\n',
      );
      await p.ok(['up', 'pk', 'vb']);
      // The packaged machine logs in as web's user with the key it shipped, then gets its own.
      expect((await p.ok(['ssh', 'pk', '-c', 'id -un; cat /etc/hostname'])).stdout).toMatch(/^box\npk\n/);
      expect((await p.ok(['ssh', 'vb', '-c', 'id -un'])).stdout.trim()).toBe('vagrant');
      const vb = (await list()).filter((b) => b.name === 'vbtiny');
      expect(vb.map((b) => [b.provider, b.origin, b.users.map((u) => u.machine)])).toEqual([
        ['qemu', 'converted', ['vb']],
        ['virtualbox', 'vagrant-virtualbox', []],
      ]);
      unchanged();
    });
  });
});
