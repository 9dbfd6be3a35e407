// Instant up's pure parts: which machines can be restored, the state key, the re-identify script.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Box } from '../../../src/boxes/store.js';
import { CLOCK_ASK, clockLine, reidentifyScript } from '../../../src/guest/identity.js';
import {
  cannotRestore,
  ramFileProblem,
  shapeOf,
  stateKey,
  type InstantMeta,
} from '../../../src/providers/qemu/instant.js';
import { spec } from '../helpers.js';

const box = (over: Partial<Box> = {}): Box => ({
  name: 'tiny',
  version: '0',
  provider: 'qemu',
  format: 'qcow2',
  sshUser: 'root',
  hasInsecureKey: true,
  diskInterface: 'virtio',
  sha256: 'a'.repeat(64),
  size: 1,
  addedAt: '',
  source: '',
  image: '/b/box.qcow2',
  insecureKey: '/b/insecure_key',
  ...over,
});

const share = (type: 'virtiofs' | '9p', disabled = false) => ({
  type,
  src: '/proj/app',
  dest: '/app',
  exclude: [],
  delete: true,
  args: [],
  auto: true,
  disabled,
});

describe('cannotRestore', () => {
  it.each([
    ['virtio box, no override', box(), spec('web'), undefined],
    ['nvme box', box({ diskInterface: 'nvme' }), spec('web'), /attached as nvme, which QEMU cannot save/],
    [
      'virtio box, nvme in the Boxfile',
      box(),
      spec('web', { qemu: { accel: 'auto', restrictNetwork: false, extraArgs: [], diskInterface: 'nvme' } }),
      /attached as nvme/,
    ],
    [
      'nvme box, virtio in the Boxfile',
      box({ diskInterface: 'nvme' }),
      spec('web', {
        qemu: { accel: 'auto', restrictNetwork: false, extraArgs: [], diskInterface: 'virtio' },
      }),
      undefined,
    ],
    [
      'a virtiofs shared folder',
      box(),
      spec('web', { syncedFolders: [share('virtiofs')] }),
      /its virtiofs shared folders need devices the saved state does not have/,
    ],
    ['a disabled 9p folder', box(), spec('web', { syncedFolders: [share('9p', true)] }), undefined],
    [
      'its own memory backend in extra_args',
      box(),
      spec('web', {
        qemu: {
          accel: 'auto',
          restrictNetwork: false,
          extraArgs: ['-object', 'memory-backend-file,id=m,size=1G,mem-path=/dev/hugepages'],
        },
      }),
      /memory backend, which a saved state's RAM file takes/,
    ],
  ])('%s', (_, b, s, want) => {
    const why = cannotRestore(s, b);
    if (want === undefined) expect(why).toBeUndefined();
    else expect(why).toMatch(want);
  });
});

describe('stateKey', () => {
  const base = stateKey(box(), 'QEMU 7.2', shapeOf(spec('web', { memory: 256, cpus: 1 }), 'tcg'));
  it.each([
    [
      'another machine name or hostname',
      box(),
      'QEMU 7.2',
      spec('db', { memory: 256, cpus: 1, hostname: 'x' }),
      'tcg',
      true,
    ],
    ['other memory', box(), 'QEMU 7.2', spec('web', { memory: 512, cpus: 1 }), 'tcg', false],
    ['other cpus', box(), 'QEMU 7.2', spec('web', { memory: 256, cpus: 2 }), 'tcg', false],
    ['another accelerator', box(), 'QEMU 7.2', spec('web', { memory: 256, cpus: 1 }), 'kvm', false],
    ['another QEMU', box(), 'QEMU 8.0', spec('web', { memory: 256, cpus: 1 }), 'tcg', false],
    [
      'another box content',
      box({ sha256: 'b'.repeat(64) }),
      'QEMU 7.2',
      spec('web', { memory: 256, cpus: 1 }),
      'tcg',
      false,
    ],
    [
      'one more NIC',
      box(),
      'QEMU 7.2',
      spec('web', { memory: 256, cpus: 1, networks: [{ network: 'n', dhcp: true }] }),
      'tcg',
      false,
    ],
  ] as const)('%s → same key: %s', (_, b, q, s, accel, same) => {
    expect(stateKey(b, q, shapeOf(s, accel)) === base).toBe(same);
  });
});

describe('clockLine: the host clock as the guest sets it', () => {
  it.each([
    [1_700_000_000_000, '1700000000\n'],
    [1_700_000_000_499, '1700000000\n'],
    [1_700_000_000_500, '1700000001\n'],
    [1_700_000_000_999, '1700000001\n'],
  ])('%d ms → %j', (ms, line) => expect(clockLine(ms)).toBe(line));
});

describe('reidentifyScript', () => {
  const script = (reseed: 'rndreseed' | 'perl') =>
    reidentifyScript({
      reseed,
      macs: [
        ['52:54:00:aa:00:00', '52:54:00:10:00:00'],
        ['52:54:00:aa:00:01', '52:54:00:10:00:01'],
      ],
    });

  it('asks for the clock and sets it, then reseeds, then the MACs (the host key is made on the host, not here)', () => {
    const lines = script('rndreseed').split('\n');
    expect(lines.slice(0, 5)).toEqual([
      'set -e',
      `echo ${CLOCK_ASK}`,
      'read -r now',
      'date -u -s "@$now" >/dev/null',
      'rndreseed',
    ]);
    expect(lines).toContain(
      'i=$(iface_of 52:54:00:aa:00:01) && ip link set dev "$i" address 52:54:00:10:00:01',
    );
    expect(lines.join('\n')).not.toMatch(/ssh-keygen|host_key/);
    expect(lines.at(-1)).toBe('echo reidentified');
  });

  it('uses the random.h ioctls through perl on Debian-style guests', () => {
    const s = script('perl');
    expect(s).toContain('ioctl($f, 0x40085203, pack("ii", length($b) * 8, length($b)) . $b)');
    expect(s).toContain('ioctl($f, 0x5207, 0)');
    expect(s.split('\n')[4]).toMatch(/^perl -e '/);
  });

  it.each(['rndreseed', 'perl'] as const)('is valid sh (%s)', (r) => {
    expect(() => execFileSync('sh', ['-n'], { input: script(r) })).not.toThrow();
  });
});

describe('ramFileProblem', () => {
  const dir = mkdtempSync(join(tmpdir(), 'boxfest-ram-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const ram = join(dir, 'ram');
  const meta = (ramFile: InstantMeta['ramFile']) => ({ ramFile }) as InstantMeta;

  it('a state saved before RAM files has none to check', () => {
    expect(ramFileProblem({ ram }, meta(undefined))).toBeUndefined();
  });

  it('the file as saved is fine; gone, rewritten or replaced, a restore does not map it', () => {
    writeFileSync(ram, Buffer.alloc(4096, 1));
    const st = statSync(ram);
    const saved = meta({ bytes: st.size, ctimeMs: st.ctimeMs });
    expect(ramFileProblem({ ram }, saved)).toBeUndefined();
    // Same size, new content (ctime moves with any write), as a punched hole would be.
    writeFileSync(ram, Buffer.alloc(4096, 2));
    utimesSync(ram, st.atime, st.mtime);
    expect(
      ramFileProblem({ ram }, { ...saved, ramFile: { bytes: 4096, ctimeMs: st.ctimeMs - 1000 } }),
    ).toMatch(/changed after it was saved/);
    writeFileSync(ram, Buffer.alloc(8192, 1));
    expect(ramFileProblem({ ram }, saved)).toMatch(/changed after it was saved/);
    rmSync(ram);
    expect(ramFileProblem({ ram }, saved)).toMatch(/is gone/);
  });
});
