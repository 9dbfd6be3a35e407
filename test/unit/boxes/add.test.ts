// `box add` and its first-boot flags (--cloud-init, --ssh-key, --ssh-user), through the real entry
// point in process, on real files: qcow2 images made with qemu-img and a Vagrant .box made with
// tar. What is refused adds nothing to the store; what is taken is recorded as the flags say, and
// the plain `box list` shows it.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { listBoxes, type Box } from '../../../src/boxes/store.js';
import { main } from '../../../src/cli.js';
import { homePaths } from '../../../src/state/paths.js';

const base = mkdtempSync(join(tmpdir(), 'boxfest-add-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));
const dirs: string[] = [];
afterEach(() => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** The files every case adds from, made once. */
const files = { plain: '', cloud: '', vagrant: '', key: '' };

beforeAll(() => {
  const img = (name: string) => join(base, name);
  // A blank qcow2: no cloud-init in it.
  files.plain = img('plain.qcow2');
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', files.plain, '1M']);
  // A qcow2 whose contents hold cloud-init's directory name, as a cloud image's filesystem does.
  const raw = img('cloud.raw');
  const bytes = Buffer.alloc(2 ** 20);
  bytes.write('cloud.cfg.d', 4096, 'latin1');
  writeFileSync(raw, bytes);
  files.cloud = img('cloud.qcow2');
  execFileSync('qemu-img', ['convert', '-q', '-f', 'raw', '-O', 'qcow2', raw, files.cloud]);
  // A Vagrant box in vagrant-libvirt's layout (metadata.json + box.img, tar.gz).
  const box = img('vagrant.d');
  mkdirSync(box);
  execFileSync('cp', [files.plain, join(box, 'box.img')]);
  writeFileSync(
    join(box, 'metadata.json'),
    JSON.stringify({ provider: 'libvirt', format: 'qcow2', virtual_size: 1 }),
  );
  files.vagrant = img('vagrant.box');
  execFileSync('tar', ['czf', files.vagrant, '-C', box, 'metadata.json', 'box.img']);
  files.key = img('id_test');
  writeFileSync(
    files.key,
    '-----BEGIN OPENSSH PRIVATE KEY-----\nnot checked\n-----END OPENSSH PRIVATE KEY-----\n',
  );
});

/** boxfest `argv` with its own empty BOXFEST_HOME: exit code, output, and the home. */
async function run(argv: string[], home = mkdtempSync(join(base, 'home-'))) {
  dirs.push(home);
  vi.stubEnv('BOXFEST_HOME', home);
  let stdout = '';
  let stderr = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((t) => ((stdout += String(t)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((t) => ((stderr += String(t)), true));
  const code = await main(argv, base);
  vi.restoreAllMocks();
  return { code, stdout, stderr, home };
}

/** Nothing in the store and nothing staged beside it. */
function expectEmptyStore(home: string): void {
  expect(listBoxes(home)).toEqual([]);
  const staging = homePaths(home).boxesStaging;
  expect(existsSync(staging) ? readdirSync(staging) : []).toEqual([]);
}

describe('box add: first-boot flags that are refused', () => {
  const cases: { title: string; argv: () => string[]; error: () => string }[] = [
    {
      title: '--cloud-init with --ssh-key',
      argv: () => ['box', 'add', 'b', files.plain, '--cloud-init', '--ssh-key', files.key],
      error: () => 'error: `--cloud-init` and `--ssh-key` exclude each other [BOX_FIRST_BOOT]',
    },
    {
      title: '--cloud-init with --ssh-user root',
      argv: () => ['box', 'add', 'b', files.plain, '--cloud-init', '--ssh-user', 'root'],
      error: () => 'error: a cloud-init box cannot log in as root [BOX_SSH_USER]',
    },
    {
      title: '--ssh-user root for an image found to have cloud-init',
      argv: () => ['box', 'add', 'b', files.cloud, '--ssh-user', 'root'],
      error: () => 'error: a cloud-init box cannot log in as root [BOX_SSH_USER]',
    },
    {
      title: '--cloud-init for a Vagrant box (it logs in with its key)',
      argv: () => ['box', 'add', 'b', files.vagrant, '--cloud-init'],
      error: () =>
        `error: ${files.vagrant} is a Vagrant box: it logs in with its key (first boot: ssh-key), not through cloud-init [BOX_FIRST_BOOT]`,
    },
  ];

  it.each(cases)('$title: exit 1, said plainly, nothing added', async ({ argv, error }) => {
    const r = await run(argv());
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n')).toContain(error());
    expectEmptyStore(r.home);
  });
});

describe('box add: first boot recorded as the flags and the image say', () => {
  const cases: {
    title: string;
    argv: () => string[];
    meta: Partial<Box>;
  }[] = [
    {
      title: '--cloud-init --ssh-user alice',
      argv: () => ['box', 'add', 'b', files.plain, '--cloud-init', '--ssh-user', 'alice'],
      meta: { firstBoot: 'cloud-init', sshUser: 'alice', hasInsecureKey: false, origin: 'image' },
    },
    {
      title: '--cloud-init alone (the default user)',
      argv: () => ['box', 'add', 'b', files.plain, '--cloud-init'],
      meta: { firstBoot: 'cloud-init', sshUser: 'boxfest', hasInsecureKey: false },
    },
    {
      title: 'an image with cloud-init, no flag (looked into)',
      argv: () => ['box', 'add', 'b', files.cloud],
      meta: { firstBoot: 'cloud-init', sshUser: 'boxfest', hasInsecureKey: false },
    },
    {
      title: 'an image without cloud-init, no flag',
      argv: () => ['box', 'add', 'b', files.plain],
      meta: { firstBoot: 'ssh-key', sshUser: 'root', hasInsecureKey: false },
    },
    {
      title: 'an image with cloud-init and --ssh-key (not looked into)',
      argv: () => ['box', 'add', 'b', files.cloud, '--ssh-key', files.key],
      meta: { firstBoot: 'ssh-key', sshUser: 'root', hasInsecureKey: true },
    },
    {
      title: 'a Vagrant box',
      argv: () => ['box', 'add', 'b', files.vagrant],
      meta: { firstBoot: 'ssh-key', sshUser: 'vagrant', hasInsecureKey: true, origin: 'vagrant-libvirt' },
    },
  ];

  it.each(cases)('$title', async ({ argv, meta }) => {
    const r = await run(argv());
    expect(r.stderr).not.toContain('error:');
    expect(r.code).toBe(0);
    const boxes = listBoxes(r.home);
    expect(boxes).toHaveLength(1);
    expect(boxes[0]).toMatchObject({ name: 'b', version: '0', provider: 'qemu', ...meta });
    expect(r.stdout).toMatch(
      new RegExp(`^box b 0 \\(qemu\\) added: .*, user ${meta.sshUser}.*, first boot: ${meta.firstBoot}\\n$`),
    );
  });

  it('the plain `box list` shows each box’s first boot', async () => {
    const home = mkdtempSync(join(base, 'home-'));
    expect(
      (await run(['box', 'add', 'cloud', files.plain, '--cloud-init', '--ssh-user', 'alice'], home)).code,
    ).toBe(0);
    expect((await run(['box', 'add', 'vag', files.vagrant], home)).code).toBe(0);
    const list = await run(['box', 'list'], home);
    expect(list.code).toBe(0);
    const lines = list.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines.find((l) => l.startsWith('cloud  0  qemu  qcow2  '))).toContain(
      `  user alice  virtio  first boot: cloud-init  from ${files.plain}`,
    );
    expect(lines.find((l) => l.startsWith('vag  0  qemu  qcow2  '))).toContain(
      `  user vagrant  virtio  first boot: ssh-key  from ${files.vagrant}`,
    );
  });
});
