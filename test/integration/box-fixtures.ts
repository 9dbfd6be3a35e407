// Vagrant boxes built in the test from the tiny test box, in both layouts, as Vagrant and
// vagrant-libvirt make them: libvirt (metadata.json, box.img, Vagrantfile; tar.gz) and VirtualBox
// (metadata.json, box.ovf, a streamOptimized VMDK; tar).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const sha256Of = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** The tiny box's qcow2 rewritten with another cluster size: the same guest, other bytes. */
export function variant(tinyImage: string, out: string, clusterKiB: number): string {
  execFileSync('qemu-img', [
    'convert',
    '-q',
    '-c',
    '-O',
    'qcow2',
    '-o',
    `cluster_size=${clusterKiB}k`,
    tinyImage,
    out,
  ]);
  return out;
}

export function libvirtBox(
  image: string,
  out: string,
  opts: { vagrantfile?: string; metadata?: object; gzip?: boolean } = {},
): string {
  const dir = mkdtempSync(`${out}.d-`);
  try {
    execFileSync('cp', ['--reflink=auto', image, join(dir, 'box.img')]);
    const virtualSize = (
      JSON.parse(execFileSync('qemu-img', ['info', '--output=json', image], { encoding: 'utf8' })) as {
        'virtual-size': number;
      }
    )['virtual-size'];
    writeFileSync(
      join(dir, 'metadata.json'),
      JSON.stringify(
        opts.metadata ?? {
          provider: 'libvirt',
          format: 'qcow2',
          virtual_size: Math.ceil(virtualSize / 2 ** 30),
        },
      ),
    );
    const members = ['metadata.json', 'box.img'];
    if (opts.vagrantfile !== undefined) {
      writeFileSync(join(dir, 'Vagrantfile'), opts.vagrantfile);
      members.push('Vagrantfile');
    }
    execFileSync('tar', [opts.gzip === false ? 'cf' : 'czf', out, '-C', dir, ...members]);
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const OVF = (vmdk: string, capacity: number) => `<?xml version="1.0"?>
<Envelope ovf:version="1.0" xml:lang="en-US" xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:vbox="http://www.virtualbox.org/ovf/machine">
  <References>
    <File ovf:id="file1" ovf:href="${vmdk}"/>
  </References>
  <DiskSection>
    <Info>List of the virtual disks used in the package</Info>
    <Disk ovf:capacity="${capacity}" ovf:diskId="vmdisk1" ovf:fileRef="file1" ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"/>
  </DiskSection>
  <VirtualSystem ovf:id="tiny">
    <Info>A virtual machine</Info>
    <OperatingSystemSection ovf:id="96">
      <Info>The kind of installed guest operating system</Info>
      <Description>Debian_64</Description>
      <vbox:OSType ovf:required="false">Debian_64</vbox:OSType>
    </OperatingSystemSection>
  </VirtualSystem>
</Envelope>
`;

export function virtualboxBox(image: string, out: string): string {
  const dir = mkdtempSync(`${out}.d-`);
  try {
    const vmdk = 'box-disk001.vmdk';
    execFileSync('qemu-img', [
      'convert',
      '-q',
      '-O',
      'vmdk',
      '-o',
      'subformat=streamOptimized',
      image,
      join(dir, vmdk),
    ]);
    const virtualSize = (
      JSON.parse(execFileSync('qemu-img', ['info', '--output=json', image], { encoding: 'utf8' })) as {
        'virtual-size': number;
      }
    )['virtual-size'];
    writeFileSync(join(dir, 'box.ovf'), OVF(vmdk, virtualSize));
    writeFileSync(join(dir, 'metadata.json'), JSON.stringify({ provider: 'virtualbox' }));
    execFileSync('tar', ['cf', out, '-C', dir, 'metadata.json', 'box.ovf', vmdk]);
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function catalog(
  name: string,
  versions: { version: string; providers: { name: string; url: string; sha256?: string }[] }[],
): string {
  return JSON.stringify(
    {
      name,
      description: 'boxfest test catalog',
      versions: versions.map((v) => ({
        version: v.version,
        status: 'active',
        providers: v.providers.map((p) => ({
          name: p.name,
          url: p.url,
          ...(p.sha256 === undefined ? {} : { checksum_type: 'sha256', checksum: p.sha256 }),
        })),
      })),
    },
    null,
    2,
  );
}

/** A CA and a certificate for 127.0.0.1 signed by it (openssl, EC keys: fast). */
export function testCertificates(dir: string): { ca: string; key: string; cert: string } {
  mkdirSync(dir, { recursive: true });
  const f = (n: string) => join(dir, n);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      ...ec,
      '-keyout',
      f('ca.key'),
      '-out',
      f('ca.pem'),
      '-subj',
      '/CN=boxfest test CA',
      '-days',
      '2',
    ],
    { stdio: 'ignore' },
  );
  execFileSync(
    'openssl',
    ['req', ...ec, '-keyout', f('srv.key'), '-out', f('srv.csr'), '-subj', '/CN=127.0.0.1'],
    { stdio: 'ignore' },
  );
  writeFileSync(f('ext'), 'subjectAltName=IP:127.0.0.1\n');
  execFileSync(
    'openssl',
    [
      'x509',
      '-req',
      '-in',
      f('srv.csr'),
      '-CA',
      f('ca.pem'),
      '-CAkey',
      f('ca.key'),
      '-CAcreateserial',
      '-out',
      f('srv.pem'),
      '-days',
      '2',
      '-extfile',
      f('ext'),
    ],
    { stdio: 'ignore' },
  );
  return {
    ca: f('ca.pem'),
    key: readFileSync(f('srv.key'), 'utf8'),
    cert: readFileSync(f('srv.pem'), 'utf8'),
  };
}

/**
 * The tiny box with its root filesystem (ext4, partition 2) edited offline by debugfs, no boot
 * needed: `commands` (made after a look at the partition) run in one `debugfs -w` session, then `check` (a debugfs read command) must
 * print what `expect` tests, or the edit did not happen.
 */
function editTinyRoot(
  tinyImage: string,
  out: string,
  commands: (partition: string) => string[],
  check: { command: string; expect: (output: string) => boolean },
): string {
  const raw = `${out}.raw`;
  const part = `${out}.p2`;
  const script = `${out}.debugfs`;
  try {
    execFileSync('qemu-img', ['convert', '-q', '-O', 'raw', tinyImage, raw]);
    const table = JSON.parse(execFileSync('sfdisk', ['--json', raw], { encoding: 'utf8' })) as {
      partitiontable: { sectorsize?: number; partitions: { start: number; size: number }[] };
    };
    const root = table.partitiontable.partitions[1]!;
    const dd = (args: string[]) => execFileSync('dd', ['bs=512', 'status=none', ...args]);
    dd([`if=${raw}`, `of=${part}`, `skip=${root.start}`, `count=${root.size}`]);
    writeFileSync(script, commands(part).join('\n') + '\n');
    execFileSync('debugfs', ['-w', '-f', script, part], { stdio: 'ignore' });
    const seen = execFileSync('debugfs', ['-R', check.command, part], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (!check.expect(seen)) throw new Error(`the edit of ${tinyImage} did not take: ${seen}`);
    dd([`if=${part}`, `of=${raw}`, `seek=${root.start}`, 'conv=notrunc']);
    execFileSync('qemu-img', ['convert', '-q', '-O', 'qcow2', raw, out]);
    return out;
  } finally {
    for (const f of [raw, part, script]) rmSync(f, { force: true });
  }
}

/**
 * The tiny box without `/usr/sbin/rndreseed` (and it has no perl): a guest that cannot reseed its
 * RNG, so no ready state can be saved for it.
 */
export function withoutReseed(tinyImage: string, out: string): string {
  return editTinyRoot(tinyImage, out, () => ['rm /usr/sbin/rndreseed'], {
    command: 'stat /usr/sbin/rndreseed',
    expect: (o) => !o.includes('Inode:'),
  });
}

/**
 * The tiny box with dropbear started once at boot (a daemon whose parent becomes init) instead of
 * respawned from /etc/inittab: boxfest finds no way to restart it, so a restored machine could not
 * serve a host key of its own, and a cold-booted one keeps the key it presented first. Its rcS
 * reads no first-boot identity either (as a box made for Vagrant: it would have served boxfest's
 * key from the start).
 */
export function withUnrestartableSshd(tinyImage: string, out: string): string {
  const inittab = `${out}.inittab`;
  const rcS = `${out}.rcS`;
  // The box's own inittab with its dropbear line moved: without -F dropbear forks into the
  // background, init waits for the parent, and the listener that stays is a child of init that
  // nothing would start again.
  const rewrite = (part: string) => {
    const was = execFileSync('debugfs', ['-R', 'cat /etc/inittab', part], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const line = /^::respawn:(\/usr\/sbin\/dropbear) -F (.*)$/m;
    if (!line.test(was)) throw new Error(`no respawned dropbear in the box's inittab:\n${was}`);
    writeFileSync(inittab, was.replace(line, '::sysinit:$1 $2'));
    const rc = execFileSync('debugfs', ['-R', 'cat /etc/init.d/rcS', part], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const reader = /^ID=\/sys\/firmware\/qemu_fw_cfg\/by_name\/opt\/io\.boxfest$/m;
    if (!reader.test(rc)) throw new Error(`no first-boot identity reader in the box's rcS:\n${rc}`);
    writeFileSync(rcS, rc.replace(reader, 'ID=/nonexistent'), { mode: 0o755 });
    return [
      'cd /etc',
      'rm inittab',
      `write ${inittab} inittab`,
      'cd /etc/init.d',
      'rm rcS',
      `write ${rcS} rcS`,
      'sif rcS mode 0100755',
    ];
  };
  try {
    return editTinyRoot(tinyImage, out, rewrite, {
      command: 'cat /etc/inittab',
      expect: (o) => o.includes('::sysinit:/usr/sbin/dropbear') && !o.includes(':respawn:/usr/sbin/dropbear'),
    });
  } finally {
    for (const f of [inittab, rcS]) rmSync(f, { force: true });
  }
}
