// The inside of an unpacked Vagrant box: metadata.json names the provider it was made for.
//   libvirt:    metadata.json {provider: libvirt, format: qcow2, virtual_size}, box.img — or, in
//               newer boxes, {disks: [{path}]} — and an optional Vagrantfile
//   virtualbox: metadata.json {provider: virtualbox}, box.ovf, the VMDK(s) it references
// The Vagrantfile is read as data (vagrantfile.ts), never run.
import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BoxfestError } from '../errors.js';
import { hostileMember } from './archive.js';
import { readVagrantfile, type VagrantfileSettings } from './vagrantfile.js';

export interface VagrantBox {
  provider: 'libvirt' | 'virtualbox';
  /** Absolute path of the boot disk. */
  image: string;
  format: 'qcow2' | 'vmdk';
  settings: VagrantfileSettings;
  /** `vagrant_private_key`: the key `vagrant package` (and `boxfest package`) ship in a box. */
  privateKey?: string;
  /** VirtualBox: the OVF descriptor and the OS type it names. */
  ovf?: string;
  osType?: string;
}

function bad(source: string, why: string, hint?: string): never {
  throw new BoxfestError('BOX_LAYOUT', `${source} is not a Vagrant box boxfest can use: ${why}`, {
    hint:
      hint ??
      'a libvirt box holds metadata.json and box.img (qcow2); a VirtualBox box holds metadata.json, box.ovf and its .vmdk',
  });
}

/** A file named by the box itself: a plain relative path to a regular file inside `dir`. */
function member(dir: string, path: string, source: string): string {
  const why = hostileMember(path, 'File');
  if (why !== undefined) bad(source, `it names the file ${JSON.stringify(path)}, and ${why}`);
  const full = join(dir, path);
  if (!existsSync(full) || !lstatSync(full).isFile()) bad(source, `${path} is missing`);
  return full;
}

export function readVagrantBox(dir: string, source: string): VagrantBox {
  const metaFile = join(dir, 'metadata.json');
  if (!existsSync(metaFile)) bad(source, 'it has no metadata.json');
  let meta: Record<string, unknown>;
  try {
    meta = JSON.parse(readFileSync(metaFile, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    bad(source, `its metadata.json is not JSON (${(e as Error).message})`);
  }
  const vf = join(dir, 'Vagrantfile');
  const settings = existsSync(vf) && lstatSync(vf).isFile() ? readVagrantfile(readFileSync(vf, 'utf8')) : {};
  const keyFile = join(dir, 'vagrant_private_key');
  const key = existsSync(keyFile) && lstatSync(keyFile).isFile() ? { privateKey: keyFile } : {};
  const provider = meta['provider'];
  if (provider === 'libvirt') {
    const format = meta['format'];
    if (format !== undefined && format !== 'qcow2')
      bad(source, `its metadata.json says format ${JSON.stringify(format)}, not qcow2`);
    const disks = meta['disks'];
    if (Array.isArray(disks) && disks.length > 0) {
      if (disks.length > 1)
        bad(
          source,
          `it has ${disks.length} disks`,
          'boxfest attaches one disk per machine: use a box with one disk',
        );
      const path = (disks[0] as { path?: unknown }).path;
      if (typeof path !== 'string') bad(source, 'disks[0] has no `path`');
      return { provider, image: member(dir, path, source), format: 'qcow2', settings, ...key };
    }
    return { provider, image: member(dir, 'box.img', source), format: 'qcow2', settings, ...key };
  }
  if (provider === 'virtualbox') {
    const ovfName = readdirSync(dir).find((f) => f.endsWith('.ovf'));
    if (ovfName === undefined) {
      const vmdks = readdirSync(dir).filter((f) => f.endsWith('.vmdk'));
      if (vmdks.length !== 1) bad(source, 'it has no .ovf file');
      return { provider, image: member(dir, vmdks[0]!, source), format: 'vmdk', settings, ...key };
    }
    const ovf = member(dir, ovfName, source);
    const text = readFileSync(ovf, 'utf8');
    const files = [...text.matchAll(/<File\b[^>]*\bovf:href="([^"]+)"/g)].map((m) => m[1]!);
    const vmdks = files.filter((f) => /\.vmdk$/i.test(f));
    if (vmdks.length === 0) bad(source, `${ovfName} references no .vmdk disk`);
    if (vmdks.length > 1)
      bad(
        source,
        `its OVF has ${vmdks.length} disks`,
        'boxfest attaches one disk per machine: use a box with one disk',
      );
    const osType =
      /<(?:vbox:)?OSType\b[^>]*>\s*([A-Za-z0-9_]+)\s*</.exec(text)?.[1] ??
      /\bOSType="([A-Za-z0-9_]+)"/.exec(text)?.[1];
    return {
      provider,
      image: member(dir, vmdks[0]!, source),
      format: 'vmdk',
      settings,
      ...key,
      ovf,
      ...(osType === undefined ? {} : { osType }),
    };
  }
  return bad(
    source,
    provider === undefined
      ? 'its metadata.json names no provider'
      : `it is a box for the ${JSON.stringify(provider)} provider`,
    'boxfest runs Vagrant boxes made for libvirt (QEMU) and virtualbox',
  );
}
