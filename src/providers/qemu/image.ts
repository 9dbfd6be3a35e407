// qemu-img operations: inspect an image, refuse images that reach outside themselves, convert
// plain images to qcow2, create a machine's copy-on-write overlay, flatten one for `package`,
// look into an image for cloud-init.
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { BoxfestError } from '../../errors.js';
import { QEMU_IMG, runTool } from './exec.js';

export interface ImageInfo {
  format: string;
  virtualSize: number;
  backingFile?: string;
  /** Files other than itself that the image refers to (backing file, data file, extents...). */
  external: string[];
}

/** Formats `box add` takes as plain images (converted once to qcow2 unless already qcow2). */
export const PLAIN_IMAGE_FORMATS = ['qcow2', 'raw', 'vmdk', 'vdi', 'vhdx', 'vpc'] as const;

export async function imageInfo(file: string, format?: string): Promise<ImageInfo> {
  // -U: read even while a running VM holds the image's lock (boxes are shared by running machines).
  const args = ['info', '-U', '--output=json', ...(format === undefined ? [] : ['-f', format]), file];
  const { stdout } = await runTool(QEMU_IMG, args, `inspect ${file}`);
  const info = JSON.parse(stdout) as { format: string; 'virtual-size': number; 'backing-filename'?: string };
  return {
    format: info.format,
    virtualSize: info['virtual-size'],
    ...(info['backing-filename'] === undefined ? {} : { backingFile: info['backing-filename'] }),
    external: externalReferences(info, file),
  };
}

/**
 * Every file name in `qemu-img info --output=json` that is not the image itself: a backing file,
 * a qcow2 external data file, a VMDK extent in another file, a child node of newer QEMUs.
 */
export function externalReferences(info: unknown, self: string): string[] {
  const me = resolve(self);
  const found = new Set<string>();
  const walk = (node: unknown, key: string): void => {
    if (Array.isArray(node)) return node.forEach((n) => walk(n, key));
    if (node !== null && typeof node === 'object') {
      for (const [k, v] of Object.entries(node as Record<string, unknown>)) walk(v, k);
      return;
    }
    if (typeof node !== 'string' || !/file|backing/i.test(key) || /format$/i.test(key)) return;
    if (node.startsWith('json:') || /^[a-z+]+:\/\//i.test(node) || resolve(dirname(me), node) !== me)
      found.add(`${key}: ${node}`);
  };
  walk(info, '');
  return [...found];
}

/** A box image must stand alone: no backing file, data file or any other file outside itself. */
export async function checkStandalone(
  file: string,
  shown: string = file,
  format?: string,
): Promise<ImageInfo> {
  const info = await imageInfo(file, format);
  if (info.external.length > 0)
    throw new BoxfestError(
      'BOX_EXTERNAL_REFERENCE',
      `${shown} refers to files outside itself, so a guest could read them as its disk; refused`,
      {
        details: info.external.join('\n'),
        hint: `flatten it into one self-contained file first: qemu-img convert -O qcow2 IMAGE box.qcow2`,
      },
    );
  return info;
}

/** A QEMU box is one self-contained qcow2 file: boxfest hands it to QEMU as a read-only backing file. */
export async function checkBoxImage(file: string): Promise<ImageInfo> {
  const info = await checkStandalone(file, file, 'qcow2').catch(async (e: unknown) => {
    // Not qcow2 at all: say what it is.
    const probed = await imageInfo(file).catch(() => undefined);
    if (probed !== undefined && probed.format !== 'qcow2')
      throw new BoxfestError('BOX_FORMAT', `${file} is a ${probed.format} image; QEMU boxes must be qcow2`, {
        hint: `add it with \`boxfest box add\` (it converts it), or: qemu-img convert -O qcow2 ${file} box.qcow2`,
      });
    throw e;
  });
  return info;
}

/** Converts `src` (of `format`) into a new qcow2 file `dest`. */
export async function convertToQcow2(src: string, format: string, dest: string): Promise<void> {
  await runTool(
    QEMU_IMG,
    ['convert', '-q', '-f', format, '-O', 'qcow2', src, dest],
    `convert ${src} to qcow2`,
  );
}

/** A standalone, compressed qcow2 copy of `disk` with its backing chain folded in (for `package`). */
export async function flattenCompressed(disk: string, dest: string): Promise<void> {
  await runTool(QEMU_IMG, ['convert', '-q', '-c', '-O', 'qcow2', disk, dest], `flatten ${disk}`);
}

export async function createOverlay(base: string, overlay: string): Promise<void> {
  await runTool(
    QEMU_IMG,
    ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', base, overlay],
    `create the disk ${overlay}`,
  );
}

/**
 * Whether the image's contents hold `needle` (bytes, e.g. a directory entry's name): the image
 * is converted to a raw file in a private temp directory (compressed clusters hide every string)
 * and read through once, stopping at the first hit. Seconds for a 2 GiB cloud image; nothing
 * is mounted.
 */
export async function imageContains(file: string, needle: string): Promise<boolean> {
  const dir = mkdtempSync(join(tmpdir(), 'boxfest-scan-'));
  const raw = join(dir, 'image.raw');
  try {
    await runTool(QEMU_IMG, ['convert', '-O', 'raw', file, raw], `read ${file}`);
    const want = Buffer.from(needle, 'latin1');
    let tail = Buffer.alloc(0);
    for await (const chunk of createReadStream(raw, { highWaterMark: 8 * 2 ** 20 })) {
      const buf = Buffer.concat([tail, chunk as Buffer]);
      if (buf.includes(want)) return true;
      tail = buf.subarray(Math.max(0, buf.length - want.length + 1));
    }
    return false;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A distro cloud image has cloud-init's configuration directory, /etc/cloud/cloud.cfg.d (the
 * name sits in a directory block of ext4 or XFS as plain bytes).
 */
export const hasCloudInit = (file: string): Promise<boolean> => imageContains(file, 'cloud.cfg.d');
