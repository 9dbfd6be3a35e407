// qemu-img operations: inspect a box image, create a machine's copy-on-write overlay.
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BoxfestError } from '../../errors.js';
import { QEMU_IMG, runTool } from './exec.js';

export interface ImageInfo {
  format: string;
  virtualSize: number;
  backingFile?: string;
}

export async function imageInfo(file: string): Promise<ImageInfo> {
  // -U: read even while a running VM holds the image's lock (boxes are shared by running machines).
  const { stdout } = await runTool(QEMU_IMG, ['info', '-U', '--output=json', file], `inspect ${file}`);
  const info = JSON.parse(stdout) as { format: string; 'virtual-size': number; 'backing-filename'?: string };
  return {
    format: info.format,
    virtualSize: info['virtual-size'],
    ...(info['backing-filename'] === undefined ? {} : { backingFile: info['backing-filename'] }),
  };
}

/** A box must be one self-contained qcow2 file: boxfest hands it to QEMU as a read-only backing file. */
export async function checkBoxImage(file: string): Promise<ImageInfo> {
  const info = await imageInfo(file);
  if (info.format !== 'qcow2')
    throw new BoxfestError('BOX_FORMAT', `${file} is a ${info.format} image; QEMU boxes must be qcow2`, {
      hint: `convert it: qemu-img convert -O qcow2 ${file} box.qcow2`,
    });
  if (info.backingFile !== undefined)
    throw new BoxfestError(
      'BOX_FORMAT',
      `${file} has a backing file (${info.backingFile}); a box must stand alone`,
      {
        hint: `flatten it: qemu-img convert -O qcow2 ${file} box.qcow2`,
      },
    );
  return info;
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
