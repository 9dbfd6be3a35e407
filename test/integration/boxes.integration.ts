// `box add` of real Vagrant boxes, catalogs and images, from files and from an HTTP(S) server
// this test starts on 127.0.0.1: formats, checksums, resume, stalls, hostile archives, images
// that reach outside themselves, names, TLS and proxies, and the store lock. No VM boots here
// (box-versions.integration.ts boots machines from what is added).
import { execFileSync, spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VAGRANT_INSECURE_PRIVATE_KEY } from '../../src/boxes/vagrant-key.js';
import { catalog, libvirtBox, sha256Of, testCertificates, variant, virtualboxBox } from './box-fixtures.js';
import { TestProject, type RunResult } from './harness.js';
import { connectProxy, serveDir, type FileServer } from './http-server.js';
import { ownDaemonsEnv } from './daemon-env.js';

interface ListedBox {
  name: string;
  version: string;
  provider: string;
  format: string;
  sshUser: string;
  diskInterface: string;
  sha256: string;
  image: string;
  insecureKey?: string;
  origin: string;
  osType?: string;
  source: string;
  checksum?: string;
  catalog?: string;
  current: boolean;
}

const VAGRANTFILE = `Vagrant.configure("2") do |config|
  config.ssh.username = "box"
  config.vm.provider :libvirt do |libvirt|
    libvirt.disk_bus = "virtio"
  end
end
`;

describe('box add: Vagrant boxes, catalogs, images, downloads', () => {
  const p = new TestProject({});
  const files = join(p.base, 'served');
  let server: FileServer;
  let lvBox: string;
  let vbBox: string;
  const v: Record<string, string> = {};

  const list = async (): Promise<ListedBox[]> =>
    JSON.parse((await p.ok(['box', 'list', '--json'])).stdout) as ListedBox[];
  const storeFiles = () => (existsSync(join(p.home, 'boxes')) ? readdirSync(join(p.home, 'boxes')) : []);
  const downloads = () =>
    existsSync(join(p.home, 'cache', 'downloads')) ? readdirSync(join(p.home, 'cache', 'downloads')) : [];
  const add = (args: string[], env?: Record<string, string>): Promise<RunResult> =>
    p.run(['box', 'add', ...args], env === undefined ? {} : { env });
  const fail = async (args: string[], code: string, env?: Record<string, string>): Promise<RunResult> => {
    const r = await add(args, env);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain(`[${code}]`);
    expect(r.stderr).not.toMatch(/^\s+at /m);
    return r;
  };

  beforeAll(async () => {
    mkdirSync(files, { recursive: true });
    lvBox = libvirtBox(p.boxImage, join(files, 'tiny-libvirt.box'), { vagrantfile: VAGRANTFILE });
    vbBox = virtualboxBox(p.boxImage, join(files, 'tiny-virtualbox.box'));
    // Three versions: the same guest, other bytes (so each is told apart by sha256).
    for (const [ver, kib] of [
      ['1.0.0', 64],
      ['1.1.0', 128],
      ['2.0.0', 32],
    ] as const) {
      const img = variant(p.boxImage, join(p.base, `v${ver}.qcow2`), kib);
      v[ver] = sha256Of(libvirtBox(img, join(files, `tiny-${ver}.box`), { vagrantfile: VAGRANTFILE }));
    }
    server = await serveDir(files);
    writeFileSync(
      join(files, 'catalog.json'),
      catalog('test/tiny', [
        {
          version: '1.0.0',
          providers: [{ name: 'libvirt', url: `${server.url}/tiny-1.0.0.box`, sha256: v['1.0.0']! }],
        },
        { version: '1.1.0', providers: [{ name: 'libvirt', url: 'tiny-1.1.0.box', sha256: v['1.1.0']! }] },
        {
          version: '2.0.0',
          providers: [
            { name: 'libvirt', url: `${server.url}/tiny-2.0.0.box`, sha256: v['2.0.0']! },
            { name: 'virtualbox', url: `${server.url}/tiny-virtualbox.box` },
          ],
        },
      ]),
    );
  });

  afterAll(async () => {
    await server?.close();
    await p.cleanup();
  });

  it('adds a libvirt-layout .box from a file: user and disk bus from its Vagrantfile, Vagrant’s key', async () => {
    const r = await add([lvBox, '--name', 'lv']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /^box lv 0 \(qemu\) added: .* qcow2, sha256 [0-9a-f]{12}…, user box with its key, virtio/,
    );
    const [b] = await list();
    expect(b).toMatchObject({
      name: 'lv',
      version: '0',
      provider: 'qemu',
      format: 'qcow2',
      sshUser: 'box',
      diskInterface: 'virtio',
      origin: 'vagrant-libvirt',
      source: lvBox,
    });
    expect(readFileSync(b!.insecureKey!, 'utf8')).toBe(VAGRANT_INSECURE_PRIVATE_KEY);
    expect(statSync(b!.image).mode & 0o777).toBe(0o444);
    expect(b!.image).toMatch(new RegExp(`/boxes/lv/0/qemu/box-${b!.sha256.slice(0, 16)}\\.qcow2$`));
    // The image is the box's box.img, unchanged.
    expect(b!.sha256).toBe(sha256Of(p.boxImage));
    expect(readdirSync(join(p.home, 'boxes', '.staging'))).toEqual([]);
  });

  it('adds a VirtualBox-layout .box (box.ovf + VMDK) as it is: user vagrant, OS type from the OVF', async () => {
    await p.ok(['box', 'add', vbBox, '--name', 'vb']);
    const b = (await list()).find((x) => x.name === 'vb');
    expect(b).toMatchObject({
      provider: 'virtualbox',
      format: 'vmdk',
      sshUser: 'vagrant',
      osType: 'Debian_64',
      origin: 'vagrant-virtualbox',
    });
    expect(
      JSON.parse(execFileSync('qemu-img', ['info', '--output=json', b!.image], { encoding: 'utf8' })),
    ).toMatchObject({
      format: 'vmdk',
      'format-specific': { data: { 'create-type': 'streamOptimized' } },
    });
  });

  it.each([
    ['raw', ['-O', 'raw']],
    ['vmdk', ['-O', 'vmdk']],
    ['vdi', ['-O', 'vdi']],
    ['vhdx', ['-O', 'vhdx']],
    ['qcow2', ['-O', 'qcow2']],
  ])('adds a plain %s image, converted once to qcow2', async (format, args) => {
    const img = join(p.base, `plain.${format}`);
    execFileSync('qemu-img', ['convert', '-q', ...args, p.boxImage, img]);
    const r = await p.ok(['box', 'add', img, '--name', `plain-${format}`, '--ssh-user', 'box', '--json']);
    const b = JSON.parse(r.stdout) as ListedBox;
    expect(b).toMatchObject({
      name: `plain-${format}`,
      format: 'qcow2',
      provider: 'qemu',
      origin: 'image',
      sshUser: 'box',
    });
    const info = JSON.parse(
      execFileSync('qemu-img', ['info', '--output=json', b.image], { encoding: 'utf8' }),
    ) as { format: string };
    expect(info.format).toBe('qcow2');
    // The same disk as the box it came from, read back byte for byte.
    execFileSync('qemu-img', ['compare', '-q', p.boxImage, b.image]);
  });

  it('refuses images that refer to files outside themselves, with the reason, and keeps nothing', async () => {
    const secret = join(p.base, 'host-secret.raw');
    writeFileSync(secret, Buffer.alloc(1 << 20, 's'));
    const dataFile = join(p.base, 'datafile.qcow2');
    execFileSync('qemu-img', [
      'create',
      '-q',
      '-f',
      'qcow2',
      '-o',
      `data_file=${secret},data_file_raw=on`,
      dataFile,
      '1M',
    ]);
    const backed = join(p.base, 'backed.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', p.boxImage, backed]);
    const flat = join(p.base, 'flat.vmdk');
    execFileSync('qemu-img', ['create', '-q', '-f', 'vmdk', '-o', 'subformat=monolithicFlat', flat, '1M']);
    const before = storeFiles();
    for (const [img, why] of [
      [dataFile, `data-file: ${secret}`],
      [backed, `backing-filename: ${p.boxImage}`],
      [flat, `filename: ${join(p.base, 'flat-flat.vmdk')}`],
    ] as const) {
      const r = await fail([img, '--name', 'evil'], 'BOX_EXTERNAL_REFERENCE');
      expect(r.stderr).toContain('refers to files outside itself');
      expect(r.stderr).toContain(why);
    }
    // Inside a Vagrant box too.
    const evilBox = libvirtBox(dataFile, join(p.base, 'evil.box'));
    expect((await fail([evilBox, '--name', 'evil'], 'BOX_EXTERNAL_REFERENCE')).stderr).toContain(
      `data-file: ${secret}`,
    );
    expect(storeFiles()).toEqual(before);
    expect(readdirSync(join(p.home, 'boxes', '.staging'))).toEqual([]);
  });

  it('adds from a URL with --checksum, streaming to a .partial that is gone afterwards', async () => {
    const r = await add([
      `${server.url}/tiny-1.0.0.box`,
      '--name',
      'url',
      '--checksum',
      `sha256:${v['1.0.0']}`,
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      name: 'url',
      version: '0',
      checksum: `sha256:${v['1.0.0']}`,
    });
    // --json: one JSON object per progress step on stderr; stdout stays one document.
    const events = r.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map(
        (l) =>
          JSON.parse(l) as { event: string; step?: string; bytes?: number; total?: number; done?: boolean },
      );
    const size = statSync(join(files, 'tiny-1.0.0.box')).size;
    expect(events).toContainEqual(
      expect.objectContaining({ event: 'progress', step: 'download', bytes: size, total: size, done: true }),
    );
    expect(downloads()).toEqual([]);
  });

  it.each(['md5', 'sha1', 'sha384', 'sha512'])('verifies a %s checksum of a file', async (type) => {
    const hex = execFileSync('openssl', ['dgst', `-${type}`, '-r', lvBox], { encoding: 'utf8' }).split(
      ' ',
    )[0]!;
    await p.ok(['box', 'add', lvBox, '--name', `sum-${type}`, '--checksum', `${type}:${hex}`]);
  });

  it('a wrong checksum fails and keeps nothing: no box, no downloaded file', async () => {
    const bad = 'f'.repeat(64);
    const r = await fail(
      [`${server.url}/tiny-1.1.0.box`, '--name', 'bad', '--checksum', `sha256:${bad}`],
      'BOX_CHECKSUM',
    );
    expect(r.stderr).toContain(`expected sha256:${bad}`);
    expect(r.stderr).toContain(`got sha256:${v['1.1.0']}`);
    expect(downloads()).toEqual([]);
    expect(storeFiles()).not.toContain('bad');
    await fail([lvBox, '--name', 'bad', '--checksum', `md5:${'0'.repeat(32)}`], 'BOX_CHECKSUM');
    expect(storeFiles()).not.toContain('bad');
  });

  it('resumes after a cut connection with an HTTP range, and the checksum still holds', async () => {
    const path = '/tiny-2.0.0.box';
    const size = statSync(join(files, path)).size;
    const cut = Math.floor(size / 3);
    server.cut(path, cut);
    const from = server.requests.length;
    const r = await add([`${server.url}${path}`, '--name', 'resumed', '--checksum', `sha256:${v['2.0.0']}`]);
    expect(r.code, r.stderr).toBe(0);
    const reqs = server.requests.slice(from).filter((q) => q.path === path);
    expect(reqs.map((q) => q.status)).toEqual([200, 206]);
    // From what arrived and was written (bytes in flight when the socket closed are asked again).
    const start = Number(/^bytes=(\d+)-$/.exec(reqs[1]!.range ?? '')?.[1]);
    expect(start).toBeGreaterThan(cut / 2);
    expect(start).toBeLessThanOrEqual(cut);
    expect(reqs[1]!.sent).toBe(size - start);
    expect(r.stderr).toMatch(/the connection closed after \d+ of \d+ bytes.*; resuming \(attempt 2 of 4\)/);
  });

  it('a download cut every time fails, keeps its .partial, and the next box add resumes it', async () => {
    const path = '/tiny-1.1.0.box';
    const size = statSync(join(files, path)).size;
    server.cut(path, Math.floor(size / 6), 4);
    const from = server.requests.length;
    await fail(
      [`${server.url}${path}`, '--name', 'later', '--checksum', `sha256:${v['1.1.0']}`],
      'DOWNLOAD_TRUNCATED',
    );
    const partial = downloads().find((f) => f.endsWith('.partial'));
    expect(partial).toBeDefined();
    const kept = statSync(join(p.home, 'cache', 'downloads', partial!)).size;
    expect(kept).toBeGreaterThan(size / 3);
    const r = await add([`${server.url}${path}`, '--name', 'later', '--checksum', `sha256:${v['1.1.0']}`]);
    expect(r.code, r.stderr).toBe(0);
    const reqs = server.requests.slice(from).filter((q) => q.path === path);
    expect(reqs).toHaveLength(5);
    expect(reqs.at(-1)).toMatchObject({ status: 206, range: `bytes=${kept}-`, sent: size - kept });
    expect(downloads()).toEqual([]);
  });

  it('a stalled connection times out and is resumed', async () => {
    const path = '/tiny-1.0.0.box';
    server.stall(path, 100_000);
    const from = server.requests.length;
    const r = await add([`${server.url}${path}`, '--name', 'stalled', '--checksum', `sha256:${v['1.0.0']}`], {
      BOXFEST_DOWNLOAD_STALL_SECONDS: '1',
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/stalled.*resuming/);
    expect(server.requests.slice(from).map((q) => q.range)).toEqual([undefined, 'bytes=100000-']);
  });

  it('shows plain progress lines without a terminal', async () => {
    server.throttle('/tiny-virtualbox.box', 4 << 20);
    const r = await p.ok(['box', 'add', `${server.url}/tiny-virtualbox.box`, '--name', 'slow']);
    expect(r.stderr).toMatch(/^download: [\d.]+ MiB of [\d.]+ MiB \(100%\), [\d.]+ [KM]iB\/s/m);
    expect(r.stderr).not.toContain('\r');
  });

  it('a truncated archive is refused and leaves nothing behind', async () => {
    const cut = join(p.base, 'truncated.box');
    writeFileSync(cut, readFileSync(lvBox).subarray(0, Math.floor(statSync(lvBox).size / 2)));
    const r = await fail([cut, '--name', 'truncated'], 'BOX_ARCHIVE');
    expect(r.stderr).toContain('is not a complete tar archive');
    expect(storeFiles()).not.toContain('truncated');
    expect(readdirSync(join(p.home, 'boxes', '.staging'))).toEqual([]);
  });

  it('hostile tar members refuse the whole box and nothing of it is left', async () => {
    const src = join(p.base, 'hostile');
    mkdirSync(src);
    writeFileSync(join(src, 'metadata.json'), '{"provider":"libvirt"}');
    symlinkSync('/etc/shadow', join(src, 'box.img'));
    const sym = join(p.base, 'symlink.box');
    execFileSync('tar', ['czf', sym, '-C', src, 'metadata.json', 'box.img']);
    const dotdot = join(p.base, 'dotdot.box');
    execFileSync('tar', [
      'czf',
      dotdot,
      '-C',
      src,
      '--transform',
      's,^metadata.json,../../../escaped,',
      'metadata.json',
    ]);
    const abs = join(p.base, 'absolute.box');
    execFileSync('tar', ['czPf', abs, join(src, 'metadata.json')]);
    for (const [box, why] of [
      [sym, 'box.img: it is a SymbolicLink'],
      [dotdot, '../../../escaped: its path leaves the archive'],
      [abs, `${join(src, 'metadata.json')}: its path is absolute`],
    ] as const) {
      const r = await fail([box, '--name', 'hostile'], 'BOX_ARCHIVE_HOSTILE');
      expect(r.stderr).toContain(why);
    }
    expect(storeFiles()).not.toContain('hostile');
    expect(readdirSync(join(p.home, 'boxes', '.staging'))).toEqual([]);
    expect(existsSync(join(p.home, 'escaped'))).toBe(false);
    expect(existsSync(join(p.base, 'escaped'))).toBe(false);
  });

  it('adds from a catalog: the newest version that fits, constraints in Vagrant’s syntax', async () => {
    const url = `${server.url}/catalog.json`;
    const pick = async (constraint: string | undefined, name: string) => {
      const r = await p.ok([
        'box',
        'add',
        url,
        '--name',
        name,
        ...(constraint === undefined ? [] : ['--box-version', constraint]),
        '--json',
      ]);
      return JSON.parse(r.stdout) as ListedBox;
    };
    expect(await pick(undefined, 'cat-newest')).toMatchObject({
      version: '2.0.0',
      provider: 'qemu',
      catalog: url,
    });
    expect(await pick('< 2', 'cat-lt2')).toMatchObject({
      version: '1.1.0',
      checksum: `sha256:${v['1.1.0']}`,
    });
    expect(await pick('~> 1.0.0', 'cat-pess')).toMatchObject({ version: '1.0.0' });
    expect(await pick('>= 1.0, != 1.1.0, < 2', 'cat-ne')).toMatchObject({ version: '1.0.0' });
    // Its own name from the catalog, with a slash as on Vagrant Cloud.
    await p.ok(['box', 'add', url, '--box-version', '1.0.0']);
    expect((await list()).filter((b) => b.name === 'test/tiny').map((b) => b.version)).toEqual(['1.0.0']);
    expect(existsSync(join(p.home, 'boxes', 'test+tiny', '1.0.0', 'qemu', 'metadata.json'))).toBe(true);
    const none = await fail([url, '--box-version', '> 3'], 'BOX_CATALOG_NO_FIT');
    expect(none.stderr).toContain('no version of test/tiny meets `> 3`');
    // For VirtualBox, 2.0.0's virtualbox box is preferred.
    expect(
      JSON.parse(
        (await p.ok(['box', 'add', url, '--name', 'cat-vb', '--provider', 'virtualbox', '--json'])).stdout,
      ),
    ).toMatchObject({
      version: '2.0.0',
      provider: 'virtualbox',
      format: 'vmdk',
    });
  });

  it('refuses names that would leave the store, before touching anything', async () => {
    const victim = join(p.base, 'victim');
    mkdirSync(join(victim, 'data'), { recursive: true });
    for (const name of ['../../victim', '..', 'a/b/c', '/tmp/x']) {
      await fail([lvBox, '--name', name], 'BOX_NAME');
      const r = await p.run(['box', 'remove', name]);
      expect([r.code, r.stderr]).toEqual([1, expect.stringContaining('[BOX_NAME]')]);
      const f = await p.run(['box', 'remove', name, '--force']);
      expect(f.code).toBe(1);
    }
    // A Boxfile's `box:` passes the same check at validate time, before any VM exists.
    writeFileSync(
      join(p.root, 'Boxfile.yaml'),
      'version: 1\nmachines:\n  web: { box: "../../victim", memory: 256 }\n',
    );
    const up = await p.run(['up']);
    expect([up.code, up.stderr]).toEqual([
      1,
      expect.stringContaining(
        'machines.web.box: "../../victim" is not a valid box name\n      hint: use letters, digits',
      ) as string,
    ]);
    expect(up.stderr).toContain('No machine was touched.');
    expect(p.qemuPids()).toEqual([]);
    expect(existsSync(join(victim, 'data'))).toBe(true);
  });

  it('HTTPS: an unknown CA is refused with the fix; --ca-cert trusts it', async () => {
    const certs = testCertificates(join(p.base, 'tls'));
    const tls = await serveDir(files, { key: certs.key, cert: certs.cert });
    try {
      const r = await fail([`${tls.url}/tiny-1.0.0.box`, '--name', 'tls'], 'DOWNLOAD_TLS');
      expect(r.stderr).toContain('--ca-cert');
      await p.ok([
        'box',
        'add',
        `${tls.url}/tiny-1.0.0.box`,
        '--name',
        'tls',
        '--ca-cert',
        certs.ca,
        '--checksum',
        `sha256:${v['1.0.0']}`,
      ]);
    } finally {
      await tls.close();
    }
  });

  it('honours HTTPS_PROXY, and NO_PROXY around it', async () => {
    const certs = testCertificates(join(p.base, 'tls2'));
    const tls = await serveDir(files, { key: certs.key, cert: certs.cert });
    const proxy = await connectProxy();
    try {
      const host = new URL(tls.url).host;
      const viaProxy = await p.run(
        ['box', 'add', `${tls.url}/tiny-1.0.0.box`, '--name', 'proxied2', '--ca-cert', certs.ca],
        {
          env: { HTTPS_PROXY: proxy.url, NO_PROXY: '' },
        },
      );
      expect(viaProxy.code, viaProxy.stderr).toBe(0);
      expect(proxy.tunnels).toContain(host);
      const tunnels = proxy.tunnels.length;
      const direct = await p.run(
        ['box', 'add', `${tls.url}/tiny-1.0.0.box`, '--name', 'direct', '--ca-cert', certs.ca],
        {
          env: { HTTPS_PROXY: proxy.url, NO_PROXY: '127.0.0.1' },
        },
      );
      expect(direct.code, direct.stderr).toBe(0);
      expect(proxy.tunnels.length).toBe(tunnels);
    } finally {
      await proxy.close();
      await tls.close();
    }
  });

  it('the store lock: concurrent adds and removes of one box never leave a broken entry', async () => {
    const bin = join(import.meta.dirname, '../../bin/boxfest.js');
    const run = (args: string[]) =>
      new Promise<number>((resolve) => {
        const c = spawn(process.execPath, [bin, ...args], {
          env: { ...ownDaemonsEnv(process.env), BOXFEST_HOME: p.home },
          stdio: 'ignore',
        });
        c.on('close', (code) => resolve(code ?? -1));
      });
    const jobs: Promise<number>[] = [];
    for (let i = 0; i < 3; i++) {
      jobs.push(run(['box', 'add', lvBox, '--name', 'race', '--force']));
      jobs.push(run(['box', 'remove', 'race']));
    }
    await Promise.all(jobs);
    const race = (await list()).filter((b) => b.name === 'race');
    // Either there (whole: metadata, image, key) or gone entirely.
    for (const b of race) {
      expect(existsSync(b.image) && existsSync(b.insecureKey!)).toBe(true);
      expect(sha256Of(b.image)).toBe(b.sha256);
    }
    const dir = join(p.home, 'boxes', 'race', '0', 'qemu');
    if (race.length === 0) expect(existsSync(join(dir, 'metadata.json'))).toBe(false);
    expect(readdirSync(join(p.home, 'boxes', '.staging'))).toEqual([]);
    expect(existsSync(join(p.home, 'locks', 'boxes.lock'))).toBe(false);
  });
});
