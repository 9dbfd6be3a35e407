// Live shared folders: which folders are shares and their tags, the QEMU devices and virtiofsd
// command line they become, and the guest script that mounts them.
import { describe, expect, it } from 'vitest';
import type { SyncedFolder } from '../../../src/config/types.js';
import { qemuArgs } from '../../../src/providers/qemu/args.js';
import { qemuPaths } from '../../../src/providers/qemu/paths.js';
import { virtiofsdArgs } from '../../../src/providers/qemu/virtiofs.js';
import { sharesOf } from '../../../src/state/applied.js';
import { fstabLine, FSTAB_MARK, mountScript } from '../../../src/sync/mount.js';
import { liveShares, rsyncFolders } from '../../../src/sync/shares.js';
import { spec } from '../helpers.js';

const folder = (over: Partial<SyncedFolder>): SyncedFolder => ({
  type: 'rsync',
  src: '/proj/app',
  dest: '/srv/app',
  exclude: [],
  delete: true,
  args: [],
  auto: true,
  disabled: false,
  ...over,
});

const web = spec('web', {
  memory: 512,
  syncedFolders: [
    folder({ src: '/proj/a' }),
    folder({ type: 'virtiofs', src: '/proj/b', dest: '/b' }),
    folder({ type: '9p', src: '/proj/c', dest: '/c', disabled: true }),
    folder({ type: '9p', src: '/proj/d,e', dest: '/d e', chown: 'www-data:www-data' }),
  ],
});

describe('live shares', () => {
  it('are the enabled non-rsync folders, tagged by position', () => {
    expect(liveShares(web)).toEqual([
      { type: 'virtiofs', index: 0, tag: 'boxfest0', src: '/proj/b', dest: '/b' },
      { type: '9p', index: 1, tag: 'boxfest1', src: '/proj/d,e', dest: '/d e', chown: 'www-data:www-data' },
    ]);
    expect(rsyncFolders(web).map((f) => f.src)).toEqual(['/proj/a']);
    // What state.json records as the boot part (a change reloads the machine).
    expect(sharesOf(web)).toEqual([
      { type: 'virtiofs', src: '/proj/b' },
      { type: '9p', src: '/proj/d,e' },
    ]);
  });

  it('become QEMU devices: shared memfd RAM + vhost-user-fs, and -virtfs with mapped-xattr', () => {
    const args = qemuArgs({
      project: '/proj',
      spec: web,
      paths: qemuPaths('/proj/.boxfest/machines/web'),
      diskInterface: 'virtio',
      accel: 'tcg',
      sshPort: 2222,
      restrictNat: true,
      shares: [
        { type: 'virtiofs', tag: 'boxfest0', socket: '/run/v,0.sock' },
        { type: '9p', tag: 'boxfest1', src: '/proj/d,e' },
      ],
    });
    const at = args.indexOf('-object');
    expect(args.slice(at, at + 10)).toEqual([
      '-object',
      'memory-backend-memfd,id=mem0,size=512M,share=on',
      '-machine',
      'memory-backend=mem0',
      '-chardev',
      'socket,id=fs0,path=/run/v,,0.sock',
      '-device',
      'vhost-user-fs-pci,chardev=fs0,tag=boxfest0',
      '-virtfs',
      'local,id=fs1,path=/proj/d,,e,mount_tag=boxfest1,security_model=mapped-xattr',
    ]);
  });

  it('without virtiofs, the RAM stays private', () => {
    const args = qemuArgs({
      project: '/proj',
      spec: web,
      paths: qemuPaths('/proj/.boxfest/machines/web'),
      diskInterface: 'virtio',
      accel: 'tcg',
      sshPort: 2222,
      restrictNat: true,
      shares: [{ type: '9p', tag: 'boxfest0', src: '/x' }],
    });
    expect(args).not.toContain('-object');
    expect(args).not.toContain('-machine');
    expect(args).toContain('-virtfs');
  });

  it.each([
    ['/srv/app', 'source=/srv/app'],
    ['/a,b\\c', 'source=/a\\,b\\\\c'],
  ])('virtiofsd shares %s with the socket QEMU connects to', (src, source) => {
    expect(virtiofsdArgs('/m/virtiofs-0.sock', src)).toEqual([
      '--socket-path=/m/virtiofs-0.sock',
      '-o',
      source,
      '-o',
      'cache=auto',
    ]);
  });

  it('get one marked fstab line each (spaces escaped as fstab wants)', () => {
    const [b, d] = liveShares(web);
    expect(fstabLine(b!)).toBe(`boxfest0 /b virtiofs defaults,nofail 0 0 ${FSTAB_MARK}`);
    expect(fstabLine(d!)).toBe(
      `boxfest1 /d\\040e 9p trans=virtio,version=9p2000.L,msize=524288,nofail 0 0 ${FSTAB_MARK}`,
    );
  });

  it('are mounted by a script that checks the kernel, rewrites our fstab lines and chowns 9p', () => {
    const script = mountScript(liveShares(web), 'vagrant');
    expect(script).toContain('grep -qw virtiofs /proc/filesystems || missing="$missing virtiofs"');
    expect(script).toContain('[ -z "$missing" ] || { echo $missing; exit 3; }');
    expect(script).toContain('modprobe 9pnet_virtio 2>/dev/null || true; modprobe 9p 2>/dev/null || true');
    expect(script).toContain(`grep -vF '${FSTAB_MARK}' $f > $f.boxfest`);
    expect(script).toContain('mount -t virtiofs -o defaults boxfest0 /b');
    expect(script).toContain("mount -t 9p -o trans=virtio,version=9p2000.L,msize=524288 boxfest1 '/d e'");
    expect(script).toContain("chown -R www-data:www-data '/d e'");
    // virtiofs shows the host's owners: nothing is chowned there.
    expect(script).not.toContain('chown -R vagrant /b');
  });
});
