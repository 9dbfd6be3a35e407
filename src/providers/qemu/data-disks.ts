// Extra data disks (`disks:`) and `disk_size` on QEMU: each data disk is its own qcow2 file in the
// machine's directory, made before the boot that first attaches it and grown (never shrunk) at a
// later boot; the system overlay is grown the same way. Kept across halt and reload; the machine's
// directory, and so every disk in it, goes with destroy.
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { DataDisk, MachineSpec } from '../../config/types.js';
import { BoxfestError } from '../../errors.js';
import type { DataDiskRecord } from '../../state/machine-state.js';
import type { QemuPaths } from './paths.js';
import { QEMU_IMG, runTool } from './exec.js';
import { imageInfo } from './image.js';

const MIB = 2 ** 20;

/** The image of data disk `name`: `disks/NAME.qcow2` (names are checked by the schema's pattern). */
export const dataDiskFile = (paths: Pick<QemuPaths, 'dataDisks'>, name: string): string =>
  join(paths.dataDisks, `${name}.qcow2`);

/** virtio-blk serial (at most 20 bytes): the disk shows as /dev/disk/by-id/virtio-boxfest-NAME. */
export const dataDiskSerial = (name: string): string => `boxfest-${name}`;

/**
 * Grows `file` to `mib` MiB; refuses to shrink it (that would cut off data the guest's
 * filesystem still counts on). `what` names the disk in messages.
 */
export async function growImage(file: string, mib: number, what: string, machine: string): Promise<void> {
  const current = (await imageInfo(file)).virtualSize;
  const wanted = mib * MIB;
  if (wanted === current) return;
  if (wanted < current)
    throw new BoxfestError(
      'DISK_SHRINK',
      `${what} is ${Math.round(current / MIB)} MiB; the Boxfile asks for ${mib} MiB, and a disk never shrinks (its filesystem would lose whatever lies beyond the new end)`,
      {
        machine,
        hint: `set it to ${Math.round(current / MIB)} MiB or more; for a smaller disk, \`boxfest destroy\` the machine and \`up\` again`,
      },
    );
  await runTool(QEMU_IMG, ['resize', '-q', file, `${mib}M`], `grow ${what} to ${mib} MiB`);
}

/** Makes every data disk of `spec` that does not exist yet, and grows those that got bigger. */
export async function ensureDataDisks(paths: QemuPaths, spec: MachineSpec): Promise<DataDiskRecord[]> {
  const out: DataDiskRecord[] = [];
  for (const d of spec.disks) {
    const file = dataDiskFile(paths, d.name);
    if (existsSync(file)) await growImage(file, d.size, `data disk \`${d.name}\``, spec.name);
    else await createDataDisk(file, d);
    out.push({ name: d.name, size: d.size, file });
  }
  return out;
}

async function createDataDisk(file: string, d: DataDisk): Promise<void> {
  mkdirSync(join(file, '..'), { recursive: true });
  const partial = `${file}.partial`;
  rmSync(partial, { force: true });
  await runTool(
    QEMU_IMG,
    ['create', '-q', '-f', 'qcow2', partial, `${d.size}M`],
    `create data disk ${d.name}`,
  );
  renameSync(partial, file); // a disk that exists is always complete
}
